#!/usr/bin/env bash
# What the cluster and TLS cost, in one run on this machine, measured by the same
# ../shared/peer/bench/bench.py the Glance comparison uses:
#   1. embedded    one process (co-hosted silo, SQLite, file store), plain HTTP
#   2. https       the same process, the same bench over HTTPS (HTTP/1.1; Kestrel, a self-signed
#                  certificate made here with openssl)
#   3. cluster     scripts/cluster.sh up --silos 2 --api 2 (azure profile on the pinned Azurite:
#                  grain state in Blob, catalog in Table, bytes in Blob), the bench against API node
#                  1; every request crosses the API node -> silo hop and Azure storage
# then one table (summarize.py), the HTTPS targets of issue 10 item 8 and the CPU each core did
# during the HTTPS phases (from /proc/stat, sampled every second by this script).
#   bench/cluster-bench.sh [SECTIONS]          default metadata,data,mixed
#   OUT=dir keeps the raw JSON and logs there; BENCH_ARGS=--quick passes bench.py options.
set -euo pipefail
cd "$(dirname "$0")/.."
sections=${1:-metadata,data,mixed}
peer=$(cd ../shared/peer && pwd)
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[[ -x node_modules/.bin/azurite ]] || npm ci --no-audit --no-fund >/dev/null

dotnet build Silo -c Release -nologo -v q >/dev/null
dotnet build Api -c Release -nologo -v q >/dev/null

# Per-core busy time, once a second, for the whole run: "epoch cpuN busy total" lines.
python3 - "$out/cores.log" <<'EOF' &
import sys, time
with open(sys.argv[1], "w", buffering=1) as log:
    while True:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu") and line[3].isdigit():
                    name, *v = line.split()
                    v = list(map(int, v))
                    idle = v[3] + v[4]
                    log.write("%.1f %s %d %d\n" % (time.time(), name, sum(v) - idle, sum(v)))
        time.sleep(1)
EOF
sampler=$!

cluster_dir="$out/cluster"
cleanup() {
  kill $sampler 2>/dev/null || true
  [[ -z ${pid:-} ]] || kill "$pid" 2>/dev/null || true
  CLUSTER_DIR="$cluster_dir" scripts/cluster.sh down >/dev/null 2>&1 || true
  rm -rf "${data:-/nonexistent}"
}
trap cleanup EXIT

bench() { # label endpoint json pid-files...
  local label=$1 endpoint=$2 json=$3; shift 3
  local -a pids=()
  for f in "$@"; do pids+=(--server-pid-file "$f"); done
  date -u +%s > "$out/$label.t0"
  python3 "$peer/bench/bench.py" --endpoint "$endpoint" --label "$label" --sections "$sections" \
    "${pids[@]}" ${BENCH_ARGS:-} --json-out "$json" 2>"$out/$label.progress" | tail -1 >/dev/null
  date -u +%s > "$out/$label.t1"
}

# 1 + 2: one process listening on both schemes.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$out/key.pem" -out "$out/cert.pem" >/dev/null 2>&1
http_port=$(free_port); https_port=$(free_port)
data=$(mktemp -d)
dotnet Api/bin/Release/net10.0/Glance.Api.dll --urls "http://127.0.0.1:$http_port;https://127.0.0.1:$https_port" \
  --Kestrel:Certificates:Default:Path="$out/cert.pem" --Kestrel:Certificates:Default:KeyPath="$out/key.pem" \
  --Glance:DataDirectory="$data" --Glance:SiloPort="$(free_port)" --Glance:GatewayPort=0 >"$out/embedded.log" 2>&1 &
