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

# The release files (issue 18, ci/release-checks.sh: two release builds from two checkout paths
# give identical SHA256SUMS, sizes, the musl binary on Debian bullseye, the bootstrap from a
# file:// release location) are built in the background while the tests run: the stack tests
# spend most of their time waiting on LiteLLM's start, and the builds, niced, take the idle CPU.
# Their files go on to the Windows checks, which run the shipped .exe under wine.
TARGET_ROOT=${CARGO_TARGET_DIR:-target}
case $TARGET_ROOT in /*) ;; *) TARGET_ROOT=$PWD/$TARGET_ROOT ;; esac
CI_OUT=$TARGET_ROOT/ci
rm -rf "$CI_OUT"
mkdir -p "$CI_OUT"
cp "$TARGET_ROOT/debug/litellm-stack" "$CI_OUT/litellm-stack-glibc"
section "release checks: started in the background (log: $CI_OUT/release-checks.log)"
# Its own process group (setsid), so that a failed or interrupted run ends the builds too.
LST_GLIBC_BIN=$CI_OUT/litellm-stack-glibc setsid nice -n 19 bash ci/release-checks.sh --out "$CI_OUT/dist" \
    >"$CI_OUT/release-checks.log" 2>&1 </dev/null &
release_pid=$!
stop_release() { kill -- "-$release_pid" 2>/dev/null || true; }
trap stop_release EXIT
trap 'stop_release; exit 130' INT
trap 'stop_release; exit 143' TERM

section "cargo test"
tests_rc=0
cargo test --all-targets --no-fail-fast -- --test-threads=2 || tests_rc=$?

section "release checks"
release_rc=0
wait "$release_pid" || release_rc=$?
cat "$CI_OUT/release-checks.log"
[ "$tests_rc" = 0 ] || { echo "ci/test-all.sh: cargo test FAILED (exit $tests_rc; output above)" >&2; exit "$tests_rc"; }
[ "$release_rc" = 0 ] || { echo "ci/test-all.sh: ci/release-checks.sh FAILED (exit $release_rc; its log above)" >&2; exit "$release_rc"; }

section "windows checks"
LST_RELEASE_DIR=$CI_OUT/dist bash ci/windows-checks.sh

# The answers and .env parsers under cargo-fuzz, a bounded time each (ci/fuzz.sh).
section "fuzz (cargo-fuzz)"
LST_FUZZ_SECONDS=${LST_FUZZ_SECONDS:-30} bash ci/fuzz.sh

section "all checks passed"
