#!/usr/bin/env bash
# ci/wine/build-stub.sh OUT_DIR: builds bcryptprimitives.dll (see bcryptprimitives.c) into
# OUT_DIR with mingw-w64, unless an up-to-date one is already there. Used by ci/wine/runner.sh
# and ci/windows-checks.sh; the DLL is for wine runs in CI only and is never shipped.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
out_dir=${1:?usage: build-stub.sh OUT_DIR}
src="$here/bcryptprimitives.c"
dll="$out_dir/bcryptprimitives.dll"

if [ -f "$dll" ] && [ "$dll" -nt "$src" ]; then
    exit 0
fi
if ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
    echo "build-stub.sh: x86_64-w64-mingw32-gcc not found: apt-get install gcc-mingw-w64-x86-64" >&2
    exit 3
fi
mkdir -p -- "$out_dir"
# Built beside its final name, then renamed: two runners starting at once never load half a DLL.
tmp=$(mktemp "$out_dir/.bcryptprimitives.XXXXXX")
x86_64-w64-mingw32-gcc -O2 -shared -s -o "$tmp" "$src" -ladvapi32
mv -f -- "$tmp" "$dll"
echo "build-stub.sh: built $dll" >&2
