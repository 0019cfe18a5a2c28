#!/usr/bin/env bash
# First install with every image absent (issue 16): `litellm-stack install` (pulls overlapped
# with the start) against the SOP's manual way on the same files and images
# (`docker-compose pull && docker-compose up -d`, then `curl` /health/readiness every 0.25 s
# until 200). Every image of the stack gets a layer of random bytes of its own (LiteLLM's
# LITELLM_MIB, the others SMALL_MIB), is pushed to the local registry and removed from the
# engine before each run; all of them are pulled through one loopback relay that carries
# RATE_MIB a second over all its connections (one slow link). Each run starts from no
# containers and empty data folders; the two ways alternate. Prints per-run figures (with the bytes the relay carried,
# so a run that downloaded nothing shows), medians and the ratio installer/compose.
#
#   bench/pull_install.sh [RUNS]     (default 3; needs `bash ci/setup.sh` done)
#   env: RATE_MIB (default 3), LITELLM_MIB (default 48), SMALL_MIB (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
rate_mib=${RATE_MIB:-3}
litellm_mib=${LITELLM_MIB:-48}
small_mib=${SMALL_MIB:-2}
# shellcheck disable=SC1091
. bench/lib.sh
command -v docker-compose >/dev/null || { echo "docker-compose is needed (apt-get install docker-compose)" >&2; exit 3; }
registry=$LST_TEST_REGISTRY
relay_port=$(free_port)
relay=""
declare -a pushed relayed

clean_all() {
  docker ps -aq --filter "label=com.docker.compose.project=$project" | xargs -r docker rm -f -v >/dev/null
  docker network rm "${project}_default" >/dev/null 2>&1 || true
}
# The images as pulled, gone from the engine (their own layers with them): the next pull
# downloads those layers again through the relay.
drop_images() {
  for r in "${relayed[@]}"; do docker rmi "$r" >/dev/null 2>&1 || true; done
}
cleanup() {
  clean_all
  drop_images
  for r in "${pushed[@]}"; do
    docker rmi "$r" >/dev/null 2>&1 || true
    repo_tag=${r#"$registry/"}
    digest=$(curl -sSI -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
      "http://$registry/v2/${repo_tag%:*}/manifests/${repo_tag##*:}" 2>/dev/null |
      tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}')
    if [ -n "$digest" ]; then
      curl -sS -X DELETE "http://$registry/v2/${repo_tag%:*}/manifests/$digest" >/dev/null 2>&1 || true
    fi
  done
  if [ -n "$relay" ]; then kill "$relay" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The relay: every byte from the registry waits until the link has carried the ones before it
# (one budget for all connections, no credit for idle time). Writes the bytes carried so far
# to $work/relay.bytes.
python3 - "$relay_port" "$registry" "$((rate_mib << 20))" "$work/relay.bytes" <<'PY' &
import os, socket, sys, threading, time
port, upstream, rate, out = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]
host, uport = upstream.rsplit(":", 1)
lock = threading.Lock()
state = {"free": time.monotonic(), "carried": 0}
def write_total():
    while True:
        with open(out + ".tmp", "w") as f:
            f.write(str(state["carried"]))
        os.replace(out + ".tmp", out)
        time.sleep(0.2)
def up(c, s):
    try:
        while (b := c.recv(65536)):
            s.sendall(b)
    except OSError:
        pass
    try: s.shutdown(socket.SHUT_WR)
    except OSError: pass
def down(s, c):
    try:
        while (b := s.recv(16384)):
            with lock:
                now = time.monotonic()
                start = max(state["free"], now)
                state["free"] = start + len(b) / rate
                wait = state["free"] - now
            time.sleep(wait)
            c.sendall(b)
            with lock:
                state["carried"] += len(b)
    except OSError:
        pass
    try: c.shutdown(socket.SHUT_WR)
    except OSError: pass
threading.Thread(target=write_total, daemon=True).start()
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port)); l.listen(64)
while True:
    c, _ = l.accept()
    try:
        s = socket.create_connection((host, int(uport)))
    except OSError:
        c.close(); continue
    threading.Thread(target=up, args=(c, s), daemon=True).start()
    threading.Thread(target=down, args=(s, c), daemon=True).start()
PY
relay=$!
carried() { cat "$work/relay.bytes" 2>/dev/null || echo 0; }

