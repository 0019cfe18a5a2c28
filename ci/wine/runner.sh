#!/usr/bin/env bash
# ci/wine/runner.sh PROGRAM.exe [ARGS...]: runs a Windows build under Debian's wine64, for
# cargo's CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER and for ci/windows-checks.sh.
#
# Rust's std on Windows imports bcryptprimitives.dll!ProcessPrng, which Wine 8.0 lacks, so
# every .exe fails to load there (status c0000135). The stub DLL from build-stub.sh provides it
# (on top of advapi32!SystemFunction036, RtlGenRandom) and WINEPATH puts it on the DLL search
# path. The wine prefix lives in the target dir, away from the user's ~/.wine.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd -- "$here/../.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
case $target_dir in
    /*) ;;
    *) target_dir="$PWD/$target_dir" ;;
esac
stub_dir="$target_dir/wine/stub"

wine=""
for candidate in "$(command -v wine64 || true)" /usr/lib/wine/wine64 "$(command -v wine || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
        wine=$candidate
        break
    fi
done
if [ -z "$wine" ]; then
    echo "runner.sh: wine64 not found: apt-get install wine64 (Debian) to run the Windows build" >&2
    exit 3
fi

bash "$here/build-stub.sh" "$stub_dir"

export WINEPREFIX=${WINEPREFIX:-$target_dir/wine/prefix}
# Wine's own diagnostics would mix into the program's stderr, which the checks read.
export WINEDEBUG=${WINEDEBUG:--all}
# Wine maps Z: to /, so a Unix path is reachable as Z: plus the path with backslashes.
stub_win="Z:${stub_dir//\//\\}"
export WINEPATH="$stub_win${WINEPATH:+;$WINEPATH}"
exec "$wine" "$@"
