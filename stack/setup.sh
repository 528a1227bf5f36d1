#!/usr/bin/env bash
# Brings up, on a Debian machine as root (or through sudo on a GitHub runner), everything the
# end-to-end tests and the demo need, and does next to nothing when it is already up:
#   - the Docker engine: Debian sid's docker.io, containerd, CLI and buildx plugin, unpacked into
#     STATE/engine and started in the background with the image store LAMBDA_STACK_IMAGE_STORE
#     asks for (restarted when the other store runs), or with LAMBDA_STACK_ENGINE=system the
#     engine that already answers; and QEMU binfmt so that arm64 RUN steps execute;
#   - one Debian docker-registry per ECR host of stack/topology.json, TLS with a CA made here,
#     basic auth user AWS with the password the stand-in's GetAuthorizationToken hands out;
#   - one registry answering for public.ecr.aws (no auth), holding the stand-in base images
#     (stack/base-images.sh).
# Writes STATE_DIR/stack.env with what clients need (NODE_EXTRA_CA_CERTS).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOPOLOGY=$HERE/topology.json
topology() { node -e 'const t = require(process.argv[1]); const v = eval("t." + process.argv[2]); console.log(typeof v === "object" ? JSON.stringify(v) : v)' "$TOPOLOGY" "$1"; }

if [ "$(id -u)" -ne 0 ]; then
  exec sudo -E env "PATH=$PATH" bash "$0" "$@"
fi

STATE=${LAMBDA_STACK_STATE_DIR:-$(topology stateDir)}
mkdir -p "$STATE"
log() { printf 'stack: %s\n' "$*"; }

# "host ip" lines for every registry this stack serves, ECR ones first.
registry_lines() {
  node -e '
    const t = require(process.argv[1]);
    for (const r of t.ecrRegistries) console.log(`${r.host} ${r.ip} ecr`);
    console.log(`${t.publicRegistry.host} ${t.publicRegistry.ip} public`);
  ' "$TOPOLOGY"
}

apt_updated=0
apt_install() { # packages...: installs the ones that are missing
  local missing=()
  for p in "$@"; do dpkg -s "$p" > /dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated -eq 0 ]; then apt-get -o DPkg::Lock::Timeout=600 update -qq; apt_updated=1; fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    --no-install-recommends "${missing[@]}" > /dev/null
}

# Which engine and image store the stack runs (docs/ENGINES.md):
#   LAMBDA_STACK_ENGINE=sid       Debian sid's docker.io/containerd/docker-buildx, unpacked into
#                                 STATE/engine (the default; what users run: Docker 28+)
#   LAMBDA_STACK_ENGINE=system    whatever engine already answers (a GitHub runner's own)
#   LAMBDA_STACK_IMAGE_STORE=classic|containerd   the image store (default classic); each store
#                                 has its own data-root, so switching needs no reinstall
ENGINE=${LAMBDA_STACK_ENGINE:-sid}
STORE=${LAMBDA_STACK_IMAGE_STORE:-classic}
case $ENGINE in sid | system) ;; *) echo "stack: LAMBDA_STACK_ENGINE must be sid or system, not '$ENGINE'" >&2; exit 2 ;; esac
case $STORE in classic | containerd) ;; *) echo "stack: LAMBDA_STACK_IMAGE_STORE must be classic or containerd, not '$STORE'" >&2; exit 2 ;; esac
ENGINE_DIR=$STATE/engine
ENGINE_BIN=$ENGINE_DIR/bin
# This script, and every client that sources stack.env, uses sid's CLI with sid's engine.
if [ "$ENGINE" = sid ]; then export PATH=$ENGINE_BIN:$PATH; fi

engine_answers() { timeout 10 docker info > /dev/null 2>&1; }

# The image store of the engine that answers: the containerd store reports its snapshotter as the
# storage driver type.
answering_store() {
  if docker info --format '{{json .DriverStatus}}' 2> /dev/null | grep -q 'io.containerd.snapshotter'; then
    echo containerd
  else
    echo classic
  fi
}
answering_version() { docker version --format '{{.Server.Version}}' 2> /dev/null || echo unknown; }

# The dockerd behind /var/run/docker.pid, when it is the one this stack unpacked.
our_dockerd_pid() {
  local pid
  pid=$(cat /var/run/docker.pid 2> /dev/null) || return 1
  [ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2> /dev/null)" = "$ENGINE_BIN/dockerd" ] && echo "$pid"
}

