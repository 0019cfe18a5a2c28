#!/usr/bin/env bash
# ci/windows-checks.sh: the Windows and bootstrap bars (issue 6), on a Debian 12 machine.
#
#   1. tools: rustup's x86_64-pc-windows-gnu target; mingw-w64, wine64, shellcheck from apt
#   2. shellcheck on the bash scripts
#   3. cargo clippy --all-targets for Windows, -D warnings
#   4. the release files (the shipped .exe and Linux binary): LST_RELEASE_DIR, or ci/release.sh
#   5. the library's unit tests, built for Windows, run under wine (ci/wine/runner.sh)
#   6. the real litellm-stack.exe under wine:
#      - `render` writes the same files as the Linux binary, except the documented Windows
#        differences (named volumes instead of bind mounts; the install path), all with LF only,
#        and restricts .env with icacls
#      - `install --yes` with no engine exits 3 naming Docker Desktop
#
# Idempotent: installs only what is missing, builds incrementally. Run by ci/test-all.sh; alone:
# bash ci/windows-checks.sh. Every failed check says what was expected and what was seen.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
TARGET=x86_64-pc-windows-gnu
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target}
case $TARGET_DIR in
    /*) ;;
    *) TARGET_DIR="$REPO/$TARGET_DIR" ;;
esac
RUNNER="$REPO/ci/wine/runner.sh"

WORK=$(mktemp -d)
trap 'rm -rf -- "$WORK"' EXIT

step() { printf '\n---- windows-checks: %s ----\n' "$*"; }
fail() {
    printf 'windows-checks: FAILED: %s\n' "$*" >&2
    exit 1
}
pass() { printf 'windows-checks: ok: %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# ---- 1. tools ---------------------------------------------------------------------------------
step "tools"
if ! rustup target list --installed | grep -qx "$TARGET"; then
    rustup target add "$TARGET"
fi
missing=()
for pkg in gcc-mingw-w64-x86-64 wine64 shellcheck; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]}"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
pass "rust target $TARGET, mingw-w64, wine64, shellcheck"

# The prefix is created once, before anything runs in it concurrently.
export WINEPREFIX="$TARGET_DIR/wine/prefix"
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    mkdir -p "$(dirname "$WINEPREFIX")"
    "$RUNNER" wineboot --init
    # Wait until wineboot's background processes are done with the new prefix.
    "$(command -v wineserver || echo /usr/lib/wine/wineserver64)" -w
fi
bash ci/wine/build-stub.sh "$TARGET_DIR/wine/stub"

# ---- 2. shellcheck ----------------------------------------------------------------------------
step "shellcheck"
shellcheck installer-scripts/install.sh ci/windows-checks.sh ci/wine/runner.sh ci/wine/build-stub.sh
pass "shellcheck: installer-scripts/install.sh and the CI scripts"

# ---- 3. clippy for Windows --------------------------------------------------------------------
step "cargo clippy --all-targets --target $TARGET -- -D warnings"
cargo clippy --all-targets --target "$TARGET" -- -D warnings
pass "clippy clean for $TARGET"

# ---- 4. the release files ---------------------------------------------------------------------
# What a Windows user downloads: the .exe of ci/release.sh (reproducible flags, the PE time stamp
# left out), beside the static Linux binary of the same build, which renders the files compared
# below. ci/test-all.sh passes the files its release checks built (LST_RELEASE_DIR); alone, this
# script builds them. ci/release-checks.sh checks their sizes (15 MB each) and checksums.
step "release files"
if [ -n "${LST_RELEASE_DIR:-}" ]; then
    DIST=$LST_RELEASE_DIR
else
    DIST="$WORK/dist"
    bash ci/release.sh "$DIST"
fi
EXE="$DIST/litellm-stack-$TARGET.exe"
LINUX_BIN="$DIST/litellm-stack-x86_64-unknown-linux-musl"
[ -f "$EXE" ] || fail "no $EXE: the release build did not produce it"
[ -x "$LINUX_BIN" ] || fail "no $LINUX_BIN: the release build did not produce it"
if x86_64-w64-mingw32-objdump -h "$EXE" | grep -q '\.debug_'; then
    fail "$EXE carries debug sections: the release profile no longer strips"
fi
pass "release files: $EXE ($(($(stat -c %s "$EXE") / 1024)) KiB, stripped) and the Linux binary of the same build"

# ---- 5. unit tests under wine -----------------------------------------------------------------
step "cargo test --target $TARGET --lib (under wine)"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$RUNNER"
# Unix-only settings of this shell mean nothing to a Windows process. A failure here is
# reported at the end, after the .exe checks below have run too.
unit_tests_failed=0
if env -u DOCKER_HOST cargo test --target "$TARGET" --lib -- --test-threads=2; then
    pass "the library's unit tests pass as a Windows program"
else
    unit_tests_failed=1
    echo "windows-checks: the library's unit tests FAILED under wine (output above); continuing with the .exe checks" >&2
fi

# ---- 6. the real .exe under wine --------------------------------------------------------------
step "litellm-stack.exe under wine"
# wine_exe ARGS...: the release .exe with a clean environment: no Docker settings, English.
wine_exe() {
    env -u DOCKER_HOST -u DOCKER_CONTEXT -u DOCKER_CONFIG -u OPENAI_API_KEY LANG=en_US.UTF-8 \
        "$RUNNER" "$EXE" "$@"
}
to_win() { printf 'Z:%s' "${1//\//\\}"; }

version=$(wine_exe --version | tr -d '\r')
[ "$version" = "$("$LINUX_BIN" --version)" ] || fail "litellm-stack.exe --version said '$version'"
pass "litellm-stack.exe runs under wine: $version"

# The same answers on both; the Windows dir gets the Linux .env first, so both keep the same
# secrets and every difference left is one the design documents.
ANSWERS="$REPO/assets/answers.example.yaml"
LIN="$WORK/linux/litellm"
WIN="$WORK/windows/litellm"
env -u OPENAI_API_KEY "$LINUX_BIN" render --answers "$ANSWERS" --dir "$LIN" >/dev/null
mkdir -p "$WIN"
cp "$LIN/.env" "$WIN/.env"
WINEDEBUG=-all,+process wine_exe render --answers "$ANSWERS" --dir "$(to_win "$WIN")" \
    >"$WORK/render.out" 2>"$WORK/render.trace" ||
    fail "litellm-stack.exe render exited $?: $(cat "$WORK/render.out" "$WORK/render.trace" | grep -v ':trace:' | tail -n 20)"

for f in .env config.yaml nginx/nginx.conf prometheus/prometheus.yml; do
    cmp -s "$LIN/$f" "$WIN/$f" || fail "$f differs between Linux and Windows: $(diff "$LIN/$f" "$WIN/$f" | head -n 20)"
done
# Prometheus's key is a metrics-only virtual key that the install makes through the API once
# the database is up; render writes none on either system (never a copy of the master key).
for f in prometheus/litellm_metrics_key prometheus/secrets/litellm_metrics_key; do
    for side in "$LIN" "$WIN"; do
        [ ! -e "$side/$f" ] || fail "render wrote $f ($side): the metrics key must come from the API, not a copy of the master key"
    done
done
pass "render: .env, config.yaml, nginx.conf and prometheus.yml are identical; neither wrote a metrics key"

# docker-compose.yml: the data mounts are named volumes on Windows, declared at the end.
sed -E 's#^(    - )\./(pg_data|redis_data|prometheus_data):#\1\2:#' "$LIN/docker-compose.yml" >"$WORK/compose.expected"
printf 'volumes:\n  pg_data: {}\n  redis_data: {}\n  prometheus_data: {}\n' >>"$WORK/compose.expected"
cmp -s "$WORK/compose.expected" "$WIN/docker-compose.yml" ||
    fail "docker-compose.yml on Windows is not the Linux one with named volumes: $(diff "$WORK/compose.expected" "$WIN/docker-compose.yml" | head -n 30)"
grep -q '^    - \./pg_data:' "$LIN/docker-compose.yml" || fail "the Linux compose file has no pg_data bind mount to compare with"
pass "render: docker-compose.yml differs only by named volumes for pg_data, redis_data, prometheus_data"

# answers.yaml: the install path and the storage default, nothing else.
diff <(grep -vE '^(dir|data):' "$LIN/answers.yaml") <(grep -vE '^(dir|data):' "$WIN/answers.yaml") >/dev/null ||
    fail "answers.yaml differs beyond dir and data: $(diff "$LIN/answers.yaml" "$WIN/answers.yaml")"
grep -qx 'data: volumes' "$WIN/answers.yaml" || fail "Windows answers.yaml does not record data: volumes"
grep -qxF "dir: $(to_win "$WIN")" "$WIN/answers.yaml" || fail "Windows answers.yaml does not record the Windows path: $(grep '^dir:' "$WIN/answers.yaml")"
pass "render: answers.yaml differs only by dir (a Windows path) and data: volumes"

while IFS= read -r -d '' f; do
    if grep -q $'\r' "$f"; then fail "${f#"$WORK"/} has CR bytes (CRLF); files must be LF only"; fi
done < <(find "$WIN" -type f -print0)
pass "render: every file written by the .exe is LF only"

# Wine's icacls only logs its arguments, so this proves the command the Windows build runs on
# .env (through its temp file), not the resulting ACL.
icacls_line=$(grep -F 'cmdline L"\"C:\\windows\\System32\\icacls.exe\"' "$WORK/render.trace" | grep -F '/inheritance:r /grant:r' | head -n 1 || true)
[ -n "$icacls_line" ] || fail "render did not run icacls /inheritance:r /grant:r on .env: $(grep -F icacls "$WORK/render.trace" | head -n 5)"
case $icacls_line in
    *':F"'*) ;;
    *) fail "icacls grants something other than full control to the owner: $icacls_line" ;;
esac
pass "render: .env is restricted with: ${icacls_line##*cmdline }"

# No engine: no Docker Desktop pipe exists under wine.
set +e
wine_exe --lang en install --yes --answers "$ANSWERS" --dir "$(to_win "$WORK/windows/install")" >"$WORK/install.out" 2>"$WORK/install.err"
code=$?
set -e
[ "$code" = 3 ] || fail "install --yes without an engine exited $code, expected 3: $(cat "$WORK/install.out" "$WORK/install.err")"
grep -q 'Docker Desktop' "$WORK/install.err" || fail "install --yes without an engine does not name Docker Desktop: $(cat "$WORK/install.err")"
grep -q 'npipe:////./pipe/docker_engine' "$WORK/install.err" || fail "the error does not name the pipe it tried: $(cat "$WORK/install.err")"
grep -q 'Error' "$WORK/install.err" || fail "--lang en did not print the English error: $(cat "$WORK/install.err")"
pass "install --yes with no engine exits 3 (--lang en over the answers' zh-TW): $(head -n 1 "$WORK/install.err" | tr -d '\r')"

# The same in Traditional Chinese: the Windows build reads the language and prints UTF-8.
set +e
env -u DOCKER_HOST LANG=zh_TW.UTF-8 "$RUNNER" "$EXE" install --yes --dir "$(to_win "$WORK/windows/install-zh")" >"$WORK/install-zh.out" 2>"$WORK/install-zh.err"
code=$?
set -e
[ "$code" = 3 ] || fail "install --yes --lang from LANG=zh_TW exited $code, expected 3: $(cat "$WORK/install-zh.err")"
if ! grep -q 'Docker Desktop' "$WORK/install-zh.err" || ! grep -q '錯誤' "$WORK/install-zh.err"; then
    fail "the zh-TW error does not name Docker Desktop in Chinese: $(cat "$WORK/install-zh.err")"
fi
pass "the same in zh-TW: $(head -n 1 "$WORK/install-zh.err" | tr -d '\r')"

[ "$unit_tests_failed" = 0 ] || fail "cargo test --target $TARGET --lib failed under wine (see its output above)"
step "all Windows checks passed"
