#!/usr/bin/env bash
# Memory bounds for metadata (issue 8): starts the built service on a free loopback port with a
# temporary data directory, then prints its RSS (VmRSS; VmHWM is the peak)
#   - at start (after a short warm-up),
#   - after CREATES image creates, each carrying the largest metadata the service accepts
#     (VALUES properties of VALUE_KIB KiB; both shrunk until a create is accepted),
#   - after WRITES PUT /v2/images/{id}/properties/{name} to one image (WRITE_NAMES names in
#     turn, values of WRITE_KIB KiB, shrunk until accepted), with the time of the first and
#     last writes,
#   - after IDLE seconds of idling,
# and the size and time of the default image list.
#   CREATES=1000 VALUES=4 VALUE_KIB=60 WRITES=1000 WRITE_NAMES=100 WRITE_KIB=60 IDLE=5
#   PHASE_SECONDS=300  a phase stops when it has run this long
#   RSS_LIMIT_MIB=6144 a phase stops when the service's RSS passes this
#   BUILD=0            use the existing Release build
#   PEER=0             skip the real Glance (../shared/peer/glance); by default it runs first with
#                      the same workload (the sizes this service accepted), and both are printed
#   VALUE_BYTES / WRITE_BYTES / WRITE_NAMES pin the sizes (the Glance run gets this service's)
# Phase 2 writes through PATCH (add /name), the request both services take; phase 3 (this service
# only) through PUT /v2/images/{id}/properties/{name}.
#   bench/metadata-memory.sh [extra service args]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/service.sh
peer="$(cd .. && pwd)/shared/peer"
port=$(free_port)
data=$(mktemp -d)
url="http://127.0.0.1:$port"
workload="$data/workload.py"

[[ ${BUILD:-1} == 0 ]] || dotnet build Api -c Release -nologo -v q >/dev/null
trap 'kill ${pid:-} 2>/dev/null; wait ${pid:-} 2>/dev/null; [[ -z ${glance_state:-} ]] || "$peer/glance/stop.sh" >/dev/null 2>&1; rm -rf "$data"' EXIT
start_service Api/bin/Release/net10.0/Glance.Api.dll "$url" "$data" "$data/service.log" "$@"

cat >"$workload" <<'PY'
import http.client, json, os, sys, time

port, pid, label = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
own = label == "glance-orleans"
env = lambda name, default: int(os.environ.get(name, default))
CREATES, VALUES, VALUE_KIB = env("CREATES", 1000), env("VALUES", 4), env("VALUE_KIB", 60)
WRITES, WRITE_NAMES, WRITE_KIB = env("WRITES", 1000), env("WRITE_NAMES", 100), env("WRITE_KIB", 60)
IDLE, PHASE_SECONDS, RSS_LIMIT = env("IDLE", 5), env("PHASE_SECONDS", 300), env("RSS_LIMIT_MIB", 6144)
VALUE_BYTES, WRITE_BYTES = env("VALUE_BYTES", VALUE_KIB * 1024), env("WRITE_BYTES", WRITE_KIB * 1024)
HEADERS = {"X-Project-Id": "bench", "X-Roles": "member", "X-User-Id": "bench", "X-Identity-Status": "Confirmed"}