pid=$!
echo $pid > "$out/embedded.pid"
until curl -sf -o /dev/null "http://127.0.0.1:$http_port/versions"; do sleep 0.2; done
curl -sf -k -o /dev/null "https://127.0.0.1:$https_port/versions"
bench embedded "http://127.0.0.1:$http_port" "$out/embedded.json" "$out/embedded.pid"
bench https "https://127.0.0.1:$https_port" "$out/https.json" "$out/embedded.pid"
# The same 512 MiB download by curl (OpenSSL, a client faster than Python's) over each scheme,
# one stream and two at once (two TLS streams should use both cores): best of three, MiB/s.
head -c 512M /dev/urandom > "$data/big.raw"
big=$(curl -sf -X POST "http://127.0.0.1:$http_port/v2/images" -H 'Content-Type: application/json' \
  -d '{"name": "cluster-bench-big", "disk_format": "raw", "container_format": "bare"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
curl -sf -X PUT "http://127.0.0.1:$http_port/v2/images/$big/file" -H 'Content-Type: application/octet-stream' \
  --data-binary @"$data/big.raw" -o /dev/null
rm -f "$data/big.raw"
curl_speed() { # url streams curl-args... -> total MiB/s and the server's CPU seconds per 512 MiB
  local url=$1 streams=$2 start end cpu0 cpu1; shift 2
  cpu0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  start=$(date +%s.%N)
  for _ in $(seq "$streams"); do curl -sf -k "$@" -o /dev/null "$url" & done
  wait
  end=$(date +%s.%N)
  cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  python3 -c "print('%.0f %.2f' % ($streams * 512 / ($end - $start), ($cpu1 - $cpu0) / $(getconf CLK_TCK) / $streams))"
}
# curl offers h2 by ALPN, so HTTPS is timed with each protocol named: Kestrel's HTTP/2 sends
# 16 KiB DATA frames through one frame writer per connection, HTTP/1.1 writes the body straight
# into TLS records.
for run in "http --http1.1" "https-http1.1 --http1.1" "https-h2 --http2"; do
  read -r label proto <<< "$run"
  scheme=${label%%-*}; port=$http_port; [[ $scheme == https ]] && port=$https_port
  # curl falls back to HTTP/1.1 without a word when ALPN does not pick h2: check what answers.
  want=$([[ $proto == --http2 ]] && echo 2 || echo 1.1)
  got=$(curl -sk "$proto" -o /dev/null -w '%{http_version}' "$scheme://127.0.0.1:$port/versions")
  [[ $got == "$want" ]] || { echo "cluster-bench: $label answered HTTP/$got, not HTTP/$want" >&2; exit 1; }
  date -u +%s > "$out/curl-$label.t0"
  for streams in 1 2; do
    best=0; best_cpu=0
    for _ in 1 2 3; do
      read -r v cpu <<< "$(curl_speed "$scheme://127.0.0.1:$port/v2/images/$big/file" $streams "$proto")"
      (( v > best )) && { best=$v; best_cpu=$cpu; }
    done
    echo "$label $streams $best $best_cpu" >> "$out/curl.txt"
  done
  date -u +%s > "$out/curl-$label.t1"
done
kill $pid; wait $pid 2>/dev/null || true; pid=

# 3: a cluster of two silos and two API nodes on its own ports and state directory.
export CLUSTER_DIR="$cluster_dir" CLUSTER_PORT_BASE=${CLUSTER_PORT_BASE:-13100} CLUSTER_BUILD=never
scripts/cluster.sh up --silos 2 --api 2 > "$out/cluster.nodes"
api1=$(awk '$1 == "api" && $2 == 1 {print $3}' "$out/cluster.nodes")
bench cluster "$api1" "$out/cluster.json" "$cluster_dir"/silo-*.pid "$cluster_dir"/api-*.pid "$cluster_dir"/azurite-*.pid
scripts/cluster.sh down >/dev/null 2>&1 || true

python3 "$peer/bench/summarize.py" "$out/embedded.json" "$out/https.json" "$out/cluster.json"
echo
python3 - "$out" <<'EOF'
import json, sys
out = sys.argv[1]
def load(name):
    with open("%s/%s.json" % (out, name)) as f:
        return json.loads([l for l in f.read().splitlines() if l.strip().startswith("{")][-1])
def get(d, path):
    for p in path.split("."):
        d = d.get(p) if isinstance(d, dict) else None
    return d
http, https, cluster = load("embedded"), load("https"), load("cluster")
def target(text, value, goal, unit=""):
    if value is None:
        print("- %s: not measured" % text); return
    print("- %s: %.1f%s (target %s%s) %s" % (text, value, unit, goal, unit, "met" if value >= goal else "NOT met"))
h, s = get(http, "metadata.show.c64.rps"), get(https, "metadata.show.c64.rps")
if h and s:
    target("HTTPS GET image c=64 as a share of HTTP", 100.0 * s / h, 60, "%")
target("HTTPS download of the big image, one stream", get(https, "data.download_big_c1.mib_s"), 1024, " MiB/s")
h, s = get(http, "data.download_big_c1.mib_s"), get(https, "data.download_big_c1.mib_s")
if h and s:
    print("- HTTPS big download as a share of HTTP: %.0f%%" % (100.0 * s / h))
for phase in ("show_c64", "download_big_c1", "download_big_c8"):
    print("- server CPU in %s (100%% = one core): " % phase + ", ".join(
        "%s %s%%" % (label, get(run, "resources.server_cpu_pct." + phase)) for label, run in (("embedded", http), ("https", https), ("cluster", cluster))))
# Each core's busy share during a phase (both cores used, or one pinned?).
def cores(label):
    t0, t1 = (float(open("%s/%s.%s" % (out, label, t)).read()) for t in ("t0", "t1"))
    first, last = {}, {}
    for line in open("%s/cores.log" % out):
        t, cpu, busy, total = line.split()
        if t0 <= float(t) <= t1:
            first.setdefault(cpu, (int(busy), int(total)))
            last[cpu] = (int(busy), int(total))
    return ", ".join("%s %.0f%%" % (cpu, 100.0 * (last[cpu][0] - first[cpu][0]) / max(1, last[cpu][1] - first[cpu][1])) for cpu in sorted(last))
print("- each core busy during the whole HTTPS bench: " + cores("https"))
print("- each core busy during the curl HTTPS downloads: " + ", ".join("%s: %s" % (p, cores("curl-https-" + p)) for p in ("http1.1", "h2")))
print("- bench.py's own CPU in the HTTPS one-stream download (100%% = one core): %s%%" % get(https, "resources.client_cpu_pct.download_big_c1"))
for line in open("%s/curl.txt" % out):
    label, streams, speed, cpu = line.split()
    print("- curl download of 512 MiB, %s, %s stream(s) at once: %s MiB/s in total (best of 3), server CPU %s s per stream" % (label, streams, speed, cpu))
# The hop and Azure storage per request: one client, one request at a time.
for key, name in (("metadata.create_c1.lat_ms.p50", "create (c=1) p50 ms"), ("metadata.show.c1.lat_ms.p50", "GET image (c=1) p50 ms"), ("mixed.lat_ms.create.p50", "mixed create p50 ms"),
                  ("mixed.lat_ms.upload.p50", "mixed upload p50 ms")):
    a, b = get(http, key), get(cluster, key)
    if a is not None and b is not None:
        print("- %s: embedded %.2f, cluster %.2f, the hop + Azure storage %.2f" % (name, a, b, b - a))
EOF
echo "raw results: $out"
