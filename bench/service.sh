# Sourced by the bench scripts that run this service beside the real Glance: a free loopback port,
# and the built service started in the embedded profile, its pid in $pid once /versions answers.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_service DLL URL DATA_DIR LOG [extra service args]
start_service() {
  local dll=$1 url=$2 data=$3 log=$4
  shift 4
  dotnet "$dll" --urls "$url" --Glance:DataDirectory="$data" \
    --Glance:SiloPort="$(free_port)" --Glance:GatewayPort=0 --Logging:LogLevel:Default=Warning "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    curl -sf -o /dev/null "$url/versions" && return 0
    kill -0 $pid 2>/dev/null || { echo "the service exited:" >&2; tail -20 "$log" >&2; exit 1; }
    sleep 0.2
  done
  echo "the service did not answer $url/versions within 60 s" >&2
  exit 1
}
