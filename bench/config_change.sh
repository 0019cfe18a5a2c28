#!/usr/bin/env bash
# Downtime of a configuration change (issue 16): a model added on a running stack (LiteLLM on
# its real Postgres), seen by a poller every 50 ms through nginx. `litellm-stack install` with
# the model added to the answers (LiteLLM recreated beside the running one, then switched)
# against the manual way on the same files and images: the same model added to config.yaml by
# hand, then `docker-compose restart litellm` (`docker-compose up -d` alone changes nothing:
# config.yaml is a bind mount, not part of the compose file), and the poller until it answers.
#
#   bench/config_change.sh      (needs `bash ci/setup.sh` done)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
py=/var/lib/litellm-stack-ci/litellm-venv/bin/python

cleanup() {
  stop_poller
  "$bin" uninstall --purge --yes --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The answers with N models, each an OpenAI-compatible endpoint that need not exist (LiteLLM
# calls it only when a client asks for that model).
answers_with() {
  bench_answers
  echo "models:" >>"$work/answers.yaml"
  for n in "$@"; do
    printf '  - name: %s\n    model: openai/%s\n    api_base: http://127.0.0.1:9/v1\n    api_key_env: BENCH_API_KEY\n' "$n" "$n" >>"$work/answers.yaml"
  done
}
export BENCH_API_KEY=not-a-real-key

wait_model() {
  local key
  key=$(grep '^LITELLM_MASTER_KEY=' "$dir/.env" | cut -d= -f2- | tr -d '"')
  for _ in $(seq 1 600); do
    curl -fsS -H "Authorization: Bearer $key" "http://127.0.0.1:$nginx_port/v1/models" 2>/dev/null | grep -q '"bench-b"' && return 0
    sleep 0.5
  done
  echo "the added model never appeared" >&2; return 1
}

# The installer's way.
answers_with bench-a
"$bin" install --answers "$work/answers.yaml" --yes >/dev/null
start_poller "$work/installer.log" 0.05; sleep 2
answers_with bench-a bench-b
t0=$(date +%s.%N)
"$bin" install --answers "$work/answers.yaml" --yes >"$work/rerun.out"
wait_model
t1=$(date +%s.%N)
sleep 2; stop_poller
grep -q "bench-b" "$dir/config.yaml" || { echo "the re-run did not add the model" >&2; exit 1; }
echo "litellm-stack install (a model added), until the model is served: $(python3 -c "print(f'{$t1 - $t0:.1f}')") s"
window "litellm-stack install" "$work/installer.log"

# The manual way, from the same one-model install.
"$bin" uninstall --purge --yes --dir "$dir" >/dev/null
answers_with bench-a
"$bin" install --answers "$work/answers.yaml" --yes >/dev/null
start_poller "$work/manual.log" 0.05; sleep 2
"$py" - "$dir/config.yaml" <<'PY'
import sys, yaml
path = sys.argv[1]
c = yaml.safe_load(open(path))
entry = dict(c["model_list"][0]); entry["model_name"] = "bench-b"
entry["litellm_params"] = dict(entry["litellm_params"], model="openai/bench-b")
c["model_list"].append(entry)
open(path, "w").write(yaml.safe_dump(c, sort_keys=False))
PY
t0=$(date +%s.%N)
(cd "$dir" && docker-compose restart litellm >/dev/null 2>&1)
wait_model
t1=$(date +%s.%N)
sleep 2; stop_poller
echo "config.yaml edited, docker-compose restart litellm, until the model is served: $(python3 -c "print(f'{$t1 - $t0:.1f}')") s"
window "docker-compose restart litellm" "$work/manual.log"
