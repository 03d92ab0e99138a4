#!/usr/bin/env bash
# What one property write costs when the image already carries a lot of metadata (issue 8: "a
# property write costs O(that property), not O(the set)"). Starts the built service (embedded
# profile, a temporary data directory) on a free loopback port, creates one image with PROPS
# properties of PROP_BYTES bytes, then sends WRITES PATCH writes (replace /p0 with a short value)
# and prints, per write: the mean and 95th-percentile time and the bytes the service process wrote
# (wchar of /proc/PID/io: bytes passed to write calls, i.e. database, WAL and log files; the HTTP
# responses go through send calls, which it does not count), with the same figures for an image
# with no other properties. For this service it also prints the size of the records that one such
# write replaces, read from its database: the image's state, the property set's row(s) and the
# catalog's (SQLite overwrites a same-size row in place, writing only the pages that changed, so the
# bytes written understate what a store without that, such as Azure Storage, is sent). The real Glance (../shared/peer/glance)
# runs the same workload after it, side by side.
#   PROPS=100 PROP_BYTES=1200 WRITES=400
#   SERVICE_DLL=path   run another build of Glance.Api.dll (e.g. an earlier commit's, to compare)
#   BUILD=0            use the existing Release build
#   PEER=0             skip the real Glance
#   bench/property-write-cost.sh [extra service args]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/service.sh
peer="$(cd .. && pwd)/shared/peer"
data=$(mktemp -d)
dll=${SERVICE_DLL:-Api/bin/Release/net10.0/Glance.Api.dll}
[[ ${BUILD:-1} == 0 || -n ${SERVICE_DLL:-} ]] || dotnet build Api -c Release -nologo -v q >/dev/null
port=$(free_port)
url="http://127.0.0.1:$port"
trap 'kill ${pid:-} 2>/dev/null; wait ${pid:-} 2>/dev/null; [[ -z ${glance_state:-} ]] || "$peer/glance/stop.sh" >/dev/null 2>&1; rm -rf "$data"' EXIT
start_service "$dll" "$url" "$data/service" "$data/service.log" "$@"

cat >"$data/workload.py" <<'PY'
import http.client, json, os, sys, time

port, pid, label = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
database = sys.argv[4] if len(sys.argv) > 4 else None
PROPS, PROP_BYTES, WRITES = (int(os.environ.get(k, d)) for k, d in (("PROPS", 100), ("PROP_BYTES", 1200), ("WRITES", 400)))
HEADERS = {"X-Project-Id": "bench", "X-Roles": "member", "X-User-Id": "bench", "X-Identity-Status": "Confirmed"}
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

def call(method, path, body=None, content_type="application/json"):
    headers = dict(HEADERS, **({"Content-Type": content_type} if body is not None else {}))
    started = time.monotonic()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, data, time.monotonic() - started

def written():
    with open(f"/proc/{pid}/io") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("wchar:"))

def image(props):
    body = {"name": "cost", "disk_format": "raw", "container_format": "bare"}
    body.update({f"p{k}": (f"{k}-" + "v" * PROP_BYTES)[:PROP_BYTES] for k in range(1, props + 1)})
    status, data, _ = call("POST", "/v2/images", json.dumps(body).encode())
    if status != 201:
        sys.exit(f"{label}: create with {props} properties of {PROP_BYTES} B refused: {status} {data[:200]!r}")
    return json.loads(data)["id"]

def run(props):
    id = image(props)
    patch = lambda i: json.dumps([{"op": "add", "path": "/p0", "value": f"value-{i}"}]).encode()
    for i in range(20):  # warm-up
        call("PATCH", f"/v2/images/{id}", patch(i), "application/openstack-images-v2.1-json-patch")
    time.sleep(1)
    before, times = written(), []
    for i in range(WRITES):
        status, data, took = call("PATCH", f"/v2/images/{id}", patch(i), "application/openstack-images-v2.1-json-patch")
        if status != 200:
            sys.exit(f"{label}: write {i} answered {status} {data[:200]!r}")
        times.append(took)
    time.sleep(1)  # let the database's background writes (checkpoints) land on this run's account
    bytes_per_write = (written() - before) / WRITES
    times.sort()
    print(f"{label:<15} {props:>4} other properties ({props * PROP_BYTES // 1024:>3} KiB): "
          f"mean {sum(times) / len(times) * 1000:6.2f} ms  p95 {times[int(len(times) * 0.95)] * 1000:6.2f} ms  "
          f"written {bytes_per_write / 1024:8.1f} KiB per write{replaced(id)}", flush=True)

def replaced(id):
    """The stored records one write replaces, in either layout (before and after rows per property)."""
    if database is None:
        return ""
    import sqlite3
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    key = id.replace("-", "")
    one = lambda sql, *args: (db.execute(sql, args).fetchone() or (0,))[0] or 0
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    image = one("SELECT length(payload) FROM grain_state WHERE state_name = 'image' AND grain_key = ?", key)
    properties = (one("SELECT length(property) FROM image_property WHERE image_id = ? AND name = 'p0'", key) + 16
                  if "image_property" in tables else
                  one("SELECT length(payload) FROM grain_state WHERE state_name = 'image-properties' AND grain_key = ?", key))
    catalog = one("SELECT length(entry) FROM catalog_entry WHERE image_id = ?", key) + (
        one("SELECT length(value) + 64 FROM catalog_property WHERE image_id = ? AND name = 'p0'", key) if "catalog_property" in tables else 0)
    db.close()
    return f"; records replaced {(image + properties + catalog) / 1024:6.1f} KiB (image {image / 1024:.1f}, set {properties / 1024:.1f}, catalog {catalog / 1024:.1f})"

run(0)
run(PROPS)
PY

python3 "$data/workload.py" "$port" "$pid" glance-orleans "$data/service/glance.db" | tee "$data/orleans.out"
kill $pid; wait $pid 2>/dev/null || true
if [[ ${PEER:-1} == 1 && -x "$peer/glance/start.sh" ]]; then
  glance_port=$(free_port)
  glance_state="$data/glance-state"
  # One process (no worker fork), so the pid file names the process that writes the database.
  GLANCE_WORKERS=0 GLANCE_STATE_DIR="$glance_state" GLANCE_PORT=$glance_port GLANCE_RESET=1 "$peer/glance/start.sh" >/dev/null 2>&1
  python3 "$data/workload.py" "$glance_port" "$(cat "$glance_state/glance-api.pid")" glance-zed
  "$peer/glance/stop.sh" >/dev/null 2>&1 || true
fi
