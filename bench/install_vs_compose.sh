#!/usr/bin/env bash
# Install to readiness: `litellm-stack install` against the SOP's manual way on the same files
# and images (`docker-compose up -d`, then `curl` /health/readiness once a second until 200).
# Images are present (pull policy missing); every run starts from no containers and empty data
# folders. Prints per-run figures, medians, the ratio (target <= 0.9), the installer's own
# overhead (total minus the time LiteLLM needs after its container starts) and the no-op re-run
# time (target < 2 s).
#
#   bench/install_vs_compose.sh [RUNS]        (default 3; needs `bash ci/setup.sh` done)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
# shellcheck disable=SC1091
. /var/lib/litellm-stack-ci/env || { echo "run bash ci/setup.sh first" >&2; exit 3; }
command -v docker-compose >/dev/null || { echo "docker-compose is needed (apt-get install docker-compose)" >&2; exit 3; }
cargo build --release --quiet
bin="$PWD/target/release/litellm-stack"

work=$(mktemp -d)
project="lstbench$$"
dir="$work/stack"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0",0)); print(s.getsockname()[1])'; }
nginx_port=$(free_port); litellm_port=$(free_port); prom_port=$(free_port)
cat >"$work/answers.yaml" <<EOF
dir: $dir
project: $project
ports: {nginx: $nginx_port, litellm: $litellm_port, prometheus: $prom_port}
images:
  litellm: $LST_IMAGE_LITELLM
  postgres: $LST_IMAGE_POSTGRES
  redis: $LST_IMAGE_REDIS
  nginx: $LST_IMAGE_NGINX
  prometheus: $LST_IMAGE_PROMETHEUS
EOF

clean_all() {
  docker ps -aq --filter "label=com.docker.compose.project=$project" | xargs -r docker rm -f -v >/dev/null
  docker network rm "${project}_default" >/dev/null 2>&1 || true
}
cleanup() { clean_all; rm -rf "$work"; }
trap cleanup EXIT

# Same starting point for both ways: no container, empty data folders (Prometheus's owned by
# its user, as the installer leaves it; the SOP's way would otherwise fail on errata 21).
fresh() {
  clean_all
  rm -rf "$dir/pg_data" "$dir/redis_data" "$dir/prometheus_data"
  mkdir -p "$dir/pg_data" "$dir/redis_data" "$dir/prometheus_data"
  chown 65534:65534 "$dir/prometheus_data"
}

now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
litellm_started_at() {
  local c
  c=$(docker ps -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=litellm")
  date -d "$(docker inspect --format '{{.State.StartedAt}}' "$c")" +%s.%N
}

# Files and images in place first (not timed), so both ways start from the same tree.
"$bin" install --answers "$work/answers.yaml" --yes >/dev/null

declare -a inst_total inst_ready inst_overhead compose_total
for i in $(seq 1 "$runs"); do
  fresh
  t0=$(now)
  ready_at=""
  # Each JSON event is stamped as it arrives: readiness is the `step_done` of step F.
  while IFS= read -r line; do
    if [[ -z "$ready_at" && "$line" == *'"event":"step_done"'* && "$line" == *'"step":"readiness"'* ]]; then
      ready_at=$(now)
    fi
  done < <("$bin" install --answers "$work/answers.yaml" --yes --json)
  t1=$(now)
  [[ -n "$ready_at" ]] || { echo "install run $i did not reach readiness" >&2; exit 1; }
  started=$(litellm_started_at)
  total=$(since "$t0" "$t1")
  ready=$(since "$t0" "$ready_at")
  litellm_needs=$(since "$started" "$ready_at")
  overhead=$(since "$litellm_needs" "$ready")
  inst_total+=("$total"); inst_ready+=("$ready"); inst_overhead+=("$overhead")
  echo "installer run $i: ready after ${ready} s (command done after ${total} s); LiteLLM needed ${litellm_needs} s after its container started; installer overhead ${overhead} s"
done

for i in $(seq 1 "$runs"); do
  fresh
  t0=$(now)
  (cd "$dir" && docker-compose up -d >/dev/null 2>&1)
  until curl -fsS -o /dev/null "http://127.0.0.1:$nginx_port/health/readiness" 2>/dev/null; do sleep 1; done
  t1=$(now)
  total=$(since "$t0" "$t1")
  compose_total+=("$total")
  echo "compose run $i: ready after ${total} s"
  (cd "$dir" && docker-compose down >/dev/null 2>&1)
done

# The no-op re-run, on the healthy stack the installer brings back.
fresh
"$bin" install --answers "$work/answers.yaml" --yes >/dev/null
declare -a noop
for i in $(seq 1 "$runs"); do
  t0=$(now)
  "$bin" install --answers "$work/answers.yaml" --yes >/dev/null
  t1=$(now)
  noop+=("$(since "$t0" "$t1")")
done

python3 - "${inst_ready[*]}" "${inst_total[*]}" "${inst_overhead[*]}" "${compose_total[*]}" "${noop[*]}" <<'PY'
import statistics, sys
ready, total, overhead, compose, noop = ([float(x) for x in a.split()] for a in sys.argv[1:6])
m = statistics.median
ratio = m(ready) / m(compose)
print(f"median install->readiness: installer {m(ready):.2f} s (command {m(total):.2f} s incl. API test), compose+curl {m(compose):.2f} s")
print(f"ratio installer/compose: {ratio:.2f} (target <= 0.90: {'ok' if ratio <= 0.9 else 'MISSED'})")
print(f"installer overhead (total to readiness minus LiteLLM's own start): median {m(overhead):.2f} s")
print(f"no-op re-run: median {m(noop):.2f} s, max {max(noop):.2f} s (target < 2 s: {'ok' if max(noop) < 2 else 'MISSED'})")
PY
