#!/usr/bin/env bash
# A real Keystone (Debian's keystone package, Zed) on loopback for tests and local use: SQLite,
# fernet tokens, uwsgi. Used by the Keystone xunit tests (their fixture runs `up`),
# scripts/keystone-e2e.sh and test.sh; general enough to put Tempest behind it.
#
#   scripts/keystone.sh install        install the Debian packages if missing (no service started)
#   scripts/keystone.sh up [IMAGE_URL] install, configure, bootstrap, start, create the test
#                                      projects and users; with IMAGE_URL (or KEYSTONE_IMAGE_URL)
#                                      also register the `image` service's endpoints there
#   scripts/keystone.sh env            print the settings of a running Keystone (as `up` does)
#   scripts/keystone.sh down           stop the uwsgi this script started (by its pid file)
#
# Environment:
#   KEYSTONE_PORT            port on 127.0.0.1 (default 5050; not 5000, which another tool here uses)
#   KEYSTONE_STATE           state directory: keystone.conf, keystone.sqlite, keys, log/, uwsgi.pid,
#                            env (default: .keystone in the repository)
#   KEYSTONE_ADMIN_PASSWORD  the bootstrap admin's password (default admin)
#   KEYSTONE_SERVICE_USER / KEYSTONE_SERVICE_PASSWORD
#                            the image service's own user, admin on project `service` (glance / glance)
#   KEYSTONE_MEMBER_PASSWORD password of the member users (default member)
#   KEYSTONE_IMAGE_URL       image endpoint to register (public, internal, admin) in KEYSTONE_REGION
#   KEYSTONE_REGION          region (default RegionOne)
#   KEYSTONE_RESET=1         wipe the state directory first (Keystone must be down)
#
# `up` and `env` print `export KEY=VALUE` lines on stdout (everything else goes to stderr), so
# `eval "$(scripts/keystone.sh up)"` sets them; they are also written to $KEYSTONE_STATE/env.
# KEYSTONE_URL (the v3 endpoint), KEYSTONE_ADMIN_*, KEYSTONE_SERVICE_*, and for the member
# projects A and B: KEYSTONE_PROJECT_A(_ID), KEYSTONE_USER_A(_ID), KEYSTONE_PASSWORD_A (same for
# B). `up` also prints KEYSTONE_STARTED=1 when it started Keystone (0 when it was running).
# Idempotent: a second `up` reuses what exists. Everything binds 127.0.0.1; this is a test
# Keystone with well-known passwords, not a production one.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Debian's OpenStack Python lives in /usr/bin/python3; a pyenv shim may shadow python3 on PATH.
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
PY=/usr/bin/python3

KS_HOST=127.0.0.1
KS_PORT="${KEYSTONE_PORT:-5050}"
KS_STATE="${KEYSTONE_STATE:-$REPO/.keystone}"
KS_URL="http://$KS_HOST:$KS_PORT"
KS_REGION="${KEYSTONE_REGION:-RegionOne}"
ADMIN_PASSWORD="${KEYSTONE_ADMIN_PASSWORD:-admin}"
SERVICE_USER="${KEYSTONE_SERVICE_USER:-glance}"
SERVICE_PASSWORD="${KEYSTONE_SERVICE_PASSWORD:-glance}"
MEMBER_PASSWORD="${KEYSTONE_MEMBER_PASSWORD:-member}"
CONF="$KS_STATE/keystone.conf"
PIDFILE="$KS_STATE/uwsgi.pid"
PACKAGES=(keystone python3-keystone python3-keystoneclient python3-openstackclient uwsgi-core uwsgi-plugin-python3 curl)

