#!/usr/bin/env bash
# ci/smoke-images.sh: hand check of the five test images together (not part of test-all.sh;
# the Rust tests do the real work). Run after changing ci/images/. Needs ci/setup.sh done.
# Starts everything on a throw-away user-defined network and removes it all at the end.
set -euo pipefail

ENV_FILE=/var/lib/litellm-stack-ci/env
[ -f "$ENV_FILE" ] || { echo "smoke-images.sh: run ci/setup.sh first" >&2; exit 1; }
# shellcheck source=/dev/null
. "$ENV_FILE"

p=lst-smoke-$$
work=$(mktemp -d)
fail() { echo "smoke-images.sh: FAIL: $*" >&2; exit 1; }
ok() { echo "smoke-images.sh: ok: $*"; }
cleanup() {
    docker rm -f -v "$p-pg" "$p-redis" "$p-prom" "$p-nginx" "$p-litellm" >/dev/null 2>&1 || true
    docker volume rm "$p-pgdata" >/dev/null 2>&1 || true
    docker network rm "$p" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
port_of() { docker port "$1" "$2" | head -n1 | sed 's/.*://'; }
wait_for() { # wait_for SECONDS CMD...
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.25
    done
}

docker network create "$p" >/dev/null
key="sk-$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)"
redis_pw="r-$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 16)"

docker run -d --name "$p-pg" --network "$p" -v "$p-pgdata:/var/lib/postgresql/data" \
    -e POSTGRES_USER=llm -e POSTGRES_PASSWORD=pg-pw -e POSTGRES_DB=litellm "$LST_IMAGE_POSTGRES" >/dev/null
docker run -d --name "$p-redis" --network "$p" -e REDIS_PASSWORD="$redis_pw" "$LST_IMAGE_REDIS" \
    sh -c 'exec redis-server --appendonly yes --requirepass "$REDIS_PASSWORD"' >/dev/null
docker run -d --name "$p-prom" --network "$p" -p 127.0.0.1::9090 "$LST_IMAGE_PROMETHEUS" >/dev/null
mkdir -p "$work/templates"
# shellcheck disable=SC2016 # ${SMOKE_NAME} is for envsubst in the container
printf 'server { listen 8080; location / { return 200 "hello ${SMOKE_NAME}\\n"; } }\n' > "$work/templates/smoke.conf.template"
docker run -d --name "$p-nginx" --network "$p" -p 127.0.0.1::80 -p 127.0.0.1::8080 -e SMOKE_NAME=templates \
    -v "$work/templates:/etc/nginx/templates:ro" "$LST_IMAGE_NGINX" >/dev/null
cat > "$work/config.yaml" <<'EOF'
model_list:
  - model_name: smoke-test
    litellm_params:
      model: openai/gpt-3.5-turbo
      api_key: fake
      mock_response: pong
litellm_settings:
  callbacks: ["prometheus"]
  cache: true
  cache_params:
    type: redis
    host: os.environ/REDIS_HOST
    port: os.environ/REDIS_PORT
    password: os.environ/REDIS_PASSWORD
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  database_url: os.environ/DATABASE_URL
  use_redis_transaction_buffer: true
  database_connection_pool_limit: 10
EOF
chmod 0644 "$work/config.yaml"
t0=$(date +%s.%N)
docker run -d --name "$p-litellm" --network "$p" -p 127.0.0.1::4000 \
    -v "$work/config.yaml:/app/config.yaml:ro" -e LITELLM_MASTER_KEY="$key" \
    -e REDIS_HOST="$p-redis" -e REDIS_PORT=6379 -e REDIS_PASSWORD="$redis_pw" \
    -e DATABASE_URL="postgresql://llm:pg-pw@$p-pg:5432/litellm" \
    "$LST_IMAGE_LITELLM" --config /app/config.yaml --port 4000 >/dev/null

# postgres
wait_for 60 docker exec "$p-pg" pg_isready -U llm -d litellm || fail "postgres not ready"
wait_for 20 docker exec "$p-pg" psql -U llm -d litellm -c 'select 1' || fail "postgres: psql in the container"
[ "$(docker exec "$p-pg" psql -U llm -d litellm -Atc 'select 1')" = 1 ] || fail "postgres: select 1"
docker run --rm --network "$p" -e PGPASSWORD=pg-pw "$LST_IMAGE_POSTGRES" \
    psql -h "$p-pg" -U llm -d litellm -Atc 'select 1' >/dev/null || fail "postgres: password login over the network"
if docker run --rm --network "$p" -e PGPASSWORD=wrong "$LST_IMAGE_POSTGRES" \
    psql -h "$p-pg" -U llm -d litellm -Atc 'select 1' >/dev/null 2>&1; then fail "postgres: wrong password accepted"; fi
docker exec "$p-pg" psql -U llm -d litellm -qc 'create table smoke(x int); insert into smoke values (42)'
docker rm -f "$p-pg" >/dev/null
docker run -d --name "$p-pg" --network "$p" -v "$p-pgdata:/var/lib/postgresql/data" \
    -e POSTGRES_USER=llm -e POSTGRES_PASSWORD=pg-pw -e POSTGRES_DB=litellm "$LST_IMAGE_POSTGRES" >/dev/null
wait_for 60 docker exec "$p-pg" psql -U llm -d litellm -Atc 'select 1' || fail "postgres: recreated container not ready"
[ "$(docker exec "$p-pg" psql -U llm -d litellm -Atc 'select x from smoke')" = 42 ] || fail "postgres: data lost on recreate"
ok "postgres (exec psql, password over the network, data survives recreate)"

# redis
[ "$(docker exec "$p-redis" redis-cli -a "$redis_pw" --no-auth-warning ping)" = PONG ] || fail "redis: ping"
[ "$(docker run --rm --network "$p" "$LST_IMAGE_REDIS" redis-cli -h "$p-redis" -a "$redis_pw" --no-auth-warning ping)" = PONG ] \
    || fail "redis: ping from another container"
ok "redis (requirepass, reachable from other containers)"

# prometheus
prom=$(port_of "$p-prom" 9090/tcp)
wait_for 30 curl -fsS "http://127.0.0.1:$prom/-/ready" || fail "prometheus: /-/ready"
docker exec "$p-prom" wget -qO- http://localhost:9090/-/healthy >/dev/null || fail "prometheus: wget inside"
ok "prometheus (/-/ready, wget)"

# nginx
web=$(port_of "$p-nginx" 80/tcp)
wait_for 20 curl -fsS "http://127.0.0.1:$web/" || fail "nginx: default server"
[ "$(curl -fsS "http://127.0.0.1:$(port_of "$p-nginx" 8080/tcp)/")" = "hello templates" ] || fail "nginx: templates"
docker exec "$p-nginx" curl -fsS -o /dev/null http://localhost/ || fail "nginx: curl inside"
ok "nginx (default server, envsubst templates, curl)"

# litellm
api=$(port_of "$p-litellm" 4000/tcp)
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api/health/readiness")" = 200 ]; }
wait_for 180 ready || { docker logs --tail 40 "$p-litellm" >&2; fail "litellm: readiness"; }
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
answer=$(curl -fsS "http://127.0.0.1:$api/v1/chat/completions" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' -d '{"model":"smoke-test","messages":[{"role":"user","content":"hi"}]}')
grep -q '"content":"pong"' <<<"$answer" || fail "litellm: chat completion answered $answer"
docker exec "$p-litellm" python3 -c "import urllib.request; urllib.request.urlopen('http://localhost:4000/health/liveliness')" \
    || fail "litellm: python3 healthcheck"
ok "litellm (readiness 200 ${secs}s after docker run, smoke-test answers pong)"
echo "smoke-images.sh: all images OK"
