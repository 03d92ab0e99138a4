#!/usr/bin/env bash
# Memory is flat in image size: uploads then downloads one large image (default 4 GiB,
# generated on the fly, never on disk on the client side) through a freshly started
# service, sampling the service's RSS, and prints the growth. Target: < 100 MB.
#   bench/memory-check.sh [SIZE_MIB] [extra service args, e.g. --Glance:ImageData:Store=azure ...]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-4096}; shift || true
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
silo=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d)
url="http://127.0.0.1:$port"

dotnet build Api -c Release -nologo -v q >/dev/null
dotnet Api/bin/Release/net10.0/Glance.Api.dll --urls "$url" --Glance:DataDirectory="$data" \
  --Glance:SiloPort="$silo" --Glance:GatewayPort=0 "$@" >"$data/service.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
until curl -sf -o /dev/null "$url/versions"; do sleep 0.2; done

rss() { awk '/VmRSS/ {print int($2/1024)}' /proc/$pid/status; }
sample() { # prints the peak RSS (MiB) while the given command runs
  local peak=0 r
  "$@" & local job=$!
  while kill -0 $job 2>/dev/null; do r=$(rss); (( r > peak )) && peak=$r; sleep 0.1; done
  wait $job
  echo $peak
}

# Warm up (JIT, first image) so the baseline is the steady state.
id=$(curl -sf -X POST "$url/v2/images" -d '{"name":"warm","disk_format":"raw","container_format":"bare"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
head -c 8388608 /dev/urandom | curl -sf -X PUT -H 'Content-Type: application/octet-stream' -T - "$url/v2/images/$id/file"
curl -sf -o /dev/null "$url/v2/images/$id/file"
sleep 1
base=$(rss)

id=$(curl -sf -X POST "$url/v2/images" -d '{"name":"big","disk_format":"raw","container_format":"bare"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
start=$(date +%s.%N)
up_peak=$(sample bash -c "head -c $((size_mib * 1048576)) /dev/zero | curl -sf -X PUT -H 'Content-Type: application/octet-stream' -T - '$url/v2/images/$id/file'")
mid=$(date +%s.%N)
down_peak=$(sample bash -c "curl -sf -o /dev/null '$url/v2/images/$id/file'")
end=$(date +%s.%N)
size=$(curl -sf "$url/v2/images/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')

python3 - "$size_mib" "$size" "$base" "$up_peak" "$down_peak" "$start" "$mid" "$end" <<'PY'
import sys
mib, size, base, up, down, t0, t1, t2 = sys.argv[1:]
mib, size, base, up, down = int(mib), int(size), int(base), int(up), int(down)
t0, t1, t2 = float(t0), float(t1), float(t2)
print(f"image: {mib} MiB (stored size {size} bytes, {'ok' if size == mib * 1048576 else 'WRONG'})")
print(f"upload:   {mib / (t1 - t0):7.1f} MiB/s   peak RSS {up} MiB")
print(f"download: {mib / (t2 - t1):7.1f} MiB/s   peak RSS {down} MiB")
growth = max(up, down) - base
print(f"RSS before {base} MiB, largest growth {growth} MiB: {'flat (< 100 MB)' if growth * 1048576 < 100e6 else 'NOT flat'}")
PY