log() { echo "[keystone.sh] $*" >&2; }

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# install: the missing packages, without letting their maintainer scripts start a service
# (policy-rc.d exits 101) or ask questions. Another worker may hold dpkg's lock: wait for it
# (apt's own lock timeout), and retry a few times on top.
install() {
    local need=() p made_policy=0 attempt aptlog="$KS_STATE/log/apt.log"
    for p in "${PACKAGES[@]}"; do installed "$p" || need+=("$p"); done
    [[ ${#need[@]} -eq 0 ]] && return 0
    mkdir -p "$KS_STATE/log"
    log "installing ${need[*]} (log: $aptlog)"
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
        as_root chmod +x /usr/sbin/policy-rc.d
        made_policy=1
    fi
    # keystone's debconf questions (all default to false; say so): no dbconfig database, no
    # admin tenant, no endpoint registration.
    printf '%s\n' 'keystone keystone/configure_db boolean false' \
        'keystone keystone/create-admin-tenant boolean false' \
        'keystone keystone/register-endpoint boolean false' | as_root debconf-set-selections
    local apt=(env DEBIAN_FRONTEND=noninteractive nice -n 19 apt-get -o DPkg::Lock::Timeout=300 -y -q)
    local ok=0
    for attempt in 1 2 3 4 5; do
        if as_root "${apt[@]}" install --no-install-recommends "${need[@]}" >"$aptlog" 2>&1; then ok=1; break; fi
        log "apt-get install failed (attempt $attempt; another install running, or stale lists): retrying"
        as_root "${apt[@]}" update >>"$aptlog" 2>&1 || true
        sleep $((attempt * 5))
    done
    [[ $made_policy -eq 1 ]] && as_root rm -f /usr/sbin/policy-rc.d
    if [[ $ok -ne 1 ]]; then tail -20 "$aptlog" >&2; return 1; fi
    # The package registers an init script (and a systemd unit): keep the system Keystone off.
    as_root update-rc.d keystone disable >/dev/null 2>&1 || true
    if [[ -d /run/systemd/system ]]; then as_root systemctl disable --now keystone.service >/dev/null 2>&1 || true; fi
}

running() { [[ -s "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

answers() { curl -s -m 3 -o /dev/null "$KS_URL/v3"; }

port_busy() { ss -Hltn "sport = :$KS_PORT" 2>/dev/null | grep -q .; }

admin_env() {
    export OS_AUTH_URL="$KS_URL/v3" OS_IDENTITY_API_VERSION=3 OS_USERNAME=admin OS_PASSWORD="$ADMIN_PASSWORD" \
        OS_PROJECT_NAME=admin OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_REGION_NAME="$KS_REGION"
}

configure() {
    mkdir -p "$KS_STATE"/{log,fernet-keys,credential-keys}
    [[ -s "$KS_STATE/.bootstrapped" ]] && return 0
    cat >"$CONF" <<CONF
# written by scripts/keystone.sh
[DEFAULT]
log_dir = $KS_STATE/log
log_file = keystone.log
debug = false

[database]
connection = sqlite:///$KS_STATE/keystone.sqlite

[token]
provider = fernet
expiration = 14400

[fernet_tokens]
key_repository = $KS_STATE/fernet-keys
max_active_keys = 3

[fernet_receipts]
key_repository = $KS_STATE/fernet-keys

[credential]
key_repository = $KS_STATE/credential-keys

[identity]
# bcrypt's default 12 rounds cost ~0.3 s per password check on a small machine, and tests
# (Tempest most) create and authenticate many users.
password_hash_algorithm = bcrypt
password_hash_rounds = 4

[cache]
# No cache: a revocation takes effect at once.
enabled = false

[oslo_policy]
# Zed's defaults (legacy rules; new defaults and scope checks off).
enforce_new_defaults = false
enforce_scope = false
CONF
    local km=(keystone-manage --config-file "$CONF") mlog="$KS_STATE/log/manage.log"
    log "db_sync, fernet_setup, credential_setup, bootstrap (state: $KS_STATE)"
    nice -n 19 "${km[@]}" db_sync >>"$mlog" 2>&1 || { tail -20 "$mlog" >&2; return 1; }
    local user group
    user="$(id -un)" group="$(id -gn)"
    "${km[@]}" fernet_setup --keystone-user "$user" --keystone-group "$group" >>"$mlog" 2>&1
    "${km[@]}" credential_setup --keystone-user "$user" --keystone-group "$group" >>"$mlog" 2>&1
    nice -n 19 "${km[@]}" bootstrap --bootstrap-password "$ADMIN_PASSWORD" \
        --bootstrap-username admin --bootstrap-project-name admin --bootstrap-role-name admin \
        --bootstrap-service-name keystone --bootstrap-region-id "$KS_REGION" \
        --bootstrap-admin-url "$KS_URL/v3" --bootstrap-public-url "$KS_URL/v3" \
        --bootstrap-internal-url "$KS_URL/v3" >>"$mlog" 2>&1 || { tail -20 "$mlog" >&2; return 1; }
    # WAL journal (kept in the database file; set before uwsgi opens it): some Keystone request
    # paths keep a read transaction open until garbage collection, and in the default journal
    # mode that blocks the other worker's commits ("database is locked" -> 500).
    "$PY" -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("PRAGMA journal_mode=WAL"); c.close()' \
        "$KS_STATE/keystone.sqlite"
    date -u +%FT%TZ >"$KS_STATE/.bootstrapped"
}

STARTED=0
start() {
    if running && answers; then
        log "running (pid $(cat "$PIDFILE")) at $KS_URL"
        return 0
    fi
    rm -f "$PIDFILE"
    if port_busy; then
        # Another Keystone (e.g. from another checkout's state) may serve this port: use it if
        # our admin can log in there, otherwise refuse.
        if answers && admin_env && openstack token issue -f value -c id >/dev/null 2>&1; then
            log "port $KS_PORT is served by a Keystone this script did not start (admin login works): using it"
            return 0
        fi
        log "ERROR: port $KS_PORT is taken by something else (set KEYSTONE_PORT):"
        ss -ltnp "sport = :$KS_PORT" >&2 || true
        return 1
    fi
    log "starting uwsgi keystone-wsgi-public on $KS_HOST:$KS_PORT (logs: $KS_STATE/log/)"
    # Two single-threaded worker processes loading the app themselves (lazy-apps): on SQLite,
    # threaded workers fail ("SQLite objects created in a thread can only be used in that same
    # thread"). "Connection: close": uwsgi's --http-socket does no keep-alive yet answers
    # HTTP/1.1 with a Content-Length, so Python clients reuse the connection and the next
    # request fails with ECONNRESET. setsid and /dev/null: the server outlives this script and
    # holds none of its caller's pipes (a test runner reading our output must see EOF).
    OS_KEYSTONE_CONFIG_FILES="$CONF" setsid uwsgi --plugin python3 \
        --http-socket "$KS_HOST:$KS_PORT" --wsgi-file /usr/bin/keystone-wsgi-public \
        --master --processes 2 --threads 1 --lazy-apps --die-on-term --no-orphans \
        --buffer-size 65535 --need-app --add-header "Connection: close" --pidfile "$PIDFILE" \
        --procname-prefix-spaced "keystone-$KS_PORT" --logto "$KS_STATE/log/uwsgi.log" </dev/null >/dev/null 2>&1 &
    local i
    for i in $(seq 240); do
        answers && { STARTED=1; log "up: pid $(cat "$PIDFILE" 2>/dev/null) $KS_URL"; return 0; }
        if [[ $i -gt 20 ]] && ! running; then break; fi
        sleep 0.5
    done
    log "ERROR: Keystone did not come up"
    tail -30 "$KS_STATE/log/uwsgi.log" "$KS_STATE/log/keystone.log" >&2 2>/dev/null || true
    return 1
}

# The service project and user, the member projects and users, and the image endpoints; prints
# the environment lines. Idempotent (existing things are reused, passwords reset).
setup() {
    admin_env
    SERVICE_USER="$SERVICE_USER" SERVICE_PASSWORD="$SERVICE_PASSWORD" MEMBER_PASSWORD="$MEMBER_PASSWORD" \
    IMAGE_URL="${1:-}" KS_URL="$KS_URL" ADMIN_PASSWORD="$ADMIN_PASSWORD" "$PY" - <<'PY' >"$KS_STATE/env.new"
import os, shlex, sys
from keystoneauth1 import session
from keystoneauth1.identity import v3
from keystoneclient.v3 import client

env = os.environ
ks = client.Client(session=session.Session(auth=v3.Password(
    auth_url=env["OS_AUTH_URL"], username="admin", password=env["ADMIN_PASSWORD"], project_name="admin",
    user_domain_name="Default", project_domain_name="Default")))
region = env["OS_REGION_NAME"]

def say(*a):
    print("[keystone.sh]", *a, file=sys.stderr)

def one(items, **kw):
    items = [i for i in items if all(getattr(i, k) == v for k, v in kw.items())]
    return items[0] if items else None

roles = {r.name: r for r in ks.roles.list()}
for name in ("admin", "member", "reader"):
    if name not in roles:
        roles[name] = ks.roles.create(name=name)
        say("created role", name)

def project(name, description):
    p = one(ks.projects.list(domain="default"), name=name)
    if not p:
        p = ks.projects.create(name=name, domain="default", description=description)
        say("created project", name)
    return p

def user(name, password, proj, role):
    u = one(ks.users.list(domain="default"), name=name)
    if not u:
        u = ks.users.create(name=name, domain="default", password=password, default_project=proj)
        say("created user", name)
    elif not getattr(u, "enabled", True):
        ks.users.update(u, enabled=True)
    ks.roles.grant(roles[role], user=u, project=proj)
    return u

out = {"KEYSTONE_URL": env["KS_URL"] + "/v3", "KEYSTONE_REGION": region}
admin_project = one(ks.projects.list(domain="default"), name="admin")
admin_user = one(ks.users.list(domain="default"), name="admin")
out.update(KEYSTONE_ADMIN_USER="admin", KEYSTONE_ADMIN_USER_ID=admin_user.id, KEYSTONE_ADMIN_PASSWORD=env["ADMIN_PASSWORD"],
           KEYSTONE_ADMIN_PROJECT="admin", KEYSTONE_ADMIN_PROJECT_ID=admin_project.id)
service = project("service", "service project")
svc_user = user(env["SERVICE_USER"], env["SERVICE_PASSWORD"], service, "admin")
# Only set a password that differs: a change revokes the user's tokens.
try:
    v3.Password(auth_url=env["OS_AUTH_URL"], username=env["SERVICE_USER"], password=env["SERVICE_PASSWORD"],
                project_name="service", user_domain_name="Default", project_domain_name="Default").get_token(session.Session())
except Exception:
    ks.users.update(svc_user, password=env["SERVICE_PASSWORD"])
    say("reset the password of", env["SERVICE_USER"])
out.update(KEYSTONE_SERVICE_USER=env["SERVICE_USER"], KEYSTONE_SERVICE_PASSWORD=env["SERVICE_PASSWORD"],
           KEYSTONE_SERVICE_PROJECT="service", KEYSTONE_SERVICE_PROJECT_ID=service.id)
for letter in ("A", "B"):
    p = project("project-" + letter.lower(), "member project " + letter)
    name = "member-" + letter.lower()
    u = user(name, env["MEMBER_PASSWORD"], p, "member")
    try:
        v3.Password(auth_url=env["OS_AUTH_URL"], username=name, password=env["MEMBER_PASSWORD"], project_id=p.id,
                    user_domain_name="Default").get_token(session.Session())
    except Exception:
        ks.users.update(u, password=env["MEMBER_PASSWORD"])
        say("reset the password of", name)
    out.update({f"KEYSTONE_PROJECT_{letter}": p.name, f"KEYSTONE_PROJECT_{letter}_ID": p.id,
                f"KEYSTONE_USER_{letter}": name, f"KEYSTONE_USER_{letter}_ID": u.id,
                f"KEYSTONE_PASSWORD_{letter}": env["MEMBER_PASSWORD"]})

url = env.get("IMAGE_URL")
if url:
    svc = one(ks.services.list(type="image"))
    if not svc:
        svc = ks.services.create(name="glance", type="image", description="OpenStack Image")
        say("created service glance (image)")
    endpoints = ks.endpoints.list(service=svc)
    for interface in ("public", "internal", "admin"):
        mine = [e for e in endpoints if e.interface == interface]
        for extra in mine[1:]:
            ks.endpoints.delete(extra)
        if not mine:
            ks.endpoints.create(service=svc, url=url, interface=interface, region=region)
        elif mine[0].url != url or mine[0].region != region:
            ks.endpoints.update(mine[0], url=url, region=region)
    say("image endpoint:", url)
    out["KEYSTONE_IMAGE_URL"] = url

for key, value in out.items():
    print(f"export {key}={shlex.quote(value)}")
PY
    mv "$KS_STATE/env.new" "$KS_STATE/env"
    cat "$KS_STATE/env"
}

case "${1:-}" in
    install)
        install
        ;;
    up)
        install
        if [[ "${KEYSTONE_RESET:-0}" == 1 ]]; then
            running && { log "KEYSTONE_RESET=1 but Keystone is running: run '$0 down' first"; exit 1; }
            case "$KS_STATE" in / | /tmp | /var | /root | "$HOME" | "") log "refusing to wipe $KS_STATE"; exit 1 ;; esac
            rm -rf "$KS_STATE"
        fi
        configure
        start
        setup "${2:-${KEYSTONE_IMAGE_URL:-}}"
        echo "export KEYSTONE_STARTED=$STARTED"
        ;;
    env)
        answers || { log "no Keystone answers at $KS_URL (run '$0 up')"; exit 1; }
        setup "${2:-${KEYSTONE_IMAGE_URL:-}}"
        ;;
    down)
        if [[ ! -s "$PIDFILE" ]]; then log "not running (no $PIDFILE)"; exit 0; fi
        pid="$(cat "$PIDFILE")"
        if ! kill -0 "$pid" 2>/dev/null; then log "not running (stale pid $pid)"; rm -f "$PIDFILE"; exit 0; fi
        if ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "uwsgi\|keystone-$KS_PORT"; then
            log "pid $pid is not this Keystone's uwsgi: removing the stale pid file"; rm -f "$PIDFILE"; exit 0
        fi
        log "stopping uwsgi pid $pid"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        if kill -0 "$pid" 2>/dev/null; then log "still running: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
        rm -f "$PIDFILE"
        ;;
    *)
        sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
