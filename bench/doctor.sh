#!/usr/bin/env bash
# `doctor` on a healthy stack (issue 15; target < 3 s): the median and the slowest of RUNS runs,
# each with every check (engine, containers, nginx -> LiteLLM and streaming, readiness with
# the database, the Postgres and Redis logins, migrations, keys, Prometheus, drift) against
# LiteLLM on its real Postgres.
#
#   bench/doctor.sh [RUNS]      (default 10; needs `bash ci/setup.sh` done)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
. bench/lib.sh
bench_answers "$LST_IMAGE_LITELLM"
cleanup() {
  "$bin" uninstall --purge --yes --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin" install --answers "$work/answers.yaml" --yes >/dev/null
# Prometheus scrapes every 15 s: wait until its LiteLLM target has been scraped once.
for _ in $(seq 1 60); do
  "$bin" doctor --dir "$dir" >/dev/null 2>&1 && break
  sleep 2
done
declare -a times
for i in $(seq 1 "$runs"); do
  t0=$(date +%s.%N)
  "$bin" doctor --dir "$dir" --json >"$work/doctor.json" || { echo "doctor run $i failed:"; cat "$work/doctor.json"; exit 1; }
  t1=$(date +%s.%N)
  times+=("$(python3 -c "print(f'{$t1 - $t0:.3f}')")")
done
python3 - "${times[*]}" <<'PY'
import statistics, sys
t = [float(x) for x in sys.argv[1].split()]
print(f"doctor on a healthy stack, {len(t)} runs: median {statistics.median(t):.2f} s, slowest {max(t):.2f} s (target < 3 s: {'ok' if max(t) < 3 else 'MISSED'})")
PY
