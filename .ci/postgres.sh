# shellcheck shell=bash
# Sourced by .ci/run before `make test`: makes a PostgreSQL server available on 127.0.0.1
# and exports AGENTCORE_TEST_POSTGRES_DSN for the tests.
#
# It never fails the build and never waits without a bound: every step has a timeout, and
# when no server can be had (no apt, no network, no root) it says why and carries on; the
# PostgreSQL tests then start a throwaway cluster of their own or skip with the reason.
# An AGENTCORE_TEST_POSTGRES_DSN already set (a CI service container) is left as it is.

_agentcore_pg_note() {
    echo "postgres.sh: $*" >&2
}

_agentcore_pg_as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        sudo -n -u postgres -- "$@"
    fi
}

_agentcore_pg_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    else
        sudo -n -- "$@"
    fi
}

# Prints the DSN on stdout when a server is ready; everything else goes to stderr.
_agentcore_pg_setup() {
    set +e +u +o pipefail
    export DEBIAN_FRONTEND=noninteractive
    if [ "$(id -u)" != 0 ] && ! sudo -n true 2>/dev/null; then
        _agentcore_pg_note "not root and no password-less sudo; cannot install or start PostgreSQL"
        return 1
    fi
    if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
        if ! command -v apt-get >/dev/null 2>&1; then
            _agentcore_pg_note "PostgreSQL is not installed and apt-get is not available"
            return 1
        fi
        _agentcore_pg_note "installing PostgreSQL from the Debian packages"
        _agentcore_pg_root timeout 240 apt-get -o DPkg::Lock::Timeout=60 -qq update >&2 \
            || { _agentcore_pg_note "apt-get update failed or timed out"; return 1; }
        _agentcore_pg_root timeout 600 apt-get -o DPkg::Lock::Timeout=60 -y -qq \
            install --no-install-recommends postgresql >&2 \
            || { _agentcore_pg_note "apt-get install postgresql failed or timed out"; return 1; }
    fi
    if ! command -v pg_lsclusters >/dev/null 2>&1; then
        _agentcore_pg_note "pg_lsclusters not found (not Debian's postgresql-common)"
        return 1
    fi
    local version name port status
    read -r version name port status _ < <(pg_lsclusters -h 2>/dev/null | head -n 1)
    if [ -z "$version" ]; then
        version="$(basename "$(ls -d /usr/lib/postgresql/*/ | sort -V | tail -n 1)")"
        _agentcore_pg_note "creating cluster $version/main"
        _agentcore_pg_root timeout 120 pg_createcluster "$version" main >&2 \
            || { _agentcore_pg_note "pg_createcluster failed"; return 1; }
        read -r version name port status _ < <(pg_lsclusters -h 2>/dev/null | head -n 1)
    fi
    if [ "$status" != "online" ]; then
        _agentcore_pg_note "starting cluster $version/$name on port $port"
        _agentcore_pg_root timeout 120 pg_ctlcluster "$version" "$name" start >&2 \
            || { _agentcore_pg_note "pg_ctlcluster start failed or timed out"; return 1; }
    fi
    if ! timeout 30 pg_isready -q -h 127.0.0.1 -p "$port" -t 20; then
        _agentcore_pg_note "the server does not answer on 127.0.0.1:$port"
        return 1
    fi
    # A superuser for the tests, which create their own least-privilege roles and databases.
    _agentcore_pg_as_postgres timeout 60 psql -p "$port" -v ON_ERROR_STOP=1 -qAt >&2 <<'SQL' \
        || { _agentcore_pg_note "could not create the test role and database"; return 1; }
SELECT 'CREATE ROLE agentcore_test'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'agentcore_test') \gexec
ALTER ROLE agentcore_test LOGIN SUPERUSER PASSWORD 'agentcore_test';
SELECT 'CREATE DATABASE agentcore_test OWNER agentcore_test'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'agentcore_test') \gexec
SQL
    echo "postgresql://agentcore_test:agentcore_test@127.0.0.1:${port}/agentcore_test"
}

if [ -z "${AGENTCORE_TEST_POSTGRES_DSN:-}" ]; then
    if _agentcore_pg_dsn="$(_agentcore_pg_setup)" && [ -n "$_agentcore_pg_dsn" ]; then
        export AGENTCORE_TEST_POSTGRES_DSN="$_agentcore_pg_dsn"
        _agentcore_pg_note "PostgreSQL ready; AGENTCORE_TEST_POSTGRES_DSN is set"
    else
        _agentcore_pg_note "no PostgreSQL server from here; the PostgreSQL tests will try a" \
            "throwaway cluster of their own, or skip and say why"
    fi
    unset _agentcore_pg_dsn
fi