ensure_packages() {
  # Bookworm's runc and tini (docker-init): sid's runc needs glibc 2.38, bookworm has 2.36.
  local wanted=(docker-registry qemu-user-static binfmt-support openssl apache2-utils
    busybox-static ca-certificates curl)
  if [ "$ENGINE" = sid ]; then wanted+=(runc tini iptables); fi
  apt_install "${wanted[@]}"
  # Debian's package starts its own registry on :5000; it is not ours and not needed.
  pkill -f '^/usr/bin/docker-registry serve /etc/docker/registry/config.yml' 2> /dev/null || true
}

# Debian sid's engine, CLI and buildx plugin, fetched with an apt configuration of their own (the
# system's sources and packages are left alone) and unpacked, not installed. Their binaries need
# only glibc 2.34, so they run on bookworm.
ensure_sid_binaries() {
  [ -x "$ENGINE_BIN/dockerd" ] && [ -x "$ENGINE_BIN/docker" ] && [ -x "$ENGINE_DIR/docker-buildx" ] && return 0
  local apt_dir=$ENGINE_DIR/apt
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$ENGINE_BIN"
  echo "deb http://deb.debian.org/debian sid main" > "$apt_dir/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives")
  log "fetching docker.io, containerd, docker-cli and docker-buildx from Debian sid"
  apt-get "${opts[@]}" update -qq
  rm -rf "$apt_dir/debs" "$apt_dir/root" && mkdir -p "$apt_dir/debs"
  (cd "$apt_dir/debs" && apt-get -o APT::Sandbox::User=root "${opts[@]}" download -qq \
    docker.io containerd docker-cli docker-buildx)
  for deb in "$apt_dir"/debs/*.deb; do dpkg -x "$deb" "$apt_dir/root"; done
  local root=$apt_dir/root
  install -m 755 "$root/usr/sbin/dockerd" "$root/usr/sbin/docker-proxy" "$root/usr/bin/containerd" \
    "$root/usr/bin/containerd-shim-runc-v2" "$root/usr/bin/docker" "$ENGINE_BIN/"
  ln -sf /usr/sbin/runc "$ENGINE_BIN/runc"
  ln -sf /usr/bin/tini-static "$ENGINE_BIN/docker-init"
  install -m 755 "$(find "$root" -path '*/cli-plugins/docker-buildx' -type f | head -1)" "$ENGINE_DIR/docker-buildx"
  ls "$apt_dir"/debs/*.deb | xargs -n1 basename > "$ENGINE_DIR/versions.txt"
  rm -rf "$root"
}

# The buildx plugin goes where every docker CLI looks (a CLI in /usr/local/bin included).
ensure_buildx_plugin() {
  for dir in /usr/libexec/docker/cli-plugins /usr/local/lib/docker/cli-plugins; do
    mkdir -p "$dir"
    cmp -s "$ENGINE_DIR/docker-buildx" "$dir/docker-buildx" || install -m 755 "$ENGINE_DIR/docker-buildx" "$dir/docker-buildx"
  done
}

stop_our_engine() {
  local pid
  pid=$(our_dockerd_pid) || return 0
  log "stopping the stack's dockerd ($(answering_store) store) to switch to the $STORE store"
  kill "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2> /dev/null || break
    sleep 1
  done
  if kill -0 "$pid" 2> /dev/null; then
    echo "stack: dockerd $pid did not stop within 60 s" >&2
    exit 1
  fi
  # dockerd stops the containerd it started; wait for its socket to go, so the next one can bind.
  for _ in $(seq 1 20); do
    pgrep -f "^$ENGINE_BIN/containerd " > /dev/null || break
    sleep 0.5
  done
}

start_our_engine() {
  local root=$ENGINE_DIR/$STORE snapshotter=false
  if [ "$STORE" = containerd ]; then snapshotter=true; fi
  mkdir -p "$root"
  printf '{\n  "data-root": "%s/data",\n  "features": { "containerd-snapshotter": %s }\n}\n' \
    "$root" "$snapshotter" > "$root/daemon.json"
  log "starting Debian sid's dockerd with the $STORE image store (data-root $root/data)"
  # Our directory first on PATH: dockerd starts its own containerd and finds runc and docker-init.
  PATH=$ENGINE_BIN:$PATH setsid nohup "$ENGINE_BIN/dockerd" --config-file "$root/daemon.json" \
    > "$STATE/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do engine_answers && return 0; sleep 1; done
  tail -20 "$STATE/dockerd.log" >&2
  echo "stack: dockerd did not start (log above)" >&2
  exit 1
}

ensure_engine() {
  if [ "$ENGINE" = system ]; then
    engine_answers || { echo "stack: LAMBDA_STACK_ENGINE=system, but no Docker engine answers" >&2; exit 1; }
    ensure_system_buildx
    if [ -n "${LAMBDA_STACK_IMAGE_STORE:-}" ] && [ "$(answering_store)" != "$STORE" ]; then
      echo "stack: the system's engine (Docker $(answering_version)) runs the $(answering_store) image store, not the $STORE store asked for by LAMBDA_STACK_IMAGE_STORE" >&2
      exit 1
    fi
    STORE=$(answering_store)
    return 0
  fi
  ensure_sid_binaries
  ensure_buildx_plugin
  if engine_answers; then
    if ! our_dockerd_pid > /dev/null; then
      echo "stack: a Docker engine this stack did not start answers (Docker $(answering_version), $(answering_store) image store); the stack runs Debian sid's engine with the $STORE store. Stop that engine, or set LAMBDA_STACK_ENGINE=system to test on it." >&2
      exit 1
    fi
    [ "$(answering_store)" = "$STORE" ] && return 0
    stop_our_engine
  fi
  start_our_engine
  if [ "$(answering_store)" != "$STORE" ]; then
    echo "stack: asked for the $STORE image store, but the engine that answers runs the $(answering_store) store (see $STATE/dockerd.log)" >&2
    exit 1
  fi
}

# A system engine without the buildx plugin (Debian's docker.io) gets sid's.
ensure_system_buildx() {
  docker buildx version > /dev/null 2>&1 && return 0
  ensure_sid_binaries
  ensure_buildx_plugin
}

ensure_binfmt() {
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && return 0
  [ -e /proc/sys/fs/binfmt_misc/register ] ||
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  update-binfmts --enable qemu-aarch64 > /dev/null 2>&1 || update-binfmts --enable > /dev/null
}

# One CA per state dir; one server certificate naming every registry host.
ensure_tls() {
  if [ ! -s "$STATE/ca.crt" ]; then
    log "creating the stack's CA"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=lambda-image-deploy stack CA" \
      -keyout "$STATE/ca.key" -out "$STATE/ca.crt" 2> /dev/null
    rm -f "$STATE/registry.crt"
  fi
  if [ ! -s "$STATE/registry.crt" ]; then
    local sans
    sans=$(registry_lines | awk '{printf "%sDNS:%s", (NR>1?",":""), $1}')
    openssl req -newkey rsa:2048 -nodes -subj "/CN=registry" -keyout "$STATE/registry.key" \
      -out "$STATE/registry.csr" 2> /dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$sans" > "$STATE/registry.ext"
    openssl x509 -req -in "$STATE/registry.csr" -CA "$STATE/ca.crt" -CAkey "$STATE/ca.key" \
      -CAcreateserial -days 3650 -extfile "$STATE/registry.ext" -out "$STATE/registry.crt" 2> /dev/null
  fi
  local system_ca=/usr/local/share/ca-certificates/lambda-image-deploy-stack.crt
  if ! cmp -s "$STATE/ca.crt" "$system_ca"; then
    cp "$STATE/ca.crt" "$system_ca"
    update-ca-certificates > /dev/null 2>&1
  fi
  while read -r host _ _; do
    mkdir -p "/etc/docker/certs.d/$host"
    cmp -s "$STATE/ca.crt" "/etc/docker/certs.d/$host/ca.crt" ||
      cp "$STATE/ca.crt" "/etc/docker/certs.d/$host/ca.crt"
  done < <(registry_lines)
}

# Only this machine's hosts file points these names at loopback. /etc/hosts may be a bind mount,
# so it is rewritten in place.
ensure_hosts() {
  local begin='# BEGIN lambda-image-deploy-stack' end='# END lambda-image-deploy-stack'
  local block
  block=$(printf '%s\n' "$begin"; registry_lines | awk '{print $2, $1}'; printf '%s\n' "$end")
  if grep -qF "$begin" /etc/hosts &&
    [ "$(sed -n "/^$begin\$/,/^$end\$/p" /etc/hosts)" = "$block" ]; then
    return 0
  fi
  local rest
  rest=$(sed "/^$begin\$/,/^$end\$/d" /etc/hosts)
  printf '%s\n%s\n' "$rest" "$block" > /etc/hosts
}

ensure_password() {
  if [ ! -s "$STATE/registry-password" ]; then
    (umask 077 && openssl rand -hex 24 > "$STATE/registry-password")
    rm -f "$STATE/htpasswd"
  fi
  [ -s "$STATE/htpasswd" ] || htpasswd -Bbn AWS "$(cat "$STATE/registry-password")" > "$STATE/htpasswd"
}

registry_answers() { # host expected-status
  local status
  status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "https://$1/v2/" || true)
  [ "$status" = "$2" ]
}

ensure_registries() {
  while read -r host ip kind; do
    local expected=401 port
    [ "$kind" = public ] && expected=200
    port=$(registry_port "$kind")
    registry_answers "$host:$port" "$expected" && continue
    local dir=$STATE/registries/$host
    stop_moved_registry "$dir" "$ip:$port"
    mkdir -p "$dir/data"
    {
      echo "version: 0.1"
      echo "log: { level: warn }"
      echo "storage:"
      echo "  filesystem: { rootdirectory: $dir/data }"
      echo "  delete: { enabled: true }"
      echo "http:"
      echo "  addr: $ip:$port"
      echo "  tls: { certificate: $STATE/registry.crt, key: $STATE/registry.key }"
      if [ "$kind" = ecr ]; then
        echo "auth:"
        echo "  htpasswd: { realm: ecr-stand-in, path: $STATE/htpasswd }"
      fi
    } > "$dir/config.yml"
    log "starting registry $host on $ip:$port"
    setsid nohup /usr/bin/docker-registry serve "$dir/config.yml" > "$dir/registry.log" 2>&1 < /dev/null &
    echo $! > "$dir/pid"
    local ok=0
    for _ in $(seq 1 50); do
      if registry_answers "$host:$port" "$expected"; then ok=1; break; fi
      sleep 0.2
    done
    if [ $ok -ne 1 ]; then
      tail -5 "$dir/registry.log" >&2
      echo "stack: registry $host did not answer" >&2
      exit 1
    fi
  done < <(registry_lines)
}

# --- registry gate (stack/registry-gate.ts): ECR registries listen on registryGate.backendPort,
# and one gate process answers on each ECR registry's ip:443, authorizing every docker request
# as the IAM principal whose token it carries (asking the stand-in that issued the token).
registry_port() { # kind
  if [ "$1" = ecr ]; then topology registryGate.backendPort; else echo 443; fi
}

# A registry started before the gate existed listens on :443; stop it so it can move.
stop_moved_registry() { # dir addr
  [ -f "$1/config.yml" ] && ! grep -q "addr: $2\$" "$1/config.yml" && [ -f "$1/pid" ] || return 0
  kill "$(cat "$1/pid")" 2> /dev/null || true
  sleep 1
}

gate_answers() { # host
  curl -s -o /dev/null -D - --max-time 3 "https://$1/v2/" 2> /dev/null |
    grep -qi '^x-stand-in-registry-gate:'
}

ensure_registry_gates() {
  local first
  first=$(registry_lines | awk '$3 == "ecr" {print $1; exit}')
  gate_answers "$first" && return 0
  log "starting the registry gate on every ECR registry's :443"
  # `cd ... || exit` then the command alone in the background: a backgrounded `cd && cmd` list
  # would leave a subshell behind holding this script's stdout (a caller's pipe never closes).
  (
    cd "$HERE/.." || exit 1
    setsid nohup node --import tsx stack/registry-gate-cli.ts \
      --pid-file "$STATE/registry-gate.pid" > "$STATE/registry-gate.log" 2>&1 < /dev/null &
  )
  for _ in $(seq 1 50); do gate_answers "$first" && return 0; sleep 0.2; done
  tail -5 "$STATE/registry-gate.log" >&2
  echo "stack: the registry gate did not answer on $first" >&2
  exit 1
}
# --- end registry gate

write_env() {
  {
    printf 'export NODE_EXTRA_CA_CERTS=%s\nexport LAMBDA_STACK_STATE_DIR=%s\n' "$STATE/ca.crt" "$STATE"
    printf 'export LAMBDA_STACK_IMAGE_STORE=%s\n' "$STORE"
    if [ "$ENGINE" = sid ]; then printf 'export PATH=%s:"$PATH"\n' "$ENGINE_BIN"; fi
  } > "$STATE/stack.env"
}

ensure_packages
ensure_engine
ensure_binfmt
ensure_tls
ensure_hosts
ensure_password
ensure_registries
ensure_registry_gates
write_env
bash "$HERE/base-images.sh"
log "ready: $(docker version --format 'engine {{.Server.Version}}') ($ENGINE, $(answering_store) image store), $(docker buildx version | cut -d' ' -f1-2), registries: $(registry_lines | awk '{print $1}' | paste -sd' ')"
