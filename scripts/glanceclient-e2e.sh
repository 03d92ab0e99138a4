#!/usr/bin/env bash
# End-to-end check of Glance.Orleans with the real, unmodified clients: the python-glanceclient
# CLI (Debian's python3-glanceclient, `glance`): metadata, then image data (upload and download);
# then the openstack CLI and openstacksdk (Debian's python3-openstackclient) without Keystone.
#
#   GLANCE_URL   endpoint to test (default http://127.0.0.1:9292)
#   GLANCE_START=1
#                if GLANCE_URL does not answer, build and start the service from this
#                repository on GLANCE_URL's port with a temporary data directory, and stop
#                it at exit. GLANCE_SILO_PORT (default: a free port) sets its silo port.
#
# Every check prints `ok - NAME` or `not ok - NAME`; the last line is `N passed, M failed`
# and the exit status is non-zero when M > 0.
set -euo pipefail

GLANCE_URL="${GLANCE_URL:-http://127.0.0.1:9292}"
GLANCE_URL="${GLANCE_URL%/}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

PASSED=0
FAILED=0
SERVER_PID=""
WEB_PID=""
WEB_PORT=""
TMP="$(mktemp -d)"

cleanup() {
    if [[ -n "$WEB_PID" ]]; then
        kill -TERM -- "-$WEB_PID" 2>/dev/null || true
    fi
    if [[ -n "$SERVER_PID" ]]; then
        # The service was started in its own process group (setsid): stop dotnet run and its child.
        kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 -- "-$SERVER_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

log() { echo "# $*"; }

reachable() { curl -sf -o /dev/null --max-time 5 "$GLANCE_URL/versions"; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# --- the client ---------------------------------------------------------------------------

if ! command -v glance >/dev/null 2>&1; then
    log "glance CLI missing: installing python3-glanceclient"
    if [[ $(id -u) -eq 0 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y python3-glanceclient >/dev/null \
            || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-glanceclient >/dev/null; }
    else
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y python3-glanceclient >/dev/null
    fi
fi

# glanceclient caches the server's schemas under $HOME/.glanceclient: give it a private HOME so
# that a cache left by another endpoint (e.g. a real Glance whose schema has `stores`) cannot
# interfere, and so that the cache pitfall check below starts from nothing.
GC_HOME="$TMP/home"
mkdir -p "$GC_HOME"

# OUT = stdout+stderr of the last command, RC = its exit status. Stdin is closed so that
# glanceclient never waits for image data on it.
OUT=""
RC=0
glance_run() {
    set +e
    OUT="$(HOME="$GC_HOME" glance --os-image-api-version 2 --os-image-url "$GLANCE_URL" \
        --os-auth-token x --os-auth-url http://127.0.0.1:9/unused "$@" 2>&1 <&-)"
    RC=$?
    set -e
}

# Same without --os-auth-url: the schema cache then goes to ~/.glanceclient/image_schema.json
# and is read back by the next call (the pitfall of the README's glanceclient notes).
glance_run_no_auth_url() {
    set +e
    OUT="$(HOME="$GC_HOME" glance --os-image-api-version 2 --os-image-url "$GLANCE_URL" \
        --os-auth-token x "$@" 2>&1 <&-)"
    RC=$?
    set -e
}

pass() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
fail() {
    FAILED=$((FAILED + 1))
    echo "not ok - $1"
    if [[ -n "${2:-}" ]]; then echo "$2" | sed 's/^/#   /'; fi
    echo "#   exit=$RC output:"
    echo "$OUT" | head -40 | sed 's/^/#   /'
}

# check NAME CONDITION...: CONDITION is a command (usually a test on $RC / $OUT).
check() {
    local name="$1"
    shift
    if "$@"; then pass "$name"; else fail "$name" "failed: $*"; fi
}

# Value of a row in glanceclient's Property/Value table.
field() {
    awk -F'|' -v k="$1" '{ key = $2; gsub(/^ +| +$/, "", key); if (key == k) { v = $3; gsub(/^ +| +$/, "", v); print v; exit } }' <<<"$OUT"
}

succeeded() { [[ $RC -eq 0 ]]; }
failed_with() { [[ $RC -ne 0 ]] && grep -q -- "$1" <<<"$OUT"; }
has() { grep -q -- "$1" <<<"$OUT"; }
lacks() { ! grep -q -- "$1" <<<"$OUT"; }
field_is() { [[ "$(field "$1")" == "$2" ]]; }
all() { local c; for c in "$@"; do eval "$c" || return 1; done; }

# --- the service --------------------------------------------------------------------------

if ! reachable; then
    if [[ "${GLANCE_START:-0}" != "1" ]]; then
        echo "# $GLANCE_URL/versions does not answer (set GLANCE_START=1 to start the service)" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
    port="${GLANCE_URL##*:}"
    port="${port%%/*}"
    [[ "$port" =~ ^[0-9]+$ ]] || { echo "# cannot take a port from GLANCE_URL=$GLANCE_URL" >&2; echo "0 passed, 1 failed"; exit 1; }
    silo_port="${GLANCE_SILO_PORT:-$(free_port)}"
    data_dir="$TMP/data"
    mkdir -p "$data_dir"
    # A loopback web server for the tasks API's legacy import, which this service may reach (its
    # port and host allowed); the default filter still refuses any other loopback port.
    WEB_PORT="$(free_port)"
    mkdir -p "$TMP/www"
    (cd "$TMP/www" && exec setsid python3 -m http.server "$WEB_PORT" --bind 127.0.0.1) >"$TMP/web.log" 2>&1 &
    WEB_PID=$!
    log "starting Glance.Orleans on 127.0.0.1:$port (silo port $silo_port, data $data_dir; web-download may reach 127.0.0.1:$WEB_PORT)"
    (
        cd "$REPO"
        exec setsid dotnet run --project Api -c Release -- --urls "http://127.0.0.1:$port" \
            --Glance:DataDirectory="$data_dir" --Glance:SiloPort="$silo_port" --Glance:GatewayPort=0 \
            --Glance:Import:AllowedHosts:0=127.0.0.1 --Glance:Import:AllowedPorts:0="$WEB_PORT" \
            --Glance:Extensions:image-cache:Enabled=true
    ) >"$TMP/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 600); do
        reachable && break
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "# the service exited during start-up:" >&2
            tail -30 "$TMP/server.log" >&2
            echo "0 passed, 1 failed"
            exit 1
        fi
        sleep 0.5
    done
    if ! reachable; then
        echo "# the service did not answer $GLANCE_URL/versions in 300 s:" >&2
        tail -30 "$TMP/server.log" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
fi

log "glanceclient $(HOME="$GC_HOME" glance --version 2>&1 <&-) against $GLANCE_URL"

# --- the checks ---------------------------------------------------------------------------

NAME="e2e-$$-$RANDOM"

glance_run image-create --name "$NAME" --disk-format raw --container-format bare
ID="$(field id)"
check "image-create" all succeeded '[[ "$ID" =~ ^[0-9a-f-]{36}$ ]]' 'field_is name "$NAME"' 'field_is status queued'
if [[ ! "$ID" =~ ^[0-9a-f-]{36}$ ]]; then
    echo "# no image id: the other checks cannot run"
    echo "$PASSED passed, $((FAILED + 1)) failed"
    exit 1
fi

glance_run image-list
check "image-list contains the image" all succeeded 'has "$ID"'

# The schema-cache pitfall: the same command twice must behave the same (the second call
# reads what the first cached).
glance_run image-show "$ID"
first="$OUT"
glance_run image-show "$ID"
check "second identical run (schema cache) works" all succeeded '[[ "$OUT" == "$first" ]]' 'lacks "conflicting option string"'

glance_run_no_auth_url image-list
glance_run_no_auth_url image-list
check "second run without --os-auth-url (cached image_schema.json) works" all succeeded 'has "$ID"' 'lacks "conflicting option string"'

glance_run image-show "$ID"
check "image-show (name, status queued, disk/container format)" \
    all succeeded 'field_is id "$ID"' 'field_is name "$NAME"' 'field_is status queued' 'field_is disk_format raw' 'field_is container_format bare'

glance_run image-update "$ID" --property k=v
check "image-update --property k=v" all succeeded 'field_is k v'
glance_run image-show "$ID"
check "image-show shows k=v" all succeeded 'field_is k v'

glance_run image-list --property-filter k=v
check "image-list --property-filter k=v lists the image" all succeeded 'has "$ID"'
glance_run image-list --property-filter k=other
check "image-list --property-filter k=other leaves it out" all succeeded 'lacks "$ID"'

glance_run image-update "$ID" --remove-property k
check "image-update --remove-property k" all succeeded 'lacks "| k "'
glance_run image-show "$ID"
check "image-show no longer shows k" all succeeded 'lacks "| k "'
glance_run image-list --property-filter k=v
check "image-list --property-filter k=v leaves it out after removal" all succeeded 'lacks "$ID"'

# Typed property definitions. The seeded ones only describe (compatible by default): the client
# and the service take what Glance takes, hw_disk_bus=nvme and hw_cpu_cores=0 included.
glance_run image-update "$ID" --property hw_disk_bus=nvme --property hw_cpu_cores=0
check "image-update --property hw_disk_bus=nvme hw_cpu_cores=0 (seeded definitions refuse nothing)" all succeeded \
    'field_is hw_disk_bus nvme' 'field_is hw_cpu_cores 0'
glance_run image-update "$ID" --remove-property hw_disk_bus --remove-property hw_cpu_cores
check "image-update --remove-property hw_disk_bus hw_cpu_cores" all succeeded 'lacks "| hw_disk_bus "' 'lacks "| hw_cpu_cores "'
# An operator's enforced definition is a rule: /v2/schemas/image advertises it as a string property
# (enum, pattern), so the client refuses "many" or an unknown disk bus itself; a value that fits the
# pattern but not the range is refused by the service (400).
define() {
    curl -sf -o /dev/null -X PUT -H 'Content-Type: application/json' "$GLANCE_URL/v2/property-definitions/$1" -d "$2"
}
define e2e_cores '{"type":"integer","minimum":1,"maximum":1024,"enforced":true}'
define e2e_bus '{"type":"string","enum":["scsi","virtio"],"enforced":true}'
glance_run image-update "$ID" --property e2e_cores=4
check "image-update --property e2e_cores=4 (an enforced integer)" all succeeded 'field_is e2e_cores 4'
glance_run image-update "$ID" --property e2e_cores=many
check "image-update --property e2e_cores=many fails" all '[[ $RC -ne 0 ]]' 'has e2e_cores'
glance_run image-update "$ID" --property e2e_cores=0
check "image-update --property e2e_cores=0 fails (400 from the service)" failed_with 400
glance_run image-update "$ID" --property e2e_bus=floppy
check "image-update --property e2e_bus=floppy fails" all '[[ $RC -ne 0 ]]' 'has floppy'
glance_run image-show "$ID"
check "image-show: e2e_cores still 4, no e2e_bus" all succeeded 'field_is e2e_cores 4' 'lacks "| e2e_bus "'
glance_run image-update "$ID" --remove-property e2e_cores
check "image-update --remove-property e2e_cores" all succeeded 'lacks "| e2e_cores "'
curl -sf -o /dev/null -X DELETE "$GLANCE_URL/v2/property-definitions/e2e_cores" || true
curl -sf -o /dev/null -X DELETE "$GLANCE_URL/v2/property-definitions/e2e_bus" || true

glance_run image-tag-update "$ID" t1
check "image-tag-update t1" all succeeded
glance_run image-show "$ID"
check "image-show lists tag t1" all succeeded 'field_is tags "[\"t1\"]"'
glance_run image-list --tag t1
check "image-list --tag t1 lists the image" all succeeded 'has "$ID"'

glance_run image-tag-delete "$ID" t1
check "image-tag-delete t1" all succeeded
glance_run image-show "$ID"
check "image-show no longer lists t1" all succeeded 'field_is tags "[]"'

glance_run image-update "$ID" --visibility private
check "image-update --visibility private" all succeeded 'field_is visibility private'
glance_run member-create "$ID" p2
check "member-create on a private image fails (403)" failed_with 403
glance_run image-update "$ID" --visibility shared
check "image-update --visibility shared" all succeeded 'field_is visibility shared'

glance_run member-create "$ID" p2
check "member-create p2" all succeeded 'has "| p2 "' 'has pending'
glance_run member-create "$ID" p2
check "member-create p2 again fails (409)" failed_with 409

glance_run member-list --image-id "$ID"
check "member-list contains p2 (pending)" all succeeded 'has "$ID"' 'has "| p2 "' 'has pending'

# The default identity owns the image. Glance refuses the owner's acceptance with 403 unless
# the caller is admin (is_member_mutable: admins may set any member's status); either is fine.
glance_run member-update "$ID" p2 accepted
if [[ $RC -eq 0 ]]; then
    check "member-update p2 accepted (accepted: caller is admin)" all 'has "| p2 "' 'has accepted'
    glance_run member-list --image-id "$ID"
    check "member-list shows p2 accepted" all succeeded 'has accepted'
else
    log "member-update refused: the default identity owns the image and Glance refuses owner acceptance (403)"
    check "member-update p2 accepted by the owner is refused (403)" failed_with 403
fi

glance_run member-delete "$ID" p2
check "member-delete p2" all succeeded
glance_run member-list --image-id "$ID"
check "member-list no longer contains p2" all succeeded 'lacks "| p2 "'

glance_run image-deactivate "$ID"
check "image-deactivate of a queued image fails (403)" failed_with 403
glance_run image-reactivate "$ID"
check "image-reactivate of a queued image fails (403)" failed_with 403

glance_run image-update "$ID" --protected True
check "image-update --protected True" all succeeded 'field_is protected True'
glance_run image-delete "$ID"
# (glanceclient turns the 403 into its own message)
check "image-delete of a protected image fails (403)" failed_with "not permitted to delete"
glance_run image-show "$ID"
check "protected image still there" all succeeded 'field_is status queued'

glance_run image-update "$ID" --protected False
check "image-update --protected False" all succeeded 'field_is protected False'
glance_run image-delete "$ID"
check "image-delete" all succeeded
glance_run image-show "$ID"
check "image-show of the deleted image fails (404)" failed_with 404
glance_run image-list
check "image-list no longer contains it" all succeeded 'lacks "$ID"'
glance_run image-delete "$ID"
check "image-delete again fails" all '[[ $RC -ne 0 ]]'

glance_run image-show 00000000-0000-0000-0000-000000000000
check "image-show of an unknown id fails (404)" failed_with 404

# --- image data: upload and download (issue 3) ----------------------------------------------
# glanceclient verifies a download against Content-MD5 and the image's checksum; stdin stays
# closed (glance_run), so a client that waited for data on it would fail here.

DATA_FILE="$TMP/data.bin"
head -c $((3 * 1024 * 1024 + 11)) /dev/urandom >"$DATA_FILE"
DATA_MD5="$(md5sum "$DATA_FILE" | cut -d' ' -f1)"
DATA_SHA512="$(sha512sum "$DATA_FILE" | cut -d' ' -f1)"
DATA_SIZE="$(stat -c %s "$DATA_FILE")"

glance_run image-create --name "$NAME-data" --disk-format raw --container-format bare --file "$DATA_FILE"
DATA_ID="$(field id)"
# (the table wraps the 128-digit os_hash_value: compare its first line)
check "image-create --file (active, checksum = md5sum, size, sha512)" all succeeded 'field_is status active' \
    'field_is checksum "$DATA_MD5"' 'field_is size "$DATA_SIZE"' 'field_is os_hash_algo sha512' 'has "${DATA_SHA512:0:64}"'

rm -f "$TMP/download.bin"
glance_run image-download --file "$TMP/download.bin" "$DATA_ID"
check "image-download --file (identical bytes)" all succeeded 'cmp -s "$DATA_FILE" "$TMP/download.bin"'

rm -f "$TMP/download-progress.bin"
glance_run image-download --progress --file "$TMP/download-progress.bin" "$DATA_ID"
check "image-download --progress (identical bytes)" all succeeded 'cmp -s "$DATA_FILE" "$TMP/download-progress.bin"'

glance_run image-create --name "$NAME-upload" --disk-format raw --container-format bare
UPLOAD_ID="$(field id)"
check "image-create without data (queued)" all succeeded 'field_is status queued'
glance_run image-upload --progress --file "$DATA_FILE" "$UPLOAD_ID"
check "image-upload --progress on a fresh image (stdin closed)" succeeded
glance_run image-show "$UPLOAD_ID"
check "image-show after image-upload (active, checksum = md5sum, size)" \
    all succeeded 'field_is status active' 'field_is checksum "$DATA_MD5"' 'field_is size "$DATA_SIZE"'
rm -f "$TMP/download-upload.bin"
glance_run image-download --progress --file "$TMP/download-upload.bin" "$UPLOAD_ID"
check "image-download --progress of the uploaded image (identical bytes)" all succeeded 'cmp -s "$DATA_FILE" "$TMP/download-upload.bin"'

glance_run image-upload --file "$DATA_FILE" "$UPLOAD_ID"
check "image-upload to an active image fails (409)" failed_with 409

# The image cache (Glance's cache API, 2.14+), when this script started the service with the
# image-cache extension on; the download above filled it. glanceclient prints refusals but exits 0.
if [[ -n "$SERVER_PID" ]]; then
    cached_soon() { for _ in $(seq 40); do glance_run cache-list; has "$UPLOAD_ID" && return 0; sleep 0.25; done; return 1; }
    cached_soon
    check "cache-list shows the downloaded image as cached" all succeeded 'has "$UPLOAD_ID | cached "'
    glance_run cache-delete "$UPLOAD_ID"
    check "cache-delete" all succeeded 'lacks Unable' 'lacks "not permitted"'
    glance_run cache-list
    check "cache-list no longer shows the deleted entry" all succeeded 'lacks "$UPLOAD_ID"'
    glance_run cache-queue "$UPLOAD_ID"
    check "cache-queue" all succeeded 'lacks Unable' 'lacks "not permitted"'
    check "cache-list shows the queued image cached" cached_soon
    glance_run cache-queue "$(uuidgen 2>/dev/null || echo 00000000-0000-4000-8000-000000000000)"
    check "cache-queue of an unknown image is refused (404)" all 'has Unable' 'has 404'
    glance_run cache-clear --target queue
    check "cache-clear --target queue leaves the cache" all succeeded 'lacks Unable'
    glance_run cache-list
    check "cache-list still shows the cached image" has "$UPLOAD_ID"
    glance_run cache-clear
    check "cache-clear" all succeeded 'lacks Unable'
    glance_run cache-list
    check "cache-list is empty after cache-clear" all succeeded 'lacks "$UPLOAD_ID"'
fi

glance_run image-delete "$DATA_ID"
check "image-delete of an image with data" succeeded
glance_run image-download --file "$TMP/deleted.bin" "$DATA_ID"
check "image-download of the deleted image fails (404)" failed_with 404
glance_run image-delete "$UPLOAD_ID"
check "image-delete of the uploaded image" succeeded

# --- interoperable import: stage + glance-direct, tasks, discovery (issue 3) -------------------
# An import is asynchronous: poll the image (bounded) until it leaves importing. No task-list
# (Glance's tasks API is admin-only): the image's own tasks come from image-tasks.

# wait_for_status ID STATUS: image-show until STATUS (at most 60 s); OUT is the last image-show.
wait_for_status() {
    local i
    for i in $(seq 120); do
        glance_run image-show "$1"
        [[ $RC -eq 0 && "$(field status)" == "$2" ]] && return 0
        sleep 0.5
    done
    return 1
}

IMPORT_FILE="$TMP/import.bin"
head -c $((1024 * 1024 + 7)) /dev/urandom >"$IMPORT_FILE"
IMPORT_MD5="$(md5sum "$IMPORT_FILE" | cut -d' ' -f1)"
IMPORT_SIZE="$(stat -c %s "$IMPORT_FILE")"

# (the table wraps long values: compare with spaces, borders and line breaks removed)
unwrapped() { tr -d ' |\n' <<<"$OUT"; }
IMPORT_METHODS='"value":["glance-direct","web-download"]'
glance_run import-info
check "import-info lists glance-direct and web-download" \
    all succeeded '[[ "$(unwrapped)" == *"$IMPORT_METHODS"* ]]'
glance_run stores-info
check "stores-info: one store, as a Glance without enabled_backends" all 'failed_with "Multi Backend support is not enabled"'

glance_run image-create-via-import --name "$NAME-import" --disk-format raw --container-format bare \
    --import-method glance-direct --file "$IMPORT_FILE"
IMPORT_ID="$(field id)"
check "image-create-via-import --import-method glance-direct --file (stdin closed)" \
    all succeeded '[[ "$IMPORT_ID" =~ ^[0-9a-f-]{36}$ ]]' 'field_is size "$IMPORT_SIZE"'
if wait_for_status "$IMPORT_ID" active; then
    check "imported image becomes active with checksum = md5sum of the file" \
        all 'field_is checksum "$IMPORT_MD5"' 'field_is size "$IMPORT_SIZE"' 'field_is os_glance_failed_import ""' \
        'lacks os_glance_import_task'
else
    fail "imported image becomes active with checksum = md5sum of the file" "still $(field status) after 60 s"
fi
rm -f "$TMP/import-download.bin"
glance_run image-download --file "$TMP/import-download.bin" "$IMPORT_ID"
check "image-download of the imported image (identical bytes)" all succeeded 'cmp -s "$IMPORT_FILE" "$TMP/import-download.bin"'
glance_run image-tasks "$IMPORT_ID"
check "image-tasks shows the import task (success)" all succeeded 'has success'
glance_run --verbose image-tasks "$IMPORT_ID"
check "image-tasks --verbose shows the request id and the glance-direct input" all succeeded 'has "req-"' 'has glance-direct'
IMPORT_TASK="$(grep -o '[0-9a-f]\{8\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{12\}' <<<"$OUT" | grep -v "$IMPORT_ID" | head -1)"

# The same in steps: image-stage, then image-import.
glance_run image-create --name "$NAME-staged" --disk-format raw --container-format bare
STAGED_ID="$(field id)"
glance_run image-stage --file "$IMPORT_FILE" "$STAGED_ID"
check "image-stage --file" succeeded
glance_run image-show "$STAGED_ID"
check "image-show after image-stage (uploading, size set)" all succeeded 'field_is status uploading' 'field_is size "$IMPORT_SIZE"'
glance_run image-stage --file "$IMPORT_FILE" "$STAGED_ID"
check "image-stage a second time fails (409)" failed_with 409
glance_run image-import --import-method glance-direct "$STAGED_ID"
check "image-import --import-method glance-direct" succeeded
if wait_for_status "$STAGED_ID" active; then
    check "staged image becomes active with checksum = md5sum of the file" all 'field_is checksum "$IMPORT_MD5"'
else
    fail "staged image becomes active with checksum = md5sum of the file" "still $(field status) after 60 s"
fi

# web-download: the default filter lets no loopback address (nor port 1) through.
glance_run image-create --name "$NAME-web" --disk-format raw --container-format bare
WEB_ID="$(field id)"
glance_run image-import --import-method web-download --uri http://127.0.0.1:1/x "$WEB_ID"
check "image-import web-download of a URI that does not pass filtering fails (400)" failed_with 400
glance_run image-show "$WEB_ID"
check "image stays queued after the refused web-download" all succeeded 'field_is status queued'

for id in "$IMPORT_ID" "$STAGED_ID" "$WEB_ID"; do
    glance_run image-delete "$id"
    check "image-delete of import image $id" succeeded
done

# --- the tasks API (issue 9, item 3) --------------------------------------------------------
# Admin only by default (Zed's tasks_api_access): the default identity is an admin. A legacy import
# task creates an image and downloads import_from into it; one whose download fails (a file the web
# server does not have; without it, loopback port 80, refused when connecting but not when created)
# fails, and its image is deleted.

# wait_for_task ID: task-show until it is finished (at most 60 s); OUT is the last task-show.
wait_for_task() {
    local i
    for i in $(seq 120); do
        glance_run task-show "$1"
        [[ $RC -eq 0 && "$(field status)" =~ ^(success|failure)$ ]] && return 0
        sleep 0.5
    done
    return 1
}

if [[ -n "$WEB_PORT" ]]; then UNREACHABLE="http://127.0.0.1:$WEB_PORT/missing.raw"; else UNREACHABLE="http://127.0.0.1/e2e-unreachable"; fi
glance_run task-create --type import --input '{"import_from": "'"$UNREACHABLE"'", "import_from_format": "raw", "image_properties": {"name": "'"$NAME-task-failing"'", "disk_format": "raw", "container_format": "bare"}}'
FAILING_TASK="$(field id)"
check "task-create --type import (201, pending)" all succeeded '[[ "$FAILING_TASK" =~ ^[0-9a-f-]{36}$ ]]' 'field_is status pending' 'field_is type import'
if wait_for_task "$FAILING_TASK"; then
    check "task-show: the unreachable import fails (message, expires_at)" all 'field_is status failure' '[[ -n "$(field message)" ]]' '[[ -n "$(field expires_at)" ]]'
else
    fail "task-show: the unreachable import fails (message, expires_at)" "still $(field status) after 60 s"
fi
glance_run image-list
check "the failed task's image is gone" all succeeded 'lacks "$NAME-task-failing"'
glance_run task-create --type import --input '{"import_from": "ftp://example.com/x", "import_from_format": "raw", "image_properties": {}}'
check "task-create of an ftp URI fails (400)" failed_with 400
glance_run task-create --type copy --input '{}'
check "task-create --type copy fails" all '[[ $RC -ne 0 ]]'

if [[ -n "$WEB_PORT" ]]; then
    cp "$IMPORT_FILE" "$TMP/www/task.raw"
    glance_run task-create --type import --input '{"import_from": "http://127.0.0.1:'"$WEB_PORT"'/task.raw", "import_from_format": "raw", "image_properties": {"name": "'"$NAME-task"'", "disk_format": "raw", "container_format": "bare"}}'
    TASK_ID="$(field id)"
    check "task-create --type import from the web server" all succeeded '[[ "$TASK_ID" =~ ^[0-9a-f-]{36}$ ]]'
    TASK_IMAGE=""
    if wait_for_task "$TASK_ID"; then
        TASK_IMAGE="$(field result | sed -n 's/.*"image_id": "\([0-9a-f-]*\)".*/\1/p')"
        check "task-show: the import succeeds with the image in its result" all 'field_is status success' '[[ "$TASK_IMAGE" =~ ^[0-9a-f-]{36}$ ]]'
    else
        fail "task-show: the import succeeds with the image in its result" "still $(field status) after 60 s"
    fi
    glance_run image-show "$TASK_IMAGE"
    check "the task's image is active with checksum = md5sum of the file" all succeeded 'field_is status active' \
        'field_is checksum "$IMPORT_MD5"' 'field_is name "$NAME-task"'
    rm -f "$TMP/task-download.bin"
    glance_run image-download --file "$TMP/task-download.bin" "$TASK_IMAGE"
    check "image-download of the task's image (md5 = md5sum of the file)" all succeeded \
        '[[ "$(md5sum "$TMP/task-download.bin" | cut -d" " -f1)" == "$IMPORT_MD5" ]]'
    glance_run image-delete "$TASK_IMAGE"
    check "image-delete of the task's image" succeeded
else
    log "GLANCE_URL was already up: the successful legacy import (it needs a web server the service may reach) is skipped"
fi

glance_run task-list
check "task-list lists the tasks" all succeeded 'has "$FAILING_TASK"' 'has "| import "'
glance_run task-list --status failure --page-size 1
check "task-list --status failure --page-size 1 (pages followed)" all succeeded 'has "$FAILING_TASK"' 'lacks "| success "'
glance_run task-list --type import --sort-key status --sort-dir asc
check "task-list --type import --sort-key status --sort-dir asc" all succeeded 'has "$FAILING_TASK"'
glance_run task-show 00000000-0000-0000-0000-000000000000
check "task-show of an unknown id fails (404)" failed_with 404
# The image import task that image-tasks listed is the tasks API's too (and outlives its image, as in Glance).
glance_run task-show "$IMPORT_TASK"
check "task-show of the glance-direct import's task (api_image_import, success)" all succeeded \
    'field_is type api_image_import' 'field_is status success' 'field_is image_id "$IMPORT_ID"'

# --- metadata definitions: glance md-* (issue 9, item 3) -------------------------------------
NS="E2E::Namespace::$(date +%s%N)"
glance_run md-namespace-create "$NS" --visibility public --display-name "E2E namespace"
check "md-namespace-create" all succeeded 'field_is namespace "$NS"' 'field_is visibility public'
glance_run md-namespace-list
check "md-namespace-list lists it and the seeded namespaces" all succeeded 'has "$NS"' 'has "OS::Compute::"'
glance_run md-property-create --name e2e_speed --title Speed --schema '{"type": "integer", "minimum": 1}' "$NS"
check "md-property-create" all succeeded 'has e2e_speed'
glance_run md-property-list "$NS"
check "md-property-list" all succeeded 'has e2e_speed'
glance_run md-object-create --name box --schema '{"properties": {"size": {"type": "string", "title": "Size"}}}' "$NS"
check "md-object-create" all succeeded 'has box'
glance_run md-object-list "$NS"
check "md-object-list" all succeeded 'has box'
glance_run md-tag-create --name e2e-tag "$NS"
check "md-tag-create" all succeeded 'has e2e-tag'
glance_run md-tag-list "$NS"
check "md-tag-list" all succeeded 'has e2e-tag'
glance_run md-resource-type-associate --name OS::Nova::Flavor "$NS"
check "md-resource-type-associate" all succeeded 'has "OS::Nova::Flavor"'
glance_run md-namespace-resource-type-list "$NS"
check "md-namespace-resource-type-list" all succeeded 'has "OS::Nova::Flavor"'
glance_run md-resource-type-list
check "md-resource-type-list lists OS::Glance::Image" all succeeded 'has "OS::Glance::Image"'
glance_run md-namespace-show "$NS"
check "md-namespace-show" all succeeded 'field_is namespace "$NS"' 'has e2e_speed'
glance_run md-namespace-delete "$NS"
check "md-namespace-delete" all succeeded
glance_run md-namespace-show "$NS"
check "md-namespace-show after delete fails (404)" failed_with 404

# --- the openstack CLI and openstacksdk ---------------------------------------------------
# The unmodified openstack CLI (Debian's python3-openstackclient 6.0, which drives openstacksdk
# 0.101) against the same service, without Keystone: auth type "none" with the endpoint given,
# so every call runs as the default identity. Sharing with another project (`image add project`)
# needs Keystone to look the project up, so it is not here.

os_run() {
    set +e
    # Stdin from /dev/null: the openstack CLI fails on a closed one (it asks it isatty()).
    OUT="$(HOME="$GC_HOME" openstack --os-auth-type none --os-endpoint "$GLANCE_URL" "$@" 2>&1 </dev/null)"
    RC=$?
    set -e
}

# A field of the last `-f json` output (a dict); nested properties by dotted name.
json_field() {
    /usr/bin/python3 -c 'import json, sys
value = json.loads(sys.argv[1])
for key in sys.argv[2].split("."):
    value = value.get(key) if isinstance(value, dict) else None
print("" if value is None else (",".join(value) if isinstance(value, list) else value))' "$OUT" "$1" 2>/dev/null || true
}
json_is() { [[ "$(json_field "$1")" == "$2" ]]; }

if command -v openstack >/dev/null 2>&1; then
    log "$(openstack --version 2>&1) against $GLANCE_URL"
    os_run image create --disk-format qcow2 --container-format bare --property os_distro=talos "$NAME-osc" -f json
    OSC_ID="$(json_field id)"
    check "openstack image create (queued; os_distro=talos accepted)" all succeeded 'json_is status queued' \
        'json_is properties.os_distro talos'
    os_run image create --disk-format raw --container-format bare --file "$DATA_FILE" "$NAME-osc-data" -f json
    OSC_DATA_ID="$(json_field id)"
    os_run image show "$OSC_DATA_ID" -f json
    check "openstack image create --file (active, checksum = md5sum, size)" all succeeded 'json_is status active' \
        'json_is checksum "$DATA_MD5"' 'json_is size "$(stat -c %s "$DATA_FILE")"'
    os_run image list -f value -c ID
    check "openstack image list contains both" all succeeded 'has "$OSC_ID"' 'has "$OSC_DATA_ID"'
    os_run image list --property os_distro=talos -f value -c ID
    check "openstack image list --property os_distro=talos" all succeeded 'has "$OSC_ID"' 'lacks "$OSC_DATA_ID"'
    os_run image set --name "$NAME-osc-renamed" --property k=v --tag t1 --min-ram 256 "$OSC_ID"
    check "openstack image set --name --property --tag --min-ram" succeeded
    os_run image show "$OSC_ID" -f json
    check "openstack image show after set" all succeeded 'json_is name "$NAME-osc-renamed"' 'json_is properties.k v' \
        'json_is tags t1' 'json_is min_ram 256'
    os_run image unset --property k --tag t1 "$OSC_ID"
    os_run image show "$OSC_ID" -f json
    check "openstack image unset --property --tag" all succeeded '[[ -z "$(json_field properties.k)" ]]' '[[ -z "$(json_field tags)" ]]'
    os_run image save --file "$TMP/osc-saved" "$OSC_DATA_ID"
    check "openstack image save (md5 of the download = md5sum of the file)" all succeeded \
        '[[ "$(md5sum "$TMP/osc-saved" | cut -d" " -f1)" == "$DATA_MD5" ]]'
    os_run image set --deactivate "$OSC_DATA_ID"
    os_run image show "$OSC_DATA_ID" -f json
    check "openstack image set --deactivate" all succeeded 'json_is status deactivated'
    os_run image set --activate "$OSC_DATA_ID"
    os_run image show "$OSC_DATA_ID" -f json
    check "openstack image set --activate" all succeeded 'json_is status active'

    # openstacksdk itself, as a program uses it: list, create with data, show, download, delete.
    set +e
    OUT="$(HOME="$GC_HOME" /usr/bin/python3 - "$GLANCE_URL" "$DATA_FILE" "$NAME-sdk" 2>&1 <<'PY'
import hashlib, sys
import openstack
url, path, name = sys.argv[1:4]
conn = openstack.connect(auth_type="none", auth={"endpoint": url}, image_api_version="2")
data = open(path, "rb").read()
image = conn.image.create_image(name=name, disk_format="raw", container_format="bare", data=data, wait=True)
shown = conn.image.get_image(image.id)
print("status", shown.status)
print("checksum-ok", shown.checksum == hashlib.md5(data).hexdigest())
print("listed", any(i.id == image.id for i in conn.image.images()))
downloaded = conn.image.download_image(shown)
downloaded = getattr(downloaded, "content", downloaded)  # 0.101 returns the HTTP response
print("download-ok", hashlib.md5(downloaded).hexdigest() == hashlib.md5(data).hexdigest())
conn.image.delete_image(image.id)
print("deleted", conn.image.find_image(image.id) is None)
PY
)"
    RC=$?
    set -e
    check "openstacksdk: create with data, get, list, download (md5), delete" all succeeded 'has "status active"' \
        'has "checksum-ok True"' 'has "listed True"' 'has "download-ok True"' 'has "deleted True"'

    # openstacksdk's tasks (the default identity is an admin): list, filter, get; a legacy import
    # created and waited for when the service may reach the script's web server.
    set +e
    OUT="$(HOME="$GC_HOME" /usr/bin/python3 - "$GLANCE_URL" "$FAILING_TASK" "$IMPORT_TASK" "$WEB_PORT" "$IMPORT_MD5" "$NAME-sdk-task" 2>&1 <<'PY'
import hashlib, sys
import openstack
url, failing, imported, web_port, md5, name = sys.argv[1:7]
conn = openstack.connect(auth_type="none", auth={"endpoint": url}, image_api_version="2")
ids = [t.id for t in conn.image.tasks()]
print("listed", failing in ids and imported in ids)
print("filtered", failing in [t.id for t in conn.image.tasks(status="failure")] and imported not in [t.id for t in conn.image.tasks(status="failure")])
task = conn.image.get_task(failing)
print("got", task.status, task.type, bool(task.message), task.expires_at is not None)
print("got-import", conn.image.get_task(imported).result.get("image_id") is not None)
if web_port:
    created = conn.image.create_task(type="import", input={"import_from": f"http://127.0.0.1:{web_port}/task.raw", "import_from_format": "raw",
        "image_properties": {"name": name, "disk_format": "raw", "container_format": "bare"}})
    done = conn.image.wait_for_task(created, status="success", failures=["failure"], wait=60)
    image = conn.image.get_image(done.result["image_id"])
    data = conn.image.download_image(image)
    data = getattr(data, "content", data)
    print("created", done.status, image.status, hashlib.md5(data).hexdigest() == md5 == image.checksum)
    conn.image.delete_image(image.id)
else:
    print("created skipped")
PY
)"
    RC=$?
    set -e
    if [[ -n "$WEB_PORT" ]]; then created_ok='has "created success active True"'; else created_ok='has "created skipped"'; fi
    check "openstacksdk: tasks(), tasks(status=), get_task, create_task + wait_for_task (md5 of the image)" all succeeded \
        'has "listed True"' 'has "filtered True"' 'has "got failure import True True"' 'has "got-import True"' "$created_ok"

    for id in "$OSC_ID" "$OSC_DATA_ID"; do
        os_run image delete "$id"
        check "openstack image delete $id" succeeded
    done
    os_run image show "$OSC_ID"
    check "openstack image show of a deleted image fails" all '[[ $RC -ne 0 ]]'
else
    fail "openstack CLI (python3-openstackclient) is installed"
fi

echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
