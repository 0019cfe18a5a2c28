#!/usr/bin/env bash
# Upgrade downtime (issue 12): LiteLLM 1.106.12 -> 1.108.7 on its real Postgres, seen by a
# poller every 50 ms through nginx: the window from the first to the last failed request, and
# how many failed. `litellm-stack upgrade` (blue/green when the pending migrations are additive,
# as these 7 are) against the manual way on the same files and images
# (the compose file's LiteLLM image edited, then `docker-compose pull && docker-compose up -d`,
# and the poller until it answers again).
#
#   bench/upgrade_downtime.sh      (needs `bash ci/setup.sh` done)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
old=$LST_IMAGE_LITELLM_PREVIOUS
new=$LST_IMAGE_LITELLM

bench_answers "$old"
cleanup() {
  stop_poller
  "$bin" uninstall --purge --yes --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

poll() { start_poller "$1" 0.05; }
wait_ready() {
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$nginx_port/health/readiness" 2>/dev/null && return 0
    sleep 0.5
  done
  echo "the gateway did not come back" >&2; return 1
}

# The installer's way.
"$bin" install --answers "$work/answers.yaml" --yes >/dev/null
poll "$work/installer.log"; sleep 2
t0=$(date +%s.%N)
"$bin" upgrade --dir "$dir" --litellm "$new" --yes >"$work/upgrade.out"
t1=$(date +%s.%N)
# Blue/green when the new version's pending migrations only add to the schema (issue 16).
if grep -q "switched with no downtime" "$work/upgrade.out"; then
  echo "litellm-stack upgrade: blue/green ($(grep -o '[0-9]* pending database migrations only add to the schema' "$work/upgrade.out"))"
else
  echo "litellm-stack upgrade: stop-then-start: $(grep -m1 'the old container stops before' "$work/upgrade.out" || echo '?')"
fi
wait_ready; sleep 2; stop_poller
echo "litellm-stack upgrade took $(python3 -c "print(f'{$t1 - $t0:.1f}')") s"
window "litellm-stack upgrade" "$work/installer.log"

# The manual way, from the same old install.
"$bin" uninstall --purge --yes --dir "$dir" >/dev/null
"$bin" install --answers "$work/answers.yaml" --yes >/dev/null
poll "$work/manual.log"; sleep 2
sed -i "s|image: $old|image: $new|" "$dir/docker-compose.yml"
grep -q "image: $new" "$dir/docker-compose.yml" || { echo "could not edit the compose file's image" >&2; exit 1; }
t0=$(date +%s.%N)
(cd "$dir" && docker-compose pull >/dev/null 2>&1 && docker-compose up -d >/dev/null 2>&1)
wait_ready
t1=$(date +%s.%N)
sleep 2; stop_poller
echo "docker-compose pull && up -d, until ready: $(python3 -c "print(f'{$t1 - $t0:.1f}')") s"
window "docker-compose pull && up -d" "$work/manual.log"
