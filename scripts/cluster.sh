#!/usr/bin/env bash
# A local Glance.Orleans cluster in the azure profile: Azurite (the repository's pinned one), N
# headless silos (Silo/) and M stateless API nodes (Api/ as Orleans clients), one process each.
#
#   scripts/cluster.sh up [--silos N] [--api M] [--netns] [--plain]   build if needed, start everything, wait
#                                  until every API node answers /versions; prints one line per node,
#                                  `api K URL` and `silo K ADDRESS` (default 3 silos, 2 API nodes)
#   scripts/cluster.sh status      the members as the cluster sees them (its membership table)
#   scripts/cluster.sh nodes [--metrics]   the `api K URL` / `silo K ADDRESS` lines of the running
#                                  cluster (--metrics: and a `silo-metrics K URL` line per silo)
#   scripts/cluster.sh env         CLUSTER_CONNECTION_STRING=... and CLUSTER_ID=... (for direct clients)
#   scripts/cluster.sh kill silo|api K    SIGKILL          stop silo|api K    graceful (SIGTERM)
#   scripts/cluster.sh start silo|api K   (re)start one    add silo           a new silo joins
#   scripts/cluster.sh stop azurite | start azurite         the storage outage of the fault tests
#   scripts/cluster.sh pause azurite | resume azurite       a storage service that stalls (SIGSTOP/SIGCONT)
#   scripts/cluster.sh down        stops everything it started (by pid) and removes the namespaces
#
# --netns puts every node in a network namespace of its own (gl-silo-K, gl-api-K) with an address
# of its own on a bridge the script makes (10.77.0.0/24; Azurite on the bridge's 10.77.0.1), so
# nothing can assume one host. Needs root. Without it everything binds 127.0.0.1.
# Every silo and API node runs with mutual TLS (Glance:Azure:Tls): `up` makes a CA and a node
# certificate (openssl, under $CLUSTER_DIR/tls), and a client without a certificate of that CA is
# refused. --plain runs without (Glance:Azure:Tls:Required=false); --tls, the default, is accepted.
# Every node gets the service key made at `up` ($CLUSTER_DIR/service.key, Glance:Azure:ServiceKeyFile):
# a direct client, which has no key, is refused the service's internal grain interfaces.
#
# Environment: CLUSTER_DIR (default ./.cluster: state, logs, Azurite's files), CLUSTER_PORT_BASE
# (default 12100: silo K on BASE+K, its gateway on BASE+100+K, API node K's HTTP on BASE+200+K,
# silo K's Prometheus /metrics on BASE+250+K, Azurite on BASE+300..302), CLUSTER_ID (default glance-local), CLUSTER_BUILD=1 forces a build,
# CLUSTER_BUILD=never uses what is built, CLUSTER_CONFIGURATION (default Release).
# Extra settings for every node: CLUSTER_SETTINGS (e.g. "--Glance:ImageData:UploadLeaseSeconds=10").
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER_DIR="${CLUSTER_DIR:-$REPO/.cluster}"
mkdir -p "$CLUSTER_DIR"
CLUSTER_DIR="$(cd "$CLUSTER_DIR" && pwd)"
BASE="${CLUSTER_PORT_BASE:-12100}"
CLUSTER_ID="${CLUSTER_ID:-glance-local}"
BRIDGE=glbr0
SUBNET=10.77.0
ACCOUNT=devstoreaccount1
# Azurite's well-known development key (public, not a secret).
KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
CONFIGURATION="${CLUSTER_CONFIGURATION:-Release}"
SILO_DLL="$REPO/Silo/bin/$CONFIGURATION/net10.0/Glance.Silo.dll"
API_DLL="$REPO/Api/bin/$CONFIGURATION/net10.0/Glance.Api.dll"

