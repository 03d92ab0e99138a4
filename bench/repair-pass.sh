#!/usr/bin/env bash
# What the azure profile's repair pass costs at a silo's start, full against incremental, in one
# run on this machine: a 1 silo + 1 API cluster (scripts/cluster.sh, the pinned Azurite), N images
# created through the API (one state blob each), then the silo restarted twice:
#   1. with Glance:Recovery:FullPassInterval=0: the start's pass is full (reads every state and its
#      catalog entity);
#   2. with the default (a day): the start's pass goes on from the watermark the first one stored
#      (lists every state, reads none of them: nothing was written since).
# Prints the silo's own "Repair pass (...)" log lines and the figures per state.
#   bench/repair-pass.sh [IMAGES]      default 20000; OUT=dir keeps the cluster's logs there
# ClockMargin is 0 here (Azurite and the silo share this machine's clock); with the default 5 min
# an incremental pass also reads what was written in the 5 min before the last clean pass.
set -euo pipefail
cd "$(dirname "$0")/.."
images=${1:-20000}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
export CLUSTER_DIR="$out/cluster" CLUSTER_PORT_BASE=${CLUSTER_PORT_BASE:-13100}
trap 'scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT
settings="--Glance:Recovery:ClockMargin=00:00:00"
CLUSTER_SETTINGS="$settings" scripts/cluster.sh up --silos 1 --api 1 > "$out/nodes"
api=$(awk '$1 == "api" && $2 == 1 { print $3 }' "$out/nodes")
log="$CLUSTER_DIR/logs/silo-1.log"

echo "# creating $images images through $api"
python3 - "$api" "$images" <<'PY'
import http.client, json, sys, threading, time, urllib.parse
url, total = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2])
headers = {"X-Identity-Status": "Confirmed", "X-Project-Id": "p1", "X-Roles": "admin", "Content-Type": "application/json"}
lock, counter, failed = threading.Lock(), [0], [0]
def worker():
    c = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    while True:
        with lock:
            if counter[0] >= total:
                return
            counter[0] += 1
            n = counter[0]
        c.request("POST", "/v2/images", json.dumps({"name": f"repair-{n}", "disk_format": "raw", "container_format": "bare"}), headers)
        r = c.getresponse(); r.read()
        if r.status != 201:
            with lock:
                failed[0] += 1
started = time.time()
threads = [threading.Thread(target=worker) for _ in range(32)]
for t in threads: t.start()
for t in threads: t.join()
print(f"# created {total - failed[0]} ({failed[0]} failed) in {time.time() - started:.1f} s")
PY

# One pass line after a restart of silo 1 with these settings.
pass_after_restart() {
  local seen; seen=$(grep -c "Repair pass (" "$log" || true)
  scripts/cluster.sh stop silo 1 >/dev/null
  CLUSTER_SETTINGS="$settings $1" scripts/cluster.sh start silo 1 >/dev/null
  for _ in $(seq 1800); do
    if [ "$(grep -c "Repair pass (" "$log" || true)" -gt "$seen" ]; then
      grep "Repair pass (" "$log" | tail -1 | sed 's/^.*Repair pass/Repair pass/'
      return
    fi
    sleep 1
  done
  echo "no pass within 30 min"; return 1
}
# The start of the cluster ran a full pass before any image existed; each create's state was
# written after it, so both passes below have every image to consider.
full=$(pass_after_restart "--Glance:Recovery:FullPassInterval=00:00:00")
incremental=$(pass_after_restart "")
echo "full:        $full"
echo "incremental: $incremental"
python3 - "$images" "$full" "$incremental" <<'PY'
import re, sys
n = int(sys.argv[1])
for label, line in (("full", sys.argv[2]), ("incremental", sys.argv[3])):
    seconds = float(re.search(r"\((?:full|incremental), ([\d.]+) s\)", line).group(1))
    print(f"{label:12} {seconds:8.1f} s for {n} images: {seconds / n * 1e6:8.1f} us per image")
PY
