# bench/lib.sh: what the benches share, sourced from the repo root. It loads the test
# environment (`bash ci/setup.sh` first), builds the release binary ($bin), picks free ports
# for one stack ($work, $project, $dir, the *_port variables) and offers:
#   bench_answers [LITELLM_IMAGE]   writes $work/answers.yaml (the DB image unless given)
#   start_poller LOG SECONDS        GET /health/liveliness through nginx every SECONDS, a line
#                                   per request ("<time> 200" or "<time> FAIL <why>"); sets $poller
#   stop_poller
#   window NAME LOG                 from a poller's LOG: how many requests failed, and the
#                                   downtime from the first failed to the last (+ the 50 ms period)
# shellcheck shell=bash disable=SC1091
. /var/lib/litellm-stack-ci/env || { echo "run bash ci/setup.sh first" >&2; exit 3; }
cargo build --release --quiet
export bin="$PWD/target/release/litellm-stack"
work=$(mktemp -d)
project="lstbench$$"
dir="$work/stack"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("0.0.0.0",0)); print(s.getsockname()[1])'; }
nginx_port=$(free_port); litellm_port=$(free_port); prom_port=$(free_port)
poller=""

bench_answers() {
  cat >"$work/answers.yaml" <<EOF
dir: $dir
project: $project
ports: {nginx: $nginx_port, litellm: $litellm_port, prometheus: $prom_port}
images:
  litellm: ${1:-$LST_IMAGE_LITELLM}
  postgres: $LST_IMAGE_POSTGRES
  redis: $LST_IMAGE_REDIS
  nginx: $LST_IMAGE_NGINX
  prometheus: $LST_IMAGE_PROMETHEUS
EOF
}

start_poller() {
  python3 - "$nginx_port" "$1" "$2" <<'PY' &
import sys, time, urllib.request
port, log, every = sys.argv[1], sys.argv[2], float(sys.argv[3])
with open(log, "w", buffering=1) as f:
    while True:
        t = time.time()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/liveliness", timeout=2) as r:
                f.write(f"{t:.3f} {r.status}\n")
        except Exception as e:
            f.write(f"{t:.3f} FAIL {type(e).__name__}\n")
        time.sleep(max(0.0, every - (time.time() - t)))
PY
  poller=$!
}

stop_poller() {
  if [ -n "$poller" ]; then kill "$poller" 2>/dev/null || true; wait "$poller" 2>/dev/null || true; poller=""; fi
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
