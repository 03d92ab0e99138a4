#!/usr/bin/env bash
# Side-by-side benchmark in one run: the real Glance (../shared/peer, started on its own
# port with a private state dir) and Glance.Orleans (Release build, fresh data dir), each
# measured by ../shared/peer/bench/bench.py, then one markdown table and the data-plane
# targets (bench/targets.py: each ratio, met or not).
#   bench/compare-glance.sh [SECTIONS] [extra Glance.Orleans args]
#   SECTIONS: bench.py sections, default "metadata,data,mixed"
#   STORE=azure: image data on the pinned Azurite (node_modules; started here, in memory, on a
#   free port) instead of the filesystem, e.g.  STORE=azure bench/compare-glance.sh data,mixed
set -euo pipefail
cd "$(dirname "$0")/.."
sections=${1:-metadata,data,mixed}; shift || true
peer=$(cd ../shared/peer && pwd)
out=${OUT:-$(mktemp -d)}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

glance_port=$(free_port)
export GLANCE_STATE_DIR="$out/glance-state" GLANCE_PORT=$glance_port GLANCE_RESET=1
"$peer/glance/start.sh"
trap '"$peer/glance/stop.sh" >/dev/null 2>&1 || true' EXIT
python3 "$peer/bench/bench.py" --endpoint "http://127.0.0.1:$glance_port" --label glance-zed-sqlite-w1 \
  --sections "$sections" --server-pid-file "$GLANCE_STATE_DIR/glance-api.pid" --json-out "$out/glance.json" | tail -1 >/dev/null
"$peer/glance/stop.sh" >/dev/null

store_args=()
azurite=
if [[ ${STORE:-file} == azure ]]; then
  [[ -x node_modules/.bin/azurite-blob ]] || npm ci --no-audit --no-fund >/dev/null
  blob_port=$(free_port)
  node_modules/.bin/azurite-blob --silent --inMemoryPersistence --loose --skipApiVersionCheck \
    --blobHost 127.0.0.1 --blobPort "$blob_port" >"$out/azurite.log" 2>&1 &
  azurite=$!
  until curl -s -o /dev/null "http://127.0.0.1:$blob_port"; do sleep 0.2; done
  # Azurite's well-known development account.
  key=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==
  store_args=(--Glance:ImageData:Store=azure
    "--Glance:ImageData:AzureConnectionString=DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$blob_port/devstoreaccount1;")
fi

port=$(free_port)
data=$(mktemp -d)
dotnet build Api -c Release -nologo -v q >/dev/null
dotnet Api/bin/Release/net10.0/Glance.Api.dll --urls "http://127.0.0.1:$port" --Glance:DataDirectory="$data" \
  --Glance:SiloPort="$(free_port)" --Glance:GatewayPort=0 "${store_args[@]}" "$@" >"$out/orleans.log" 2>&1 &
pid=$!
# Azurite's graceful stop can take minutes with a lot of data in memory: just end it.
trap 'kill $pid 2>/dev/null || true; [[ -z $azurite ]] || kill -9 $azurite 2>/dev/null || true; rm -rf "$data"' EXIT
until curl -sf -o /dev/null "http://127.0.0.1:$port/versions"; do sleep 0.2; done
python3 "$peer/bench/bench.py" --endpoint "http://127.0.0.1:$port" --label glance-orleans \
  --sections "$sections" --server-pid $pid --json-out "$out/orleans.json" | tail -1 >/dev/null

python3 "$peer/bench/summarize.py" "$out/glance.json" "$out/orleans.json"
echo
python3 bench/targets.py "$out/glance.json" "$out/orleans.json"
echo "raw results: $out"
