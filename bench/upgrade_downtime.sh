#!/usr/bin/env bash
# Upgrade downtime (issue 12): LiteLLM 1.106.12 -> 1.108.7 on its real Postgres, seen by a
# poller every 50 ms through nginx: the window from the first to the last failed request, and
# how many failed. `litellm-stack upgrade` against the manual way on the same files and images
# (the compose file's LiteLLM image edited, then `docker-compose pull && docker-compose up -d`,
# and the poller until it answers again).
#
#   bench/upgrade_downtime.sh      (needs `bash ci/setup.sh` done)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. /var/lib/litellm-stack-ci/env || { echo "run bash ci/setup.sh first" >&2; exit 3; }
command -v docker-compose >/dev/null || { echo "docker-compose is needed (apt-get install docker-compose)" >&2; exit 3; }
cargo build --release --quiet
bin="$PWD/target/release/litellm-stack"
old=$LST_IMAGE_LITELLM_PREVIOUS
new=$LST_IMAGE_LITELLM

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
  litellm: $old
  postgres: $LST_IMAGE_POSTGRES
  redis: $LST_IMAGE_REDIS
  nginx: $LST_IMAGE_NGINX
  prometheus: $LST_IMAGE_PROMETHEUS
EOF
poller=""
stop_poller() { if [ -n "$poller" ]; then kill "$poller" 2>/dev/null || true; wait "$poller" 2>/dev/null || true; poller=""; fi; }
cleanup() {
  stop_poller
  "$bin" uninstall --purge --yes --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# poll LOG: a chat-free request every 50 ms through nginx, one line each.
poll() {
  python3 - "$nginx_port" "$1" <<'PY' &
import sys, time, urllib.request
port, log = sys.argv[1], sys.argv[2]
with open(log, "w", buffering=1) as f:
    while True:
        t = time.time()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/liveliness", timeout=2) as r:
                f.write(f"{t:.3f} {r.status}\n")
        except Exception as e:
            f.write(f"{t:.3f} FAIL\n")
        time.sleep(max(0.0, 0.05 - (time.time() - t)))
PY
  poller=$!
}
window() {
  python3 - "$1" "$2" <<'PY'
import sys
name, log = sys.argv[1], sys.argv[2]
polls = [l.split() for l in open(log)]
failed = [float(p[0]) for p in polls if p[1] != "200"]
if failed:
    print(f"{name}: {len(failed)} of {len(polls)} requests failed, downtime {failed[-1] - failed[0] + 0.05:.2f} s")
else:
    print(f"{name}: 0 of {len(polls)} requests failed, downtime 0 s")
PY
}
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
"$bin" upgrade --dir "$dir" --litellm "$new" --yes >/dev/null
t1=$(date +%s.%N)
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
