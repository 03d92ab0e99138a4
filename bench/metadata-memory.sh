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
#   bench/metadata-memory.sh [extra service args]
set -euo pipefail
cd "$(dirname "$0")/.."
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
silo=$(free_port)
data=$(mktemp -d)
url="http://127.0.0.1:$port"

[[ ${BUILD:-1} == 0 ]] || dotnet build Api -c Release -nologo -v q >/dev/null
dotnet Api/bin/Release/net10.0/Glance.Api.dll --urls "$url" --Glance:DataDirectory="$data" \
  --Glance:SiloPort="$silo" --Glance:GatewayPort=0 --Logging:LogLevel:Default=Warning "$@" >"$data/service.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 300); do
  curl -sf -o /dev/null "$url/versions" && break
  kill -0 $pid 2>/dev/null || { echo "the service exited:" >&2; tail -20 "$data/service.log" >&2; exit 1; }
  sleep 0.2
done

python3 - "$port" "$pid" <<'PY'
import http.client, json, os, sys, time

port, pid = int(sys.argv[1]), int(sys.argv[2])
env = lambda name, default: int(os.environ.get(name, default))
CREATES, VALUES, VALUE_KIB = env("CREATES", 1000), env("VALUES", 4), env("VALUE_KIB", 60)
WRITES, WRITE_NAMES, WRITE_KIB = env("WRITES", 1000), env("WRITE_NAMES", 100), env("WRITE_KIB", 60)
IDLE, PHASE_SECONDS, RSS_LIMIT = env("IDLE", 5), env("PHASE_SECONDS", 300), env("RSS_LIMIT_MIB", 6144)
HEADERS = {"X-Project-Id": "bench", "X-Roles": "member", "X-User-Id": "bench", "X-Identity-Status": "Confirmed"}

def status_mib(field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    return -1

def rss(label):
    print(f"{label:<44} RSS {status_mib('VmRSS'):>6} MiB   (peak {status_mib('VmHWM')} MiB)", flush=True)

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
values, size = VALUES, VALUE_KIB * 1024
while True:
    status, data, _ = call("POST", "/v2/images", create_body(-1, values, size))
    if status == 201:
        break
    print(f"# create with {values} x {size} B refused: {status} {data[:160]!r}")
    if size > 1024:
        size = size * 3 // 4
    elif values > 1:
        values, size = values - 1, VALUE_KIB * 1024
    else:
        sys.exit("no create with metadata was accepted")
print(f"# phase 1: {CREATES} creates, {values} properties of {size} bytes each ({values * size // 1024} KiB of metadata per image)")
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

# Phase 2: property writes to one image, WRITE_NAMES names in turn (the property quota bounds the names).
status, data, _ = call("POST", "/v2/images", json.dumps({"name": "mem-writes"}).encode())
image = json.loads(data)["id"]
wsize = WRITE_KIB * 1024
while True:
    status, data, _ = call("PUT", f"/v2/images/{image}/properties/w0", json.dumps({"value": "w" * wsize}).encode())
    if status in (200, 201):
        break
    print(f"# property write of {wsize} B refused: {status} {data[:160]!r}")
    if wsize <= 1024:
        sys.exit("no property write was accepted")
    wsize = wsize * 3 // 4
print(f"# phase 2: {WRITES} writes of {wsize} bytes to one image, {WRITE_NAMES} property names in turn")
times, refused, started, names = [], 0, time.monotonic(), WRITE_NAMES
i = 0
while i < WRITES:
    body = json.dumps({"value": (f"{i}-" + "w" * wsize)[:wsize]}).encode()
    status, data, took = call("PUT", f"/v2/images/{image}/properties/w{i % names}", body)
    if status == 413 and i < names and i > 0:
        # The image's metadata cap is reached: from now on replace the names that fit, in turn.
        names = i
        print(f"# the image holds {names} properties of {wsize} bytes (413 for one more): the writes replace them in turn")
        continue
    times.append(took)
    if status not in (200, 201):
        refused += 1
        if refused == 1:
            print(f"# write {i} refused: {status} {data[:160]!r}")
    if time.monotonic() - started > PHASE_SECONDS or status_mib("VmRSS") > RSS_LIMIT:
        print(f"# phase 2 stopped after {i + 1} writes ({time.monotonic() - started:.0f} s, RSS {status_mib('VmRSS')} MiB)")
        break
    i += 1
ten = max(1, len(times) // 10)
print(f"# {len(times)} writes in {sum(times):.1f} s: first {times[0] * 1000:.0f} ms, last {times[-1] * 1000:.0f} ms; "
      f"mean of the first {ten} {sum(times[:ten]) / ten * 1000:.0f} ms, of the last {ten} {sum(times[-ten:]) / ten * 1000:.0f} ms; "
      f"slowest {max(times) * 1000:.0f} ms, {refused} refused")
rss(f"after {len(times)} property writes to one image")
status, data, took = call("GET", f"/v2/images/{image}")
print(f"# the image: {status}, {len(data) / 1048576:.1f} MiB body in {took * 1000:.0f} ms")

conn.close()
time.sleep(IDLE)
rss(f"after {IDLE} s idle")
PY
