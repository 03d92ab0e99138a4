#!/usr/bin/env bash
# End-to-end check of Glance.Orleans behind a real Keystone, with the real, unmodified clients:
# the openstack CLI (Debian's python3-openstackclient 6.0) with password auth and the image
# endpoint taken from Keystone's catalog, as three users (the admin, a member of project A, a
# member of project B); then python-glanceclient and openstacksdk the same way. The service
# validates every token itself (Glance:Identity:Keystone), with no proxy in front.
#
#   GLANCE_URL   endpoint of the service (default: http://127.0.0.1:<a free port>); registered as
#                the `image` endpoint in Keystone's catalog
#   GLANCE_START=1 (the default)
#                if GLANCE_URL does not answer, build and start the service from this repository on
#                GLANCE_URL's port, validating tokens against the Keystone below, with a temporary
#                data directory, and stop it at exit. GLANCE_SILO_PORT (default: a free port).
#   KEYSTONE_*   passed to scripts/keystone.sh (KEYSTONE_PORT, default 5050; KEYSTONE_STATE...),
#                which installs and starts Keystone if needed (and stops it at exit if it did)
#
# Every check prints `ok - NAME` or `not ok - NAME`; the last line is `N passed, M failed` and
# the exit status is non-zero when M > 0.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Debian's OpenStack clients live in /usr/bin; a pyenv shim may shadow python3 on PATH.
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

GLANCE_URL="${GLANCE_URL:-http://127.0.0.1:$(free_port)}"
GLANCE_URL="${GLANCE_URL%/}"

PASSED=0
FAILED=0
SERVER_PID=""
KEYSTONE_STARTED=0
TMP="$(mktemp -d)"

cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        # The service was started in its own process group (setsid): stop dotnet run and its child.
        kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 -- "-$SERVER_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
    fi
    if [[ "$KEYSTONE_STARTED" == 1 ]]; then
        bash "$REPO/scripts/keystone.sh" down || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

log() { echo "# $*"; }

abort() {
    echo "# $*" >&2
    echo "$PASSED passed, $((FAILED + 1)) failed"
    exit 1
}

reachable() { curl -sf -o /dev/null --max-time 5 "$GLANCE_URL/versions"; }

# --- Keystone, with the service in its catalog -----------------------------------------------

log "Keystone: scripts/keystone.sh up $GLANCE_URL"
if ! KS_ENV="$(bash "$REPO/scripts/keystone.sh" up "$GLANCE_URL")"; then
    abort "scripts/keystone.sh up failed: no Keystone"
fi
eval "$KS_ENV"
log "Keystone at $KEYSTONE_URL (started here: $KEYSTONE_STARTED)"

# --- the service --------------------------------------------------------------------------

if ! reachable; then
    [[ "${GLANCE_START:-1}" == "1" ]] || abort "$GLANCE_URL/versions does not answer (set GLANCE_START=1 to start the service)"
    port="${GLANCE_URL##*:}"
    port="${port%%/*}"
    [[ "$port" =~ ^[0-9]+$ ]] || abort "cannot take a port from GLANCE_URL=$GLANCE_URL"
    silo_port="${GLANCE_SILO_PORT:-$(free_port)}"
    data_dir="$TMP/data"
    mkdir -p "$data_dir"
    log "starting Glance.Orleans on 127.0.0.1:$port (silo port $silo_port, data $data_dir), validating tokens against $KEYSTONE_URL"
    (
        cd "$REPO"
        # The service's credentials through the environment, not the command line (ps shows that).
        export Glance__Identity__Keystone__Url="$KEYSTONE_URL" \
            Glance__Identity__Keystone__Username="$KEYSTONE_SERVICE_USER" \
            Glance__Identity__Keystone__Password="$KEYSTONE_SERVICE_PASSWORD" \
            Glance__Identity__Keystone__Project="$KEYSTONE_SERVICE_PROJECT"
        exec setsid dotnet run --project Api -c Release -- --urls "http://127.0.0.1:$port" \
            --Glance:DataDirectory="$data_dir" --Glance:SiloPort="$silo_port" --Glance:GatewayPort=0
    ) >"$TMP/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 600); do
        reachable && break
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            tail -30 "$TMP/server.log" >&2
            abort "the service exited during start-up"
        fi
        sleep 0.5
    done
    reachable || { tail -30 "$TMP/server.log" >&2; abort "the service did not answer $GLANCE_URL/versions in 300 s"; }
fi

