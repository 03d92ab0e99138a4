#!/usr/bin/env bash
# Single-stream download throughput with the image-cache extension off and on (file store,
# embedded profile), and the wall time of 16 concurrent first downloads of another image (that
# they read the store once is asserted by tests/Api.Tests/ImageCacheTests).
#
#   bench/image-cache.sh [SIZE_MIB=256] [RUNS=3]
#   BENCH_STORE=azure: the Azure Blob store on an in-memory Azurite (AZURITE, default the
#   repository's node_modules/.bin/azurite-blob, from `npm ci`) instead of the file store.
#
# Starts the service from this repository twice on 127.0.0.1:${BENCH_PORT:-9871} with temporary
# data directories; prints MiB/s of the first (cold) download and the CPU seconds the service
# spent on it, and the best of RUNS warm downloads.
set -euo pipefail
SIZE_MIB="${1:-256}"
RUNS="${2:-3}"
PORT="${BENCH_PORT:-9871}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TMP="$(mktemp -d)"
PID=""
cleanup() {
    [[ -n "$PID" ]] && kill -TERM -- "-$PID" 2>/dev/null || true
    [[ -n "${AZ_PID:-}" ]] && kill -INT -- "-$AZ_PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
URL="http://127.0.0.1:$PORT"
STORE_ARGS=()
AZ_PID=""
if [[ "${BENCH_STORE:-file}" == "azure" ]]; then
    blob_port=$((PORT + 200))
    (exec setsid "${AZURITE:-$REPO/node_modules/.bin/azurite-blob}" --inMemoryPersistence --blobHost 127.0.0.1 --blobPort "$blob_port" --silent --skipApiVersionCheck) >"$TMP/azurite.log" 2>&1 &
    AZ_PID=$!
    for _ in $(seq 60); do curl -s -o /dev/null "http://127.0.0.1:$blob_port" && break; sleep 0.5; done
    key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    STORE_ARGS=(--Glance:ImageData:Store=azure
        "--Glance:ImageData:AzureConnectionString=DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$blob_port/devstoreaccount1;")
fi
head -c $((SIZE_MIB << 20)) /dev/urandom >"$TMP/image.bin"
dotnet build "$REPO/Api" -c Release -nologo -v q >/dev/null

# CPU seconds the service's processes (its process group) have used: on a shared machine the
# wall-clock speed of CPU-bound work (the fill's md5) follows the load, its CPU cost does not.
cpu() { awk '{ t += $14 + $15 } END { printf "%.2f", t / 100 }' $(ps -o pid= -g "$PID" | sed 's|.*|/proc/&/stat|') 2>/dev/null; }
speed() { curl -s -o /dev/null -w '%{speed_download}' "$URL/v2/images/$1/file" | awk '{ printf "%.0f", $1 / 1048576 }'; }

for mode in false true; do
    mkdir -p "$TMP/data-$mode"
    (cd "$REPO" && exec setsid dotnet run --no-build --project Api -c Release -- --urls "$URL" \
        --Glance:DataDirectory="$TMP/data-$mode" --Glance:SiloPort=$((PORT + 100)) --Glance:GatewayPort=0 \
        --Glance:Extensions:image-cache:Enabled=$mode --Logging:LogLevel:Default=Warning "${STORE_ARGS[@]}") >"$TMP/server-$mode.log" 2>&1 &
    PID=$!
    for _ in $(seq 240); do curl -sf -o /dev/null "$URL/versions" && break; sleep 0.5; done
    id="$(curl -s -X POST -H 'Content-Type: application/json' -d '{"disk_format":"raw","container_format":"bare"}' "$URL/v2/images" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
    curl -s -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$TMP/image.bin" "$URL/v2/images/$id/file"
    cpu0="$(cpu)"
    cold="$(speed "$id")"
    cold_cpu="$(awk -v a="$cpu0" -v b="$(cpu)" 'BEGIN { printf "%.2f", b - a }')"
    best=0
    for _ in $(seq "$RUNS"); do s="$(speed "$id")"; (( s > best )) && best=$s; done
    # 16 concurrent first downloads of a second image.
    id2="$(curl -s -X POST -H 'Content-Type: application/json' -d '{"disk_format":"raw","container_format":"bare"}' "$URL/v2/images" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
    curl -s -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$TMP/image.bin" "$URL/v2/images/$id2/file"
    start=$(date +%s.%N)
    pids=()
    for _ in $(seq 16); do curl -s -o /dev/null "$URL/v2/images/$id2/file" & pids+=($!); done
    wait "${pids[@]}"
    end=$(date +%s.%N)
    cached="$(curl -s "$URL/v2/cache" 2>/dev/null | python3 -c 'import json,sys
try: print(len(json.load(sys.stdin)["cached_images"]))
except Exception: print("n/a")')"
    echo "store=${BENCH_STORE:-file} cache=$mode size=${SIZE_MIB}MiB cold=${cold}MiB/s (${cold_cpu} CPU s) warm(best of $RUNS)=${best}MiB/s 16-concurrent-first=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')s cached_images=$cached"
    kill -TERM -- "-$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
done
