#!/usr/bin/env bash
# Times `litellm-stack render` of the default stack, binary start to exit (budget: 50 ms),
# for a fresh dir (everything created) and a re-run (everything unchanged).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 3; }
cargo build --release --quiet
bin="$PWD/target/release/litellm-stack"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
hyperfine --warmup 3 --runs 30 --export-json "$work/fresh.json" \
  --prepare "rm -rf $work/stack" "$bin render --dir $work/stack" >/dev/null
"$bin" render --dir "$work/stack" >/dev/null
hyperfine -N --warmup 3 --runs 30 --export-json "$work/rerun.json" "$bin render --dir $work/stack" >/dev/null
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
for name in ("fresh", "rerun"):
    r = json.load(open(f"{w}/{name}.json"))["results"][0]
    ms = lambda s: s * 1000
    print(f"render ({name:5}): mean {ms(r['mean']):6.2f} ms  median {ms(r['median']):6.2f} ms  max {ms(r['max']):6.2f} ms  (budget 50 ms on the median: {'ok' if r['median'] < 0.05 else 'OVER'})")
PY
