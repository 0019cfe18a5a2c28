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

section "cargo test"
cargo test --all-targets --no-fail-fast -- --test-threads=2

# ---- Windows cross checks (x86_64-pc-windows-gnu build, wine): added later by their owner ----
if [ -x ci/windows-checks.sh ]; then
    section "windows checks"
    ci/windows-checks.sh
fi
# ---- end of Windows cross checks ----

# The answers and .env parsers under cargo-fuzz, a bounded time each (ci/fuzz.sh).
section "fuzz (cargo-fuzz)"
LST_FUZZ_SECONDS=${LST_FUZZ_SECONDS:-30} bash ci/fuzz.sh

# ci/release-checks.sh (issue 18: two release builds from two checkout paths give identical
# SHA256SUMS, sizes, the musl binary on Debian bullseye, the bootstrap from a file:// release
# location) runs through by hand (2026-12-04: 14 min niced beside this suite, the dependencies
# already built; about 20 min from nothing). It is not in the suite: with it, a run on a fresh
# machine would pass the 60-minute budget. Run it before a release: bash ci/release-checks.sh

section "all checks passed"
