#!/usr/bin/env bash
# Brings up, on a Debian machine as root (or through sudo on a GitHub runner), everything the
# end-to-end tests and the demo need, and does next to nothing when it is already up:
#   - the Docker engine (Debian docker.io, dockerd started in the background; none of this where
#     an engine already answers), the buildx plugin (Debian trixie's static docker-buildx), and
#     QEMU binfmt so that arm64 RUN steps execute;
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

engine_answers() { timeout 10 docker info > /dev/null 2>&1; }

ensure_packages() {
  local wanted=(docker-registry qemu-user-static binfmt-support openssl apache2-utils
    busybox-static ca-certificates curl)
  engine_answers || wanted+=(docker.io)
  apt_install "${wanted[@]}"
  # Debian's package starts its own registry on :5000; it is not ours and not needed.
  pkill -f '^/usr/bin/docker-registry serve /etc/docker/registry/config.yml' 2> /dev/null || true
}

ensure_engine() {
  engine_answers && return 0
  log "starting dockerd"
  setsid nohup dockerd > "$STATE/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do engine_answers && return 0; sleep 1; done
  tail -20 "$STATE/dockerd.log" >&2
  echo "stack: dockerd did not start (log above)" >&2
  exit 1
}

# Bookworm has no buildx plugin; trixie's docker-buildx is a static binary that works with the
# 20.10 engine. A separate apt configuration fetches it without touching the system's sources.
ensure_buildx() {
  docker buildx version > /dev/null 2>&1 && return 0
  local apt_dir=$STATE/apt-trixie
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
  echo "deb http://deb.debian.org/debian trixie main" > "$apt_dir/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives")
  log "fetching docker-buildx from Debian trixie"
  apt-get "${opts[@]}" update -qq
  (cd "$apt_dir" && rm -f docker-buildx_*.deb && apt-get -o APT::Sandbox::User=root "${opts[@]}" download -qq docker-buildx)
  dpkg -x "$apt_dir"/docker-buildx_*.deb "$apt_dir/root"
  local plugin
  plugin=$(find "$apt_dir/root" -path "*/cli-plugins/docker-buildx" -type f | head -1)
  # /usr/local/bin/docker (a newer CLI) may shadow Debian's; both look in these directories.
  for dir in /usr/libexec/docker/cli-plugins /usr/local/lib/docker/cli-plugins; do
    mkdir -p "$dir" && install -m 755 "$plugin" "$dir/docker-buildx"
  done
  docker buildx version > /dev/null
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
  (cd "$HERE/.." && setsid nohup node --import tsx stack/registry-gate-cli.ts \
    --pid-file "$STATE/registry-gate.pid" > "$STATE/registry-gate.log" 2>&1 < /dev/null &)
  for _ in $(seq 1 50); do gate_answers "$first" && return 0; sleep 0.2; done
  tail -5 "$STATE/registry-gate.log" >&2
  echo "stack: the registry gate did not answer on $first" >&2
  exit 1
}
# --- end registry gate

write_env() {
  printf 'export NODE_EXTRA_CA_CERTS=%s\nexport LAMBDA_STACK_STATE_DIR=%s\n' \
    "$STATE/ca.crt" "$STATE" > "$STATE/stack.env"
}

ensure_packages
ensure_engine
ensure_buildx
ensure_binfmt
ensure_tls
ensure_hosts
ensure_password
ensure_registries
ensure_registry_gates
write_env
bash "$HERE/base-images.sh"
log "ready: $(docker version --format 'engine {{.Server.Version}}'), $(docker buildx version | cut -d' ' -f1-2), registries: $(registry_lines | awk '{print $1}' | paste -sd' ')"
