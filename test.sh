#!/usr/bin/env bash
# Runs every test of Glance.Orleans on a fresh machine and prints the totals.
#  1. installs what the tests need (python3-glanceclient from Debian, for the client test; qemu-utils,
#     whose qemu-img makes the disk images of the virtual_size tests; chromium, which the browser
#     tests of the web console and the API reference page drive; the
#     pinned Azurite from package-lock.json with `npm ci`, which the Azure Blob store tests start);
#  2. builds the solution (warnings are errors) and runs the xunit projects (grain tests on an
#     in-process Orleans cluster, HTTP tests against the real pipeline, the azure profile's
#     cluster of real processes on Azurite under faults);
#  3. starts the real service and drives it with the unmodified glance CLI;
#  4. starts a real Keystone (scripts/keystone.sh, Debian's keystone package, installed in step 1)
#     and the service validating tokens against it, and drives it with the openstack CLI,
#     glanceclient and openstacksdk as three users (scripts/keystone-e2e.sh);
#  5. runs Tempest's image tests (tempest.api.image, Debian's tempest) against the service behind
#     that Keystone: every test the real Glance 25.1 passes must pass (scripts/tempest/run.sh);
#  6. the same Tempest tests against the azure profile's cluster (2 silos and an API node on
#     Azurite, scripts/cluster.sh), every node validating tokens against that Keystone.
# The last line is "N passed, M failed" over all of it; the exit code is non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")"
results="$PWD/TestResults"
rm -rf "$results" && mkdir -p "$results"
status=0

if ! command -v glance >/dev/null 2>&1 || ! command -v openstack >/dev/null 2>&1; then
  echo "== installing python3-glanceclient and python3-openstackclient"
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq python3-glanceclient python3-openstackclient >/dev/null) \
    || echo "could not install python3-glanceclient and python3-openstackclient"
fi

if ! command -v qemu-img >/dev/null 2>&1; then
  # The virtual_size tests make real disk images with qemu-img; without it they fail.
  echo "== installing qemu-utils"
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends qemu-utils >/dev/null) || echo "could not install qemu-utils"
fi

if [ ! -x /usr/bin/chromium ]; then
  # The browser tests (tests/Browser.Tests) drive Debian's Chromium with Playwright; without it they
  # fail under CI=true (skip elsewhere).
  echo "== installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null) || echo "could not install chromium"
fi

if ! command -v cloud-init >/dev/null 2>&1; then
  # The server-template tests check rendered user_data with `cloud-init schema`; without it they
  # fail. cloud-init.disabled is written first, so the package never configures this machine at boot.
  echo "== installing cloud-init (disabled at boot)"
  export DEBIAN_FRONTEND=noninteractive
  mkdir -p /etc/cloud && touch /etc/cloud/cloud-init.disabled
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends cloud-init >/dev/null) || echo "could not install cloud-init"
fi

echo "== keystone packages"
# The Keystone tests (xunit's KeystoneTests and scripts/keystone-e2e.sh) start a real Keystone;
# without the packages they fail, saying why.
bash scripts/keystone.sh install || echo "could not install the keystone packages"

echo "== npm ci (Azurite)"
# Only when Azurite is missing or package-lock.json changed since the last install (npm ci wipes
# node_modules and takes ~30 s). Without it the Azure Blob store tests fail, saying why.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
lock_stamp=node_modules/.package-lock.sha256
if [ -x node_modules/.bin/azurite ] && [ "$(cat "$lock_stamp" 2>/dev/null)" = "$lock_hash" ]; then
  echo "node_modules is up to date"
elif ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: cannot install Azurite"
elif npm ci --no-audit --no-fund; then
  echo "$lock_hash" > "$lock_stamp"
else
  echo "npm ci failed"
fi
# npm ci runs it too (postinstall); again here for a node_modules installed before it existed.
[ -d node_modules/azurite ] && node scripts/azurite-fix.js

echo "== build"
if ! dotnet build Glance.Orleans.sln -c Release -nologo -v q; then
  echo "0 passed, 1 failed"
  exit 1
