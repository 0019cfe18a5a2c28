#!/usr/bin/env bash
# ci/test-all.sh: litellm-stack's "run the whole test suite" command (what .ci/run execs).
# Prepares the machine (ci/setup.sh: packages, dockerd, local registry, test images, LiteLLM
# venv), loads the exports the tests read, then runs formatting, lints and every test.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

section() { echo; echo "======== ci/test-all.sh: $* ========"; }
trap 'echo "ci/test-all.sh: FAILED (exit $?) at: $BASH_COMMAND" >&2' ERR

section "setup"
bash ci/setup.sh

ENV_FILE=/var/lib/litellm-stack-ci/env
[ -f "$ENV_FILE" ] || { echo "ci/test-all.sh: ERROR: $ENV_FILE missing after ci/setup.sh" >&2; exit 1; }
# shellcheck source=/dev/null
. "$ENV_FILE"

section "engine"
docker version --format 'Docker engine {{.Server.Version}} (API {{.Server.APIVersion}}), client {{.Client.Version}}'
docker compose version
DOCKER_HOST=$LST_DOCKER_HOST_2010 docker version --format 'Second engine for tests/engine_2010_e2e.rs: Docker {{.Server.Version}} (API {{.Server.APIVersion}})'

section "cargo fmt --check"
cargo fmt --all -- --check

section "cargo clippy"
cargo clippy --all-targets -- -D warnings

section "cargo test: build"
cargo test --all-targets --no-run

# The checks that need no engine (ci/beside-tests.sh: the release files of issue 18, then the
# Windows checks on the shipped .exe, then cargo-fuzz) run in the background, niced, while the
# tests run: the stack tests spend most of their time waiting on LiteLLM's start.
TARGET_ROOT=${CARGO_TARGET_DIR:-target}
case $TARGET_ROOT in /*) ;; *) TARGET_ROOT=$PWD/$TARGET_ROOT ;; esac
CI_OUT=$TARGET_ROOT/ci
rm -rf "$CI_OUT"
mkdir -p "$CI_OUT"
cp "$TARGET_ROOT/debug/litellm-stack" "$CI_OUT/litellm-stack-glibc"
section "release, Windows and fuzz checks: started in the background (logs: $CI_OUT/*.log)"
# Its own process group (setsid), so that a failed or interrupted run ends it too.
LST_GLIBC_BIN=$CI_OUT/litellm-stack-glibc setsid nice -n 19 bash ci/beside-tests.sh "$CI_OUT" \
    >"$CI_OUT/beside-tests.log" 2>&1 </dev/null &
beside_pid=$!
stop_beside() { kill -- "-$beside_pid" 2>/dev/null || true; }
trap stop_beside EXIT
trap 'stop_beside; exit 130' INT
trap 'stop_beside; exit 143' TERM

section "cargo test"
tests_rc=0
cargo test --all-targets --no-fail-fast -- --test-threads=2 || tests_rc=$?

beside_rc=0
wait "$beside_pid" || beside_rc=$?
for check in release-checks windows-checks fuzz; do
    section "$check (ran beside the tests)"
    cat "$CI_OUT/$check.log" 2>/dev/null || echo "(no log: ci/beside-tests.sh ended before it; see $CI_OUT/beside-tests.log)"
done
cat "$CI_OUT/beside-tests.log"
[ "$tests_rc" = 0 ] || { echo "ci/test-all.sh: cargo test FAILED (exit $tests_rc; output above)" >&2; exit "$tests_rc"; }
[ "$beside_rc" = 0 ] || { echo "ci/test-all.sh: a check beside the tests FAILED (its log above)" >&2; exit "$beside_rc"; }

section "all checks passed"
