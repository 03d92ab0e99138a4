#!/usr/bin/env bash
# What the azure profile's repair pass costs at a silo's start, full against incremental, in one
# run on this machine: a 1 silo + 1 API cluster (scripts/cluster.sh, the pinned Azurite), N images
# created through the API (one state blob each), then the silo restarted twice:
#   1. with Glance:Recovery:FullPassInterval=0: the start's pass is full (reads every state and its
#      catalog entity);
#   2. with the default (a day): the start's pass goes on from the watermark the first one stored
#      (nothing was written since: the blob index finds no state to read);
#   3. the same after CHANGED of the images were patched: it reads those.
# Prints the silo's own "Repair pass (...)" log lines and the figures per image.
#   bench/repair-pass.sh [IMAGES [CHANGED]]   default 20000 and 1000; OUT=dir keeps the logs there
# With DATA=1 every image also gets 1 KiB of bytes, and two more full passes show what the sweep of
# unheld bytes adds: one with UnheldDataAge a year (it lists the data blobs and reads no state), one
# with 0 (it reads each blob's image state once more).
# ClockMargin is 0 here (Azurite and the silo share this machine's clock); with the default 5 min
# an incremental pass also reads what was written in the 5 min before the last complete pass.
set -euo pipefail
cd "$(dirname "$0")/.."
images=${1:-20000}
changed=${2:-1000}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
export CLUSTER_DIR="$out/cluster" CLUSTER_PORT_BASE=${CLUSTER_PORT_BASE:-13100}
trap 'scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT
settings="--Glance:Recovery:ClockMargin=00:00:00"
CLUSTER_SETTINGS="$settings" scripts/cluster.sh up --silos 1 --api 1 > "$out/nodes"
api=$(awk '$1 == "api" && $2 == 1 { print $3 }' "$out/nodes")
log="$CLUSTER_DIR/logs/silo-1.log"

echo "# creating $images images through $api"
# create|patch: POST IMAGES new images (their ids to $out/ids), or PATCH the first CHANGED of them.
load() {
python3 - "$api" "$1" "$2" "$out/ids" <<'PY'
import http.client, json, sys, threading, time, urllib.parse
url, verb, total, ids_file = urllib.parse.urlsplit(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
ids = open(ids_file).read().split() if verb in ("patch", "upload") else []
created = []
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
        if verb == "create":
            c.request("POST", "/v2/images", json.dumps({"name": f"repair-{n}", "disk_format": "raw", "container_format": "bare"}), headers)
        elif verb == "upload":
            c.request("PUT", f"/v2/images/{ids[n - 1]}/file", b"\0" * 1024, {**headers, "Content-Type": "application/octet-stream"})
        else:
            c.request("PATCH", f"/v2/images/{ids[n - 1]}", json.dumps([{"op": "replace", "path": "/name", "value": f"changed-{n}"}]),
                      {**headers, "Content-Type": "application/openstack-images-v2.1-json-patch"})
        r = c.getresponse(); body = r.read()
        with lock:
            if r.status not in (200, 201, 204):
                failed[0] += 1
            elif verb == "create":
                created.append(json.loads(body)["id"])
started = time.time()
threads = [threading.Thread(target=worker) for _ in range(32)]
for t in threads: t.start()
for t in threads: t.join()
print(f"# {verb}: {total - failed[0]} ({failed[0]} failed) in {time.time() - started:.1f} s")
if verb == "create":
    open(ids_file, "w").write("\n".join(created))
PY
}
load create "$images"
if [ "${DATA:-0}" = 1 ]; then
  load upload "$images"
fi

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
unchanged=$(pass_after_restart "")
load patch "$changed"
some=$(pass_after_restart "")
if [ "${DATA:-0}" = 1 ]; then
  listed=$(pass_after_restart "--Glance:Recovery:FullPassInterval=00:00:00 --Glance:Recovery:UnheldDataAge=365.00:00:00")
  swept=$(pass_after_restart "--Glance:Recovery:FullPassInterval=00:00:00 --Glance:Recovery:UnheldDataAge=00:00:00")
  echo "full, data listed only:    $listed"
  echo "full, every blob checked:  $swept"
fi
echo "full:                      $full"
echo "incremental, none changed: $unchanged"
echo "incremental, $changed changed: $some"
python3 - "$images" "$full" "$unchanged" "$some" <<'PY'
import re, sys
n = int(sys.argv[1])
for label, line in (("full", sys.argv[2]), ("none changed", sys.argv[3]), ("some changed", sys.argv[4])):
    seconds = float(re.search(r"\((?:full|incremental), ([\d.]+) s\)", line).group(1))
    read = int(re.search(r"(\d+) image\(s\) read", line).group(1))
    per = f"{seconds / read * 1e6:8.0f} us per state read" if read else "(no state to read: the tag queries alone)"
    print(f"{label:14} {seconds:8.2f} s, {read:6} image states read of {n}: {per}")
PY