# Each image with its own random layer, pushed under a tag of this bench only, then removed
# from the engine (the legacy builder: BuildKit would keep the layer in its cache).
unique() {
  local svc=$1 base=$2 mib=$3 tag="$registry/lst-pull-bench/$1:$project"
  printf 'FROM %s\nRUN head -c %d /dev/urandom > /tmp/lst-pull-bench-unique\n' "$base" "$((mib << 20))" |
    DOCKER_BUILDKIT=0 docker build -q -t "$tag" - >/dev/null
  docker push -q "$tag" >/dev/null
  docker rmi "$tag" >/dev/null
  pushed+=("$tag")
  relayed+=("127.0.0.1:$relay_port/lst-pull-bench/$svc:$project")
}
unique litellm "$LST_IMAGE_LITELLM" "$litellm_mib"
unique postgres "$LST_IMAGE_POSTGRES" "$small_mib"
unique redis "$LST_IMAGE_REDIS" "$small_mib"
unique nginx "$LST_IMAGE_NGINX" "$small_mib"
unique prometheus "$LST_IMAGE_PROMETHEUS" "$small_mib"
LST_IMAGE_POSTGRES=${relayed[1]} LST_IMAGE_REDIS=${relayed[2]} LST_IMAGE_NGINX=${relayed[3]} \
  LST_IMAGE_PROMETHEUS=${relayed[4]} bench_answers "${relayed[0]}"

# Same starting point for both ways: no container, no image of the stack, empty data folders
# (Prometheus's owned by its user, as the installer leaves it; errata 21).
fresh() {
  clean_all
  drop_images
  rm -rf "$dir/pg_data" "$dir/redis_data" "$dir/prometheus_data"
  mkdir -p "$dir/pg_data" "$dir/redis_data" "$dir/prometheus_data"
  chown 65534:65534 "$dir/prometheus_data"
  for r in "${relayed[@]}"; do
    if docker image inspect "$r" >/dev/null 2>&1; then echo "$r is still in the engine" >&2; exit 1; fi
  done
}
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
mib() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1048576:.1f}')" "$1"; }

# Files in place first (not timed; it also checks the relay works), so both ways start from
# the same tree.
"$bin" install --answers "$work/answers.yaml" --yes >/dev/null

declare -a inst_ready compose_ready
# One run of each way, alternated, so that a load that changes over the bench weighs on
# both alike.
installer_run() {
  local i=$1
  fresh
  b0=$(carried)
  t0=$(now)
  ready_at=""
  while IFS= read -r line; do
    if [[ -z "$ready_at" && "$line" == *'"event":"step_done"'* && "$line" == *'"step":"readiness"'* ]]; then
      ready_at=$(now)
    fi
    if [[ "$line" == *'"event":"done"'* ]]; then printf '%s\n' "$line" >"$work/done.json"; fi
  done < <("$bin" install --answers "$work/answers.yaml" --yes --json)
  t1=$(now)
  [[ -n "$ready_at" ]] || { echo "install run $i did not reach readiness" >&2; exit 1; }
  ready=$(since "$t0" "$ready_at")
  inst_ready+=("$ready")
  moments=$(python3 - "$work/done.json" "${relayed[0]}" <<'PY'
import json, sys
done = json.load(open(sys.argv[1]))
at = {(m["kind"], m["name"]): m["at_ms"] / 1000 for m in done.get("timeline", [])}
def s(k, n):
    v = at.get((k, n))
    return "?" if v is None else f"{v:.1f}"
print(f"postgres healthy at {s('healthy', 'postgres')} s, LiteLLM pulled at {s('pulled', sys.argv[2])} s, started at {s('started', 'litellm')} s, healthy at {s('healthy', 'litellm')} s")
PY
)
  echo "installer run $i: ready after ${ready} s (command done after $(since "$t0" "$t1") s); $moments; relay carried $(mib $(($(carried) - b0))) MiB"
}

compose_run() {
  local i=$1
  fresh
  b0=$(carried)
  t0=$(now)
  (cd "$dir" && docker-compose pull -q >/dev/null 2>&1 && docker-compose up -d >/dev/null 2>&1)
  t_up=$(now)
  until curl -fsS -o /dev/null "http://127.0.0.1:$nginx_port/health/readiness" 2>/dev/null; do sleep 0.25; done
  t1=$(now)
  total=$(since "$t0" "$t1")
  compose_ready+=("$total")
  echo "compose run $i: ready after ${total} s (pull && up -d returned after $(since "$t0" "$t_up") s); relay carried $(mib $(($(carried) - b0))) MiB"
  (cd "$dir" && docker-compose down >/dev/null 2>&1)
}

for i in $(seq 1 "$runs"); do
  installer_run "$i"
  compose_run "$i"
done

python3 - "${inst_ready[*]}" "${compose_ready[*]}" "$rate_mib" "$litellm_mib" "$small_mib" <<'PY'
import statistics, sys
inst, comp = ([float(x) for x in a.split()] for a in sys.argv[1:3])
m = statistics.median
print(f"link {sys.argv[3]} MiB/s; own layers: LiteLLM {sys.argv[4]} MiB, the four others {sys.argv[5]} MiB each")
print(f"median first install -> readiness: installer {m(inst):.2f} s, docker-compose pull && up -d + readiness loop {m(comp):.2f} s")
print(f"ratio installer/compose: {m(inst) / m(comp):.2f}")
PY