def status_mib(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    return -1

def rss(what):
    print(f"{label:<15} {what:<44} RSS {status_mib('VmRSS'):>6} MiB   (peak {status_mib('VmHWM')} MiB)", flush=True)

conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
def call(method, path, body=None, content_type="application/json"):
    global conn
    headers = dict(HEADERS)
    if body is not None:
        headers["Content-Type"] = content_type
    started = time.monotonic()
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    except (http.client.HTTPException, OSError):
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        raise
    return response.status, data, time.monotonic() - started

def create_body(i, values, size):
    attributes = {"name": f"mem-{i}", "disk_format": "raw", "container_format": "bare"}
    attributes.update({f"p{k}": (f"{i}-{k}-" + "v" * size)[:size] for k in range(values)})
    return json.dumps(attributes).encode()

# Warm-up (JIT, first activations) so that "start" is the steady state.
for i in range(20):
    call("POST", "/v2/images", json.dumps({"name": f"warm-{i}"}).encode())
    call("GET", "/v2/images")
rss("start")

# Phase 1: the largest metadata a create accepts (fewer and smaller values until it is accepted).
values, size = VALUES, VALUE_BYTES
while True:
    status, data, _ = call("POST", "/v2/images", create_body(-1, values, size))
    if status == 201:
        break
    print(f"# create with {values} x {size} B refused: {status} {data[:160]!r}")
    if size > 1024:
        size = size * 3 // 4
    elif values > 1:
        values, size = values - 1, VALUE_BYTES
    else:
        sys.exit("no create with metadata was accepted")
print(f"# phase 1: {CREATES} creates, {values} properties of {size} bytes each ({values * size // 1024} KiB of metadata per image)")
print(f"SIZES VALUES={values} VALUE_BYTES={size}", file=sys.stderr)
times, refused, started = [], 0, time.monotonic()
for i in range(CREATES):
    status, data, took = call("POST", "/v2/images", create_body(i, values, size))
    times.append(took)
    refused += status != 201
    if time.monotonic() - started > PHASE_SECONDS or status_mib("VmRSS") > RSS_LIMIT:
        print(f"# phase 1 stopped after {i + 1} creates ({time.monotonic() - started:.0f} s, RSS {status_mib('VmRSS')} MiB)")
        break
print(f"# {len(times)} creates in {sum(times):.1f} s: first {times[0] * 1000:.0f} ms, last {times[-1] * 1000:.0f} ms, "
      f"mean {sum(times) / len(times) * 1000:.0f} ms, slowest {max(times) * 1000:.0f} ms, {refused} refused")
rss(f"after {len(times)} creates with metadata")
status, data, took = call("GET", "/v2/images")
print(f"# default list: {status}, {len(data) / 1048576:.1f} MiB body in {took * 1000:.0f} ms")

def write_phase(number, how):
    """WRITES writes of the largest accepted value to one image, WRITE_NAMES names in turn (fewer
    if the image's metadata cap is reached first)."""
    status, data, _ = call("POST", "/v2/images", json.dumps({"name": f"mem-writes-{how}"}).encode())
    image = json.loads(data)["id"]
    def write(name, value):
        if how == "put":
            return call("PUT", f"/v2/images/{image}/properties/{name}", json.dumps({"value": value}).encode())
        return call("PATCH", f"/v2/images/{image}", json.dumps([{"op": "add", "path": f"/{name}", "value": value}]).encode(),
                    "application/openstack-images-v2.1-json-patch")
    wsize = WRITE_BYTES
    while True:
        status, data, _ = write("w0", "w" * wsize)
        if status in (200, 201):
            break
        print(f"# property write of {wsize} B refused: {status} {data[:160]!r}")
        if wsize <= 1024:
            sys.exit("no property write was accepted")
        wsize = wsize * 3 // 4
    print(f"# phase {number} ({how.upper()}): {WRITES} writes of {wsize} bytes to one image, {WRITE_NAMES} property names in turn")
    times, refused, started, names = [], 0, time.monotonic(), WRITE_NAMES
    i = 0
    while i < WRITES:
        status, data, took = write(f"w{i % names}", (f"{i}-" + "w" * wsize)[:wsize])
        if status == 413 and i < names and i > 0:
            # The image's metadata cap is reached: from now on replace the names that fit, in turn.
            names = i
            print(f"# the image holds {names} properties of {wsize} bytes (413 for one more): the writes replace them in turn")
            print(f"SIZES WRITE_NAMES={names} WRITE_BYTES={wsize}", file=sys.stderr)
            continue
        times.append(took)
        if status not in (200, 201):
            refused += 1
            if refused == 1:
                print(f"# write {i} refused: {status} {data[:160]!r}")
        if time.monotonic() - started > PHASE_SECONDS or status_mib("VmRSS") > RSS_LIMIT:
            print(f"# phase {number} stopped after {i + 1} writes ({time.monotonic() - started:.0f} s, RSS {status_mib('VmRSS')} MiB)")
            break
        i += 1
    ten = max(1, len(times) // 10)
    print(f"# {len(times)} writes in {sum(times):.1f} s: first {times[0] * 1000:.0f} ms, last {times[-1] * 1000:.0f} ms; "
          f"mean of the first {ten} {sum(times[:ten]) / ten * 1000:.0f} ms, of the last {ten} {sum(times[-ten:]) / ten * 1000:.0f} ms; "
          f"slowest {max(times) * 1000:.0f} ms, {refused} refused")
    rss(f"after {len(times)} {how.upper()} writes to one image")
    status, data, took = call("GET", f"/v2/images/{image}")
    print(f"# the image: {status}, {len(data) / 1048576:.1f} MiB body in {took * 1000:.0f} ms")

write_phase(2, "patch")
if own:
    write_phase(3, "put")

conn.close()
time.sleep(IDLE)
rss(f"after {IDLE} s idle")
PY

# This service first: the sizes it accepts are the workload the real Glance then gets.
python3 "$workload" "$port" "$pid" glance-orleans 2>"$data/sizes" | tee "$data/orleans.out"
grep -v '^SIZES ' "$data/sizes" >&2 || true
kill $pid; wait $pid 2>/dev/null || true
sizes=$(sed -n 's/^SIZES //p' "$data/sizes" | tr '\n' ' ')
if [[ ${PEER:-1} == 1 && -x "$peer/glance/start.sh" ]]; then
  glance_port=$(free_port)
  glance_state="$data/glance-state"
  # One process (no worker fork), so the pid file names the process that holds the data.
  echo "# the real Glance (Zed, sqlite, one process), same workload ($sizes)"
  GLANCE_WORKERS=0 GLANCE_STATE_DIR="$glance_state" GLANCE_PORT=$glance_port GLANCE_RESET=1 "$peer/glance/start.sh" >/dev/null 2>&1
  env $sizes python3 "$workload" "$glance_port" "$(cat "$glance_state/glance-api.pid")" glance-zed 2>/dev/null | tee "$data/glance.out"
  "$peer/glance/stop.sh" >/dev/null 2>&1 || true
  echo "# side by side, same workload, same machine (RSS MiB)"
  python3 - "$data/orleans.out" "$data/glance.out" <<'SIDE'
import re, sys
def rows(path):
    return {m[1].strip(): m[2] for m in re.finditer(r"^\S+ +(.+?) +RSS +(\d+) MiB", open(path).read(), re.M)}
ours, glance = rows(sys.argv[1]), rows(sys.argv[2])
for what, mib in ours.items():
    print(f"{what:<44} ours {mib:>6}   glance {glance.get(what, '-'):>6}")
SIDE
fi