# --- helpers (as in glanceclient-e2e.sh) --------------------------------------------------------

# OUT = stdout+stderr of the last command, RC = its exit status.
OUT=""
RC=0
pass() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
fail() {
    FAILED=$((FAILED + 1))
    echo "not ok - $1"
    if [[ -n "${2:-}" ]]; then echo "$2" | sed 's/^/#   /'; fi
    echo "#   exit=$RC output:"
    echo "$OUT" | head -40 | sed 's/^/#   /'
}
check() {
    local name="$1"
    shift
    if "$@"; then pass "$name"; else fail "$name" "failed: $*"; fi
}
succeeded() { [[ $RC -eq 0 ]]; }
failed_with() { [[ $RC -ne 0 ]] && grep -q -- "$1" <<<"$OUT"; }
has() { grep -q -- "$1" <<<"$OUT"; }
lacks() { ! grep -q -- "$1" <<<"$OUT"; }
all() { local c; for c in "$@"; do eval "$c" || return 1; done; }

# A field of the last `-f json` output (a dict); nested properties by dotted name.
json_field() {
    /usr/bin/python3 -c 'import json, sys
value = json.loads(sys.argv[1])
for key in sys.argv[2].split("."):
    value = value.get(key) if isinstance(value, dict) else None
print("" if value is None else (",".join(value) if isinstance(value, list) else value))' "$OUT" "$1" 2>/dev/null || true
}
json_is() { [[ "$(json_field "$1")" == "$2" ]]; }
md5_of() { md5sum "$1" | cut -d' ' -f1; }

# The users: label -> name, password, project id.
declare -A USER_NAME=([admin]="$KEYSTONE_ADMIN_USER" [a]="$KEYSTONE_USER_A" [b]="$KEYSTONE_USER_B")
declare -A USER_PASSWORD=([admin]="$KEYSTONE_ADMIN_PASSWORD" [a]="$KEYSTONE_PASSWORD_A" [b]="$KEYSTONE_PASSWORD_B")
declare -A USER_PROJECT=([admin]="$KEYSTONE_ADMIN_PROJECT_ID" [a]="$KEYSTONE_PROJECT_A_ID" [b]="$KEYSTONE_PROJECT_B_ID")

# as LABEL COMMAND...: COMMAND with password auth as that user, and nothing else from the caller's
# environment (no endpoint: the clients take the image endpoint from the catalog). A private HOME:
# glanceclient caches schemas there. Stdin from /dev/null: the openstack CLI asks it isatty().
as() {
    local who="$1"
    shift
    set +e
    OUT="$(env -u OS_CLOUD -u OS_TOKEN -u OS_ENDPOINT -u OS_URL -u OS_IMAGE_URL -u OS_PROJECT_NAME -u OS_TENANT_NAME \
        -u OS_TENANT_ID -u OS_PROJECT_DOMAIN_ID -u OS_USER_DOMAIN_ID -u OS_SYSTEM_SCOPE \
        HOME="$TMP/home-$who" OS_AUTH_TYPE=password OS_AUTH_URL="$KEYSTONE_URL" OS_IDENTITY_API_VERSION=3 \
        OS_USERNAME="${USER_NAME[$who]}" OS_PASSWORD="${USER_PASSWORD[$who]}" OS_PROJECT_ID="${USER_PROJECT[$who]}" \
        OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_REGION_NAME="$KEYSTONE_REGION" OS_INTERFACE=public \
        OS_IMAGE_API_VERSION=2 "$@" 2>&1 </dev/null)"
    RC=$?
    set -e
}
mkdir -p "$TMP/home-admin" "$TMP/home-a" "$TMP/home-b"

# --- without a valid token ---------------------------------------------------------------------

set +e
OUT="$(curl -s -i "$GLANCE_URL/v2/images")"
RC=$?
set -e
check "no token: 401 with WWW-Authenticate: Keystone uri=... and a JSON error" all succeeded 'has "^HTTP/1.1 401"' \
    'has "WWW-Authenticate: Keystone uri=\"$KEYSTONE_URL\""' 'has "\"code\":\"401 Unauthorized\""'
set +e
OUT="$(curl -s -i "$GLANCE_URL/v2/images" -H 'X-Auth-Token: not-a-token' -H 'X-Project-Id: admin' -H 'X-Roles: admin' -H 'X-Identity-Status: Confirmed')"
RC=$?
set -e
check "an invalid token with identity headers claiming admin: 401" all succeeded 'has "^HTTP/1.1 401"'
set +e
OUT="$(curl -s -o /dev/null -w '%{http_code}' "$GLANCE_URL/versions")"
RC=$?
set -e
check "version discovery needs no token" all succeeded '[[ "$OUT" == 200 ]]'

