#!/usr/bin/env bash
# ci/beside-tests.sh OUT_DIR: the checks ci/test-all.sh runs in the background while the tests
# run (niced, in their own process group): the stack tests spend most of their time waiting on
# LiteLLM's start, and these, which need no engine, take the idle CPU. In order, each with its
# log in OUT_DIR:
#   1. ci/release-checks.sh --out OUT_DIR/dist   the release files (issue 18)    release-checks.log
#   2. ci/windows-checks.sh on those files         the shipped .exe under wine     windows-checks.log
#   3. ci/fuzz.sh                                  the parsers under cargo-fuzz    fuzz.log
# Each check that cannot start because an earlier one failed says so in its log. The Windows
# checks build in their own target dir (target/windows-checks, kept between runs): the tests'
# `cargo test` holds the lock on target/ while it runs. LST_GLIBC_BIN is passed on to the release checks.
# Exit: 0 when all three passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
OUT=${1:?usage: ci/beside-tests.sh OUT_DIR}
mkdir -p "$OUT" || exit 1
rc=0
run() { # NAME COMMAND...: one check, its output in OUT/NAME.log, timed
    local name=$1 t0=$SECONDS
    shift
    if "$@" >"$OUT/$name.log" 2>&1; then
        echo "ci/beside-tests.sh: $name passed in $((SECONDS - t0)) s" >>"$OUT/$name.log"
        return 0
    fi
    echo "ci/beside-tests.sh: $name FAILED after $((SECONDS - t0)) s" >>"$OUT/$name.log"
    rc=1
    return 1
}
if run release-checks bash ci/release-checks.sh --out "$OUT/dist"; then
    run windows-checks env CARGO_TARGET_DIR="$PWD/target/windows-checks" LST_RELEASE_DIR="$OUT/dist" bash ci/windows-checks.sh
else
    echo "ci/beside-tests.sh: not run: the release checks failed, and these checks run their files" >"$OUT/windows-checks.log"
fi
run fuzz env LST_FUZZ_SECONDS="${LST_FUZZ_SECONDS:-30}" bash ci/fuzz.sh
exit "$rc"
