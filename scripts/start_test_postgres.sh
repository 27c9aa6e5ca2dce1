#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the history-store tests, and print its URL.
#
#   eval "$(scripts/start_test_postgres.sh)"   # exports GATEKIT_TEST_POSTGRES_URL and GATEKIT_TEST_PGDATA
#   python -m pytest tests/history/test_store.py
#   scripts/start_test_postgres.sh --stop "$GATEKIT_TEST_PGDATA"
#
# Uses Debian's postgresql package (installed with apt-get when missing and running as root). The cluster
# lives in a new temporary folder, listens on 127.0.0.1 only, trusts local connections, and is owned by
# the 'postgres' system user when run as root (the server refuses to run as root).
set -euo pipefail

if [[ "${1:-}" == "--stop" ]]; then
    dir="${2:?usage: $0 --stop PGDATA}"
    bin="$(cat "$dir/.bindir")"
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null
    else "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null; fi
    rm -rf "$dir"
    exit 0
fi

find_bindir() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/initdb" ]] && { echo "$d"; return 0; }
    done
    command -v pg_config >/dev/null && [[ -x "$(pg_config --bindir)/initdb" ]] && { pg_config --bindir; return 0; }
    return 1
}

if ! bindir="$(find_bindir)"; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "PostgreSQL is not installed; install Debian's postgresql package (apt-get install postgresql)" >&2
        exit 1
    fi
    echo "installing Debian's postgresql package..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
    bindir="$(find_bindir)"
fi

port="${GATEKIT_TEST_PGPORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
dir="$(mktemp -d /tmp/gatekit-pg.XXXXXX)"
echo "$bindir" > "$dir/.bindir"
as_owner=()
if [[ $(id -u) -eq 0 ]]; then
    chown postgres "$dir"
    as_owner=(runuser -u postgres --)
fi
"${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U gatekit --no-sync -E UTF8 >/dev/null
"${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null
"$bindir/createdb" -h 127.0.0.1 -p "$port" -U gatekit gatekit_test
echo "export GATEKIT_TEST_POSTGRES_URL=postgresql+psycopg://gatekit@127.0.0.1:$port/gatekit_test"
echo "export GATEKIT_TEST_PGDATA=$dir"
