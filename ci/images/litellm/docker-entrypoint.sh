#!/bin/sh
# Entrypoint of the lst-test litellm image. The official image's entrypoint
# (docker/prod_entrypoint.sh) runs `litellm "$@"`; so does this one, after ONE deliberate change:
#
#   It unsets DATABASE_URL, DIRECT_URL, DATABASE_HOST, DATABASE_USERNAME, DATABASE_PASSWORD
#   and DATABASE_NAME (the variables from which the proxy derives a database URL).
#
# Why: the proxy's database layer is Prisma, whose engine binaries are downloaded at first use
# from a host these CI machines cannot reach; with a database URL set, the PyPI proxy refuses
# to start ("a database URL is set but the prisma CLI is neither on PATH nor importable").
# With them unset, a config.yaml whose general_settings hold
# `database_url: os.environ/DATABASE_URL`, `use_redis_transaction_buffer: true` and
# `database_connection_pool_limit: 10` boots, answers /health/readiness with
# {"status":"healthy","db":"Not connected"}, and serves models from config.yaml.
# Everything that needs the database (virtual keys, spend logs, the UI's users, models added
# through the API) is therefore NOT testable with this image. The values the stack passed stay
# visible in `docker inspect` (Config.Env); this script prints which ones it dropped.
set -eu

dropped=""
for v in DATABASE_URL DIRECT_URL DATABASE_HOST DATABASE_USERNAME DATABASE_PASSWORD DATABASE_NAME; do
    if eval "[ -n \"\${$v+set}\" ]"; then
        dropped="$dropped $v"
        unset "$v"
    fi
done
if [ -n "$dropped" ]; then
    echo "lst-test litellm image: unset$dropped (no Prisma engines offline; the proxy runs without a database)" >&2
fi

exec litellm "$@"