fi

echo "== xunit"
# One project after another: the cluster tests run real silo processes and time failure
# windows, the HTTP tests measure memory and shutdown times; on a small machine they must not
# compete with each other.
for project in $(ls tests/*/*.csproj | grep -v Cluster.Tests) tests/Cluster.Tests/Cluster.Tests.csproj; do
  dotnet test "$project" -c Release --no-build -nologo \
    --logger "trx" --logger "console;verbosity=normal" --results-directory "$results/trx" || status=1
done

echo "== glanceclient end to end"
# A service of its own on a free port, with a throw-away data directory.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
GLANCE_URL="http://127.0.0.1:$port" GLANCE_START=1 bash scripts/glanceclient-e2e.sh | tee "$results/e2e.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== openstack CLI, glanceclient and openstacksdk through Keystone"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
GLANCE_URL="http://127.0.0.1:$port" GLANCE_START=1 bash scripts/keystone-e2e.sh | tee "$results/keystone-e2e.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== Tempest image tests through Keystone"
# Results (subunit, tempest.log with every request and answer) in TestResults/tempest/.
bash scripts/tempest/run.sh | tee "$results/tempest-run.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "== Tempest image tests through Keystone, against a cluster (azure profile)"
TEMPEST_PROFILE=cluster TEMPEST_RESULTS="$results/tempest-cluster" bash scripts/tempest/run.sh | tee "$results/tempest-cluster-run.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

python3 - "$results" <<'PY'
import glob, re, sys, xml.etree.ElementTree as ET
root = sys.argv[1]
passed = failed = 0
for path in glob.glob(f"{root}/trx/*.trx"):
    counters = ET.parse(path).getroot().find(".//{*}Counters")
    passed += int(counters.get("passed", 0))
    failed += int(counters.get("failed", 0)) + int(counters.get("error", 0)) + int(counters.get("timeout", 0)) + int(counters.get("aborted", 0))
trx_files = len(glob.glob(f"{root}/trx/*.trx"))
# The failed tests by name, with their message's first lines, so that the end of the log says
# which one failed (the console output of a long run is often seen only by its tail).
for path in glob.glob(f"{root}/trx/*.trx"):
    for result in ET.parse(path).getroot().iter("{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}UnitTestResult"):
        if result.get("outcome") not in ("Passed", "NotExecuted"):
            message = result.find(".//{*}Message")
            lines = (message.text or "").strip().splitlines()[:30] if message is not None else []
            print(f"FAILED {result.get('testName')} ({result.get('duration')})")
            for line in lines:
                print(f"    {line[:300]}")
e2e = re.findall(r"^(\d+) passed, (\d+) failed$", open(f"{root}/e2e.log").read(), re.M)
if e2e:
    passed += int(e2e[-1][0]); failed += int(e2e[-1][1])
else:
    failed += 1  # the client run did not report: count it as a failure
keystone_e2e = re.findall(r"^(\d+) passed, (\d+) failed$", open(f"{root}/keystone-e2e.log").read(), re.M)
if keystone_e2e:
    passed += int(keystone_e2e[-1][0]); failed += int(keystone_e2e[-1][1])
else:
    failed += 1  # the Keystone client run did not report: a failure
tempest = re.findall(r"^(\d+) passed, (\d+) failed$", open(f"{root}/tempest-run.log").read(), re.M)
if tempest:
    passed += int(tempest[-1][0]); failed += int(tempest[-1][1])
else:
    failed += 1  # the Tempest run did not report: a failure
tempest_cluster = re.findall(r"^(\d+) passed, (\d+) failed$", open(f"{root}/tempest-cluster-run.log").read(), re.M)
if tempest_cluster:
    passed += int(tempest_cluster[-1][0]); failed += int(tempest_cluster[-1][1])
else:
    failed += 1  # the cluster's Tempest run did not report: a failure
if trx_files == 0:
    failed += 1  # no xunit results at all is a failure, not a pass
print(f"{passed} passed, {failed} failed")
PY
exit $status