as admin openstack catalog show image -f json
check "the catalog's image endpoint is the service" all succeeded 'has "$GLANCE_URL"'

# --- the openstack CLI, as each user, sharing with another project -----------------------------

NAME="ks-e2e-$$-$RANDOM"
DATA_FILE="$TMP/data.bin"
head -c $((2 * 1024 * 1024 + 13)) /dev/urandom >"$DATA_FILE"
DATA_MD5="$(md5_of "$DATA_FILE")"
DATA_SIZE="$(stat -c %s "$DATA_FILE")"
log "$(openstack --version 2>&1) against $GLANCE_URL through $KEYSTONE_URL"

# owner -> the project it shares with
declare -A SHARE_WITH=([a]=b [b]=a [admin]=a)
for owner in a b admin; do
    other="${SHARE_WITH[$owner]}"
    tag="[$owner]"

    as "$owner" openstack image create --disk-format raw --container-format bare --private "$NAME-$owner" -f json
    ID="$(json_field id)"
    check "$tag image create (queued, owned by the user's project)" all succeeded 'json_is status queued' \
        'json_is owner "${USER_PROJECT[$owner]}"'
    [[ "$ID" =~ ^[0-9a-f-]{36}$ ]] || { fail "$tag no image id: skipping this user"; continue; }
    as "$owner" openstack image list -f value -c ID
    check "$tag image list contains it" all succeeded 'has "$ID"'
    as "$owner" openstack image show "$ID" -f json
    check "$tag image show" all succeeded 'json_is name "$NAME-$owner"' 'json_is visibility private'
    as "$owner" openstack image set --name "$NAME-$owner-renamed" --property e2e=yes --tag t1 "$ID"
    check "$tag image set --name --property --tag" succeeded
    as "$owner" openstack image show "$ID" -f json
    check "$tag image show after set" all succeeded 'json_is name "$NAME-$owner-renamed"' 'json_is properties.e2e yes' 'json_is tags t1'
    if [[ $owner != admin ]]; then
        as "$other" openstack image show "$ID"
        check "$tag another project's member cannot see the private image" all '[[ $RC -ne 0 ]]' 'has "No Image found\|Could not find\|404"'
        as admin openstack image show "$ID" -f json
        check "$tag the admin sees the private image" all succeeded 'json_is id "$ID"'
    fi

    as "$owner" openstack image create --disk-format raw --container-format bare --shared --file "$DATA_FILE" "$NAME-$owner-data" -f json
    DATA_ID="$(json_field id)"
    as "$owner" openstack image show "$DATA_ID" -f json
    check "$tag image create --file (active, checksum = md5sum, size)" all succeeded 'json_is status active' \
        'json_is checksum "$DATA_MD5"' 'json_is size "$DATA_SIZE"'
    rm -f "$TMP/saved"
    as "$owner" openstack image save --file "$TMP/saved" "$DATA_ID"
    check "$tag image save (md5 = the uploaded file's)" all succeeded '[[ "$(md5_of "$TMP/saved")" == "$DATA_MD5" ]]'

    as "$owner" openstack image add project "$DATA_ID" "${USER_PROJECT[$other]}" -f json
    check "$tag image add project (project $other, pending)" all succeeded 'has pending'
    as "$other" openstack image list -f value -c ID
    check "$tag the invited project does not list a pending image" all succeeded 'lacks "$DATA_ID"'
    as "$other" openstack image set --accept "$DATA_ID"
    check "$tag image set --accept as project $other" succeeded
    as "$owner" openstack image member list "$DATA_ID" -f value
    check "$tag image member list shows the acceptance" all succeeded 'has "${USER_PROJECT[$other]}"' 'has accepted'
    as "$other" openstack image list -f value -c ID
    check "$tag the member project lists the accepted image" all succeeded 'has "$DATA_ID"'
    rm -f "$TMP/saved-other"
    as "$other" openstack image save --file "$TMP/saved-other" "$DATA_ID"
    check "$tag image save as the member project (md5 = the uploaded file's)" all succeeded \
        '[[ "$(md5_of "$TMP/saved-other")" == "$DATA_MD5" ]]'
    if [[ $owner == admin ]]; then
        as b openstack image show "$DATA_ID"
        check "$tag project b, which it is not shared with, cannot see it" all '[[ $RC -ne 0 ]]'
    fi
    as "$other" openstack image delete "$DATA_ID"
    check "$tag the member project cannot delete it" all '[[ $RC -ne 0 ]]'

    for id in "$ID" "$DATA_ID"; do
        as "$owner" openstack image delete "$id"
        check "$tag image delete $id" succeeded
        as "$owner" openstack image show "$id"
        check "$tag image show of the deleted image fails" all '[[ $RC -ne 0 ]]'
    done
