#!/usr/bin/env bash
# Entrypoint of the lst-test postgres image. Re-implements the contract of the official
# postgres image's docker-entrypoint.sh for Debian's postgresql-15:
#   POSTGRES_USER (default postgres) superuser with POSTGRES_PASSWORD, POSTGRES_DB (default
#   $POSTGRES_USER), POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD (default scram-sha-256),
#   the *_FILE variants, /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz, data in $PGDATA.
# Starts as root, fixes ownership, drops to the postgres user (setpriv, like gosu) and execs
# the server in the foreground so it receives the stop signal (SIGINT, see Dockerfile).
# An already initialised $PGDATA (PG_VERSION present) is started as it is.
set -Eeuo pipefail

log() { echo "lst-test postgres entrypoint: $*" >&2; }

# file_env VAR [DEFAULT]: VAR from $VAR or from the file named by $VAR_FILE.
file_env() {
    local var=$1 fileVar="${1}_FILE" def=${2:-}
    if [ -n "${!var:-}" ] && [ -n "${!fileVar:-}" ]; then
        log "both $var and $fileVar are set (but are exclusive)"; exit 1
    fi
    local val=$def
    if [ -n "${!var:-}" ]; then val=${!var}; elif [ -n "${!fileVar:-}" ]; then val=$(< "${!fileVar}"); fi
    export "$var"="$val"
    unset "$fileVar"
}

# `docker run image -c foo=bar` means `postgres -c foo=bar`.
if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi

if [ "$1" = 'postgres' ] && [ "$(id -u)" = '0' ]; then
    mkdir -p "$PGDATA"
    chmod 00700 "$PGDATA" || :
    find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
    mkdir -p /var/run/postgresql
    chown postgres:postgres /var/run/postgresql
    chmod 03775 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ "$1" = 'postgres' ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    file_env POSTGRES_INITDB_ARGS
    : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
        cat >&2 <<'EOM'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
       (or set POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password)
EOM
        exit 1
    fi
    mkdir -p "$PGDATA"
    chmod 00700 "$PGDATA"

    log "initdb in $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
    # Like the official image: local (socket) connections are trusted; TCP from anywhere
    # needs the password. -E UTF8 --locale=C.UTF-8 first, POSTGRES_INITDB_ARGS may override.
    # The "\n" keeps --pwfile happy with an empty password (trust mode).
    # shellcheck disable=SC2086
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        -E UTF8 --locale=C.UTF-8 $POSTGRES_INITDB_ARGS
    printf "\nlisten_addresses = '*'\n" >> "$PGDATA/postgresql.conf"
    printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >> "$PGDATA/pg_hba.conf"

    # Temporary server on the socket only, for CREATE DATABASE and the init scripts.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
    psql_cmd=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
    if [ "$POSTGRES_DB" != 'postgres' ]; then
        exists=$("${psql_cmd[@]}" --dbname postgres --set db="$POSTGRES_DB" --tuples-only \
            <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")
        if [ -z "${exists// /}" ]; then
            "${psql_cmd[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
        fi
    fi
    export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
    for f in /docker-entrypoint-initdb.d/*; do
        [ -e "$f" ] || continue
        case "$f" in
            *.sh)
                if [ -x "$f" ]; then log "running $f"; "$f"
                else log "sourcing $f"; # shellcheck disable=SC1090
                    . "$f"; fi ;;
            *.sql) log "running $f"; "${psql_cmd[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
            *.sql.gz) log "running $f"; gunzip -c "$f" | "${psql_cmd[@]}" --dbname "$POSTGRES_DB" ;;
            *) log "ignoring $f" ;;
        esac
    done
    unset PGPASSWORD
    pg_ctl -D "$PGDATA" -m fast -w stop
    log "init process complete; ready for start up"
fi

exec "$@"