log() { echo "# $*" >&2; }
die() { log "$*"; exit 1; }
netns_on() { [ -f "$CLUSTER_DIR/netns" ]; }
storage_host() { if netns_on; then echo "$SUBNET.1"; else echo 127.0.0.1; fi; }
address_of() { # kind k
  if netns_on; then
    case "$1" in silo) echo "$SUBNET.$((10 + $2))";; api) echo "$SUBNET.$((110 + $2))";; esac
  else echo 127.0.0.1; fi
}
connection_string() {
  local h; h="$(storage_host)"
  echo "DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$KEY;BlobEndpoint=http://$h:$((BASE + 300))/$ACCOUNT;QueueEndpoint=http://$h:$((BASE + 301))/$ACCOUNT;TableEndpoint=http://$h:$((BASE + 302))/$ACCOUNT;"
}
pidfile() { echo "$CLUSTER_DIR/$1-$2.pid"; }
alive() { local f; f="$(pidfile "$1" "$2")"; [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }

build() {
  if [ "${CLUSTER_BUILD:-}" = never ]; then
    [ -f "$SILO_DLL" ] && [ -f "$API_DLL" ] || die "CLUSTER_BUILD=never but $SILO_DLL or $API_DLL is missing (build the solution first)"
    return 0
  fi
  local head; head="$(git -C "$REPO" rev-parse HEAD 2>/dev/null || echo none)"
  if [ "${CLUSTER_BUILD:-0}" = 1 ] || [ ! -f "$SILO_DLL" ] || [ ! -f "$API_DLL" ] \
     || [ "$(cat "$CLUSTER_DIR/built" 2>/dev/null)" != "$head" ]; then
    log "building Silo and Api ($CONFIGURATION)"
    (cd "$REPO" && dotnet build Silo -c "$CONFIGURATION" -nologo -v q && dotnet build Api -c "$CONFIGURATION" -nologo -v q) >"$CLUSTER_DIR/build.log" 2>&1 \
      || { tail -30 "$CLUSTER_DIR/build.log" >&2; die "build failed"; }
    echo "$head" > "$CLUSTER_DIR/built"
  fi
}

make_netns() { # name address
  local ns="$1" addr="$2" host="veth-${1#gl-}"
  ip netns add "$ns"
  echo "$ns" >> "$CLUSTER_DIR/netns"   # down removes only the namespaces listed here
  ip link add "$host" type veth peer name eth0 netns "$ns"
  ip link set "$host" master "$BRIDGE" up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" route add default via "$SUBNET.1"
}

run_in() { # kind k command...: the node's namespace, or here
  local kind="$1" k="$2"; shift 2
  if netns_on; then
    ip netns list | grep -qw "gl-$kind-$k" || make_netns "gl-$kind-$k" "$(address_of "$kind" "$k")"
    exec ip netns exec "gl-$kind-$k" "$@"
  else
    exec "$@"
  fi
}

start_azurite() {
  alive azurite 0 && return 0
  [ -x "$REPO/node_modules/.bin/azurite" ] || die "Azurite is missing: run \`npm ci\` in $REPO"
  mkdir -p "$CLUSTER_DIR/azurite"
  local h; h="$(storage_host)"
  setsid "$REPO/node_modules/.bin/azurite" --silent --loose --disableTelemetry --skipApiVersionCheck \
    --location "$CLUSTER_DIR/azurite" \
    --blobHost "$h" --blobPort $((BASE + 300)) --queueHost "$h" --queuePort $((BASE + 301)) \
    --tableHost "$h" --tablePort $((BASE + 302)) >"$CLUSTER_DIR/azurite.log" 2>&1 < /dev/null &
  echo $! > "$(pidfile azurite 0)"
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/$h/$((BASE + 302))") 2>/dev/null && (exec 3<>"/dev/tcp/$h/$((BASE + 300))") 2>/dev/null && return 0
    sleep 0.2
  done
  die "Azurite did not start (see $CLUSTER_DIR/azurite.log)"
}

tls_on() { [ -f "$CLUSTER_DIR/tls/node.pem" ]; }

make_tls() { # the cluster's own CA and one node certificate it signs (every node presents it)
  local d="$CLUSTER_DIR/tls"
  tls_on && return 0
  mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=glance-cluster-ca" \
    -keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=glance-node" -keyout "$d/node.key" -out "$d/node.csr" >/dev/null 2>&1
  printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,IP:%s.1\n' "$SUBNET" > "$d/node.ext"
  openssl x509 -req -in "$d/node.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
    -extfile "$d/node.ext" -out "$d/node.pem" >/dev/null 2>&1
}

tls_settings() {
  if tls_on; then
    echo --Glance:Azure:Tls:CertificateFile="$CLUSTER_DIR/tls/node.pem" --Glance:Azure:Tls:KeyFile="$CLUSTER_DIR/tls/node.key" \
      --Glance:Azure:Tls:CaFile="$CLUSTER_DIR/tls/ca.pem"
  elif [ -f "$CLUSTER_DIR/plain" ]; then
    echo --Glance:Azure:Tls:Required=false  # up --plain: a silo beyond loopback (--netns) starts without TLS
  fi
}

make_service_key() { # the service's own key: its silos and API nodes get it, direct clients never
  [ -f "$CLUSTER_DIR/service.key" ] && return 0
  mkdir -p "$CLUSTER_DIR"
  (umask 077; openssl rand -base64 32 > "$CLUSTER_DIR/service.key")
}

common_settings() {
  echo --Glance:Profile=azure "--Glance:Azure:ConnectionString=$(connection_string)" --Glance:ClusterId="$CLUSTER_ID" \
    --Glance:Azure:ServiceKeyFile="$CLUSTER_DIR/service.key" $(tls_settings) ${CLUSTER_SETTINGS:-}
}

start_node() { # kind k
  local kind="$1" k="$2" addr; addr="$(address_of "$1" "$2")"
  alive "$kind" "$k" && return 0
  mkdir -p "$CLUSTER_DIR/logs"
  local -a cmd
  if [ "$kind" = silo ]; then
    # shellcheck disable=SC2046
    cmd=(dotnet "$SILO_DLL" $(common_settings) --Glance:AdvertisedAddress="$addr"
         --Glance:SiloPort=$((BASE + k)) --Glance:GatewayPort=$((BASE + 100 + k))
         --Glance:Metrics:Address="$addr" --Glance:Metrics:Port=$((BASE + 250 + k)))
  else
    # shellcheck disable=SC2046
    cmd=(dotnet "$API_DLL" $(common_settings) --urls "http://$addr:$((BASE + 200 + k))"
         --Glance:DataDirectory="$CLUSTER_DIR/api-$k")
  fi
  ( run_in "$kind" "$k" setsid "${cmd[@]}" >>"$CLUSTER_DIR/logs/$kind-$k.log" 2>&1 < /dev/null ) &
  echo $! > "$(pidfile "$kind" "$k")"
  echo "$k" >> "$CLUSTER_DIR/$kind.list"
  sort -un "$CLUSTER_DIR/$kind.list" -o "$CLUSTER_DIR/$kind.list"
}

api_url() { echo "http://$(address_of api "$1"):$((BASE + 200 + $1))"; }
silo_lines() { # k [--metrics]: the silo's line (and its metrics line)
  echo "silo $1 $(address_of silo "$1"):$((BASE + $1))"
  if [ "${2:-}" = --metrics ]; then echo "silo-metrics $1 http://$(address_of silo "$1"):$((BASE + 250 + $1))/metrics"; fi
}

wait_api() { # k
  for _ in $(seq 300); do
    curl -sf -m 2 -o /dev/null "$(api_url "$1")/versions" && return 0
    alive api "$1" || die "api $1 exited (see $CLUSTER_DIR/logs/api-$1.log)"
    sleep 0.2
  done
  die "api $1 does not answer $(api_url "$1")/versions (see $CLUSTER_DIR/logs/api-$1.log)"
}

wait_silo() { # k: its newest entry in the membership table is Active (it joined, not just listens), and its /metrics answers
  local endpoint joined=0; endpoint="$(address_of silo "$1"):$((BASE + $1))"
  for _ in $(seq 60); do
    alive silo "$1" || die "silo $1 exited (see $CLUSTER_DIR/logs/silo-$1.log)"
    if status_lines 2>/dev/null | grep "^$endpoint " | tail -1 | grep -q " Active "; then joined=1; break; fi
    sleep 1
  done
  [ "$joined" = 1 ] || die "silo $1 did not join the cluster (see $CLUSTER_DIR/logs/silo-$1.log)"
  # The metrics listener starts once the silo has (after its start-up tasks).
  for _ in $(seq 100); do
    curl -sf -m 2 -o /dev/null "http://$(address_of silo "$1"):$((BASE + 250 + $1))/metrics" && return 0
    alive silo "$1" || die "silo $1 exited (see $CLUSTER_DIR/logs/silo-$1.log)"
    sleep 0.2
  done
  die "silo $1 does not answer its /metrics on port $((BASE + 250 + $1)) (see $CLUSTER_DIR/logs/silo-$1.log)"
}

status_lines() {
  # shellcheck disable=SC2046
  timeout 60 dotnet "$SILO_DLL" status $(common_settings) --Logging:LogLevel:Default=Warning
}

nodes() { # [--metrics]
  for k in $(cat "$CLUSTER_DIR/api.list" 2>/dev/null); do alive api "$k" && echo "api $k $(api_url "$k")"; done
  for k in $(cat "$CLUSTER_DIR/silo.list" 2>/dev/null); do
    alive silo "$k" && silo_lines "$k" "${1:-}"
  done
  return 0
}

stop_pid() { # kind k signal
  local f; f="$(pidfile "$1" "$2")"
  [ -s "$f" ] || return 0
  local pid; pid="$(cat "$f")"
  # A node that died on its own leaves its pidfile, and its pid may belong to another process by
  # now: signal it only if it still runs something of this repository (a dll or Azurite here).
  if ! tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$REPO/"; then rm -f "$f"; return 0; fi
  # The pid is setsid's (or ip netns exec's, which execs it): signal the process group.
  kill "-$3" -- "-$pid" 2>/dev/null || kill "-$3" "$pid" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$f"
}

down() {
  for f in "$CLUSTER_DIR"/api-*.pid "$CLUSTER_DIR"/silo-*.pid "$CLUSTER_DIR"/azurite-*.pid; do
    [ -e "$f" ] || continue
    local name; name="$(basename "$f" .pid)"
    stop_pid "${name%-*}" "${name##*-}" "$([ "${name%-*}" = azurite ] && echo INT || echo TERM)"
  done
  if netns_on; then
    for ns in $(grep '^gl-' "$CLUSTER_DIR/netns" || true); do ip netns del "$ns" 2>/dev/null || true; done
    ip link del "$BRIDGE" 2>/dev/null || true
    rm -f "$CLUSTER_DIR/netns"
  fi
  rm -f "$CLUSTER_DIR"/*.list
  rm -rf "$CLUSTER_DIR/tls" "$CLUSTER_DIR/service.key" "$CLUSTER_DIR/plain"
}

up() {
  local silos=3 apis=2 netns=0 tls=1
  while [ $# -gt 0 ]; do
    case "$1" in
      --silos) silos="$2"; shift 2;;
      --api) apis="$2"; shift 2;;
      --netns) netns=1; shift;;
      --tls) tls=1; shift;;
      --plain) tls=0; shift;;
      *) die "unknown option $1";;
    esac
  done
  if [ "$tls" = 1 ]; then make_tls; elif ! tls_on; then touch "$CLUSTER_DIR/plain"; fi
  build
  if [ "$netns" = 1 ]; then
    [ "$(id -u)" = 0 ] || die "--netns needs root"
    ip link show "$BRIDGE" >/dev/null 2>&1 || {
      ip link add "$BRIDGE" type bridge
      ip addr add "$SUBNET.1/24" dev "$BRIDGE"
      ip link set "$BRIDGE" up
    }
    touch "$CLUSTER_DIR/netns"
  fi
  make_service_key
  start_azurite
  for k in $(seq "$silos"); do start_node silo "$k"; done
  for k in $(seq "$silos"); do wait_silo "$k"; done
  for k in $(seq "$apis"); do start_node api "$k"; done
  for k in $(seq "$apis"); do wait_api "$k"; done
  nodes
}

cmd="${1:-}"; shift || true
case "$cmd" in
  up) up "$@";;
  down) down;;
  nodes) nodes "${1:-}";;
  env) echo "CLUSTER_CONNECTION_STRING='$(connection_string)'"; echo "CLUSTER_ID=$CLUSTER_ID"
       tls_on && echo "CLUSTER_TLS_DIR=$CLUSTER_DIR/tls"; true;;
  status) status_lines;;
  kill|stop)
    [ $# -ge 1 ] || die "usage: $0 $cmd silo|api K | $cmd azurite"
    # Azurite closes its listeners and saves its files on SIGINT (SIGTERM can leave node hanging).
    if [ "$1" = azurite ]; then stop_pid azurite 0 "$([ "$cmd" = kill ] && echo KILL || echo INT)"
    else stop_pid "$1" "${2:?K}" "$([ "$cmd" = kill ] && echo KILL || echo TERM)"; fi;;
  pause|resume)
    # A stalled service: connections open, nothing answers (unlike stop, which refuses them).
    [ "${1:-}" = azurite ] || die "usage: $0 $cmd azurite"
    f="$(pidfile azurite 0)"; [ -s "$f" ] || die "Azurite is not running"
    kill "-$([ "$cmd" = pause ] && echo STOP || echo CONT)" -- "-$(cat "$f")" 2>/dev/null || kill "-$([ "$cmd" = pause ] && echo STOP || echo CONT)" "$(cat "$f")";;
  start)
    [ $# -ge 1 ] || die "usage: $0 start silo|api K | start azurite"
    case "$1" in
      azurite) start_azurite;;
      silo) start_node silo "${2:?K}"; wait_silo "$2"; silo_lines "$2";;
      api) start_node api "${2:?K}"; wait_api "$2"; echo "api $2 $(api_url "$2")";;
      *) die "start silo|api K";;
    esac;;
  add)
    [ "${1:-}" = silo ] || die "usage: $0 add silo"
    k=$(( $(sort -n "$CLUSTER_DIR/silo.list" 2>/dev/null | tail -1 || echo 0) + 1 ))
    start_node silo "$k"; wait_silo "$k"; silo_lines "$k";;
  *) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 2;;
esac