done

# --- python-glanceclient through Keystone ------------------------------------------------------

field() {
    awk -F'|' -v k="$1" '{ key = $2; gsub(/^ +| +$/, "", key); if (key == k) { v = $3; gsub(/^ +| +$/, "", v); print v; exit } }' <<<"$OUT"
}
if command -v glance >/dev/null 2>&1; then
    log "glanceclient $(glance --version 2>&1 </dev/null) through $KEYSTONE_URL"
    as a glance image-create --name "$NAME-gc" --disk-format raw --container-format bare --visibility shared --file "$DATA_FILE"
    GC_ID="$(field id)"
    check "glance image-create --file as member A (active, checksum = md5sum, owner A)" all succeeded \
        '[[ "$(field status)" == active ]]' '[[ "$(field checksum)" == "$DATA_MD5" ]]' '[[ "$(field owner)" == "$KEYSTONE_PROJECT_A_ID" ]]'
    rm -f "$TMP/gc.bin"
    as a glance image-download --file "$TMP/gc.bin" "$GC_ID"
    check "glance image-download (md5 = the uploaded file's)" all succeeded '[[ "$(md5_of "$TMP/gc.bin")" == "$DATA_MD5" ]]'
    as a glance member-create "$GC_ID" "$KEYSTONE_PROJECT_B_ID"
    check "glance member-create (project B, pending)" all succeeded 'has pending'
    as b glance member-update "$GC_ID" "$KEYSTONE_PROJECT_B_ID" accepted
    check "glance member-update accepted as member B" all succeeded 'has accepted'
    rm -f "$TMP/gc-b.bin"
    as b glance image-download --file "$TMP/gc-b.bin" "$GC_ID"
    check "glance image-download as member B (md5 = the uploaded file's)" all succeeded '[[ "$(md5_of "$TMP/gc-b.bin")" == "$DATA_MD5" ]]'
    as a glance image-delete "$GC_ID"
    check "glance image-delete" succeeded
else
    fail "glance CLI (python3-glanceclient) is installed"
fi

# --- openstacksdk through Keystone --------------------------------------------------------------

# (a file, not stdin: `as` gives the command /dev/null as stdin)
cat >"$TMP/sdk.py" <<'PY'
import hashlib, os, sys
import openstack
path, name, project = sys.argv[1:4]
conn = openstack.connect(auth_type="password", auth={
    "auth_url": os.environ["OS_AUTH_URL"], "username": os.environ["OS_USERNAME"], "password": os.environ["OS_PASSWORD"],
    "project_id": os.environ["OS_PROJECT_ID"], "user_domain_name": "Default"},
    region_name=os.environ["OS_REGION_NAME"], image_api_version="2")
data = open(path, "rb").read()
image = conn.image.create_image(name=name, disk_format="raw", container_format="bare", data=data, wait=True)
shown = conn.image.get_image(image.id)
print("status", shown.status, "owner-ok", shown.owner == project)
print("checksum-ok", shown.checksum == hashlib.md5(data).hexdigest())
print("listed", any(i.id == image.id for i in conn.image.images()))
downloaded = conn.image.download_image(shown)
downloaded = getattr(downloaded, "content", downloaded)  # 0.101 returns the HTTP response
print("download-ok", hashlib.md5(downloaded).hexdigest() == hashlib.md5(data).hexdigest())
conn.image.delete_image(image.id)
print("deleted", conn.image.find_image(image.id) is None)
PY
as b /usr/bin/python3 "$TMP/sdk.py" "$DATA_FILE" "$NAME-sdk" "$KEYSTONE_PROJECT_B_ID"
check "openstacksdk as member B: create with data, get, list, download (md5), delete" all succeeded 'has "status active owner-ok True"' \
    'has "checksum-ok True"' 'has "listed True"' 'has "download-ok True"' 'has "deleted True"'

echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
