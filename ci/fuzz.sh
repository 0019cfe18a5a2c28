#!/usr/bin/env bash
# ci/fuzz.sh: runs the cargo-fuzz targets in fuzz/ (the answers parser; the .env reader and
# writer) for a bounded time each; exits non-zero on a crash, a failed check or a build error.
#
#   LST_FUZZ_SECONDS   seconds per target (default 60)
#   LST_FUZZ_TARGETS   targets to run, space separated (default: every target in fuzz/)
#
# The machine has the stable toolchain only: cargo-fuzz's sanitizer flags are nightly ones,
# accepted by stable with RUSTC_BOOTSTRAP=1 (set for these builds only). cargo-fuzz is
# installed when missing (`cargo install --locked cargo-fuzz`: about a minute here).
# A crash leaves its input in fuzz/artifacts/<target>/; replay it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/<file>   (in fuzz/)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"

seconds=${LST_FUZZ_SECONDS:-60}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "ci/fuzz.sh: installing cargo-fuzz (cargo install --locked cargo-fuzz)"
    start=$SECONDS
    cargo install --locked cargo-fuzz
    echo "ci/fuzz.sh: cargo-fuzz installed in $((SECONDS - start)) s"
fi

targets=${LST_FUZZ_TARGETS:-$(cargo fuzz list)}
[ -n "$targets" ] || { echo "ci/fuzz.sh: ERROR: no fuzz target found" >&2; exit 1; }

start=$SECONDS
cargo fuzz build --dev
echo "ci/fuzz.sh: built in $((SECONDS - start)) s"

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
for t in $targets; do
    echo "ci/fuzz.sh: fuzzing $t for ${seconds} s"
    # A fresh corpus each run, seeded by fuzz/seeds/<target> when there is one.
    rm -rf "${corpus:?}/$t" && mkdir -p "$corpus/$t"
    seeds=()
    [ -d "seeds/$t" ] && seeds=("seeds/$t")
    cargo fuzz run --dev "$t" "$corpus/$t" "${seeds[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
echo "ci/fuzz.sh: every target ran ${seconds} s without a crash"
