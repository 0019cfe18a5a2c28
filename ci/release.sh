#!/usr/bin/env bash
# ci/release.sh [OUT_DIR]: the release files of the checked-out commit, built with --locked:
#   litellm-stack-x86_64-unknown-linux-musl   static (musl): Ubuntu 20.04/22.04/24.04, Debian
#   litellm-stack-x86_64-pc-windows-gnu.exe   Windows 10/11 (x86_64)
#   SHA256SUMS                                 what the bootstrap scripts verify against
#   manifest.json                              version, commit, build date, the pinned images
#   install.sh, install.ps1                    the bootstrap scripts (--release-url / -ReleaseUrl)
# Reproducible: paths are remapped (checkout, CARGO_HOME, RUSTUP_HOME), the rustc wrapper runs
# from a fixed path (cargo hashes its path into the crate metadata), the PE time stamp is
# left out, and the only date is SOURCE_DATE_EPOCH (the commit's time), in the manifest. Two
# builds of one commit give the same SHA256SUMS (ci/release-checks.sh proves it).
# OUT_DIR defaults to dist/; the build uses its own target dir (RELEASE_TARGET_DIR, default
# target/release-dist), since the remapping flags differ from a normal build's.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$REPO/dist}
TARGET_DIR=${RELEASE_TARGET_DIR:-$REPO/target/release-dist}
LINUX=x86_64-unknown-linux-musl
WINDOWS=x86_64-pc-windows-gnu
die() { echo "ci/release.sh: ERROR: $*" >&2; exit 1; }

command -v git >/dev/null || die "git is needed (the commit goes into --version and the manifest)"
commit=$(git -C "$REPO" rev-parse --short=12 HEAD) || die "$REPO is not a git checkout"
SOURCE_DATE_EPOCH=$(git -C "$REPO" log -1 --format=%ct HEAD)
export SOURCE_DATE_EPOCH LST_COMMIT=$commit
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/Cargo.toml" | head -n1)
for t in "$LINUX" "$WINDOWS"; do
    rustup target list --installed | grep -qx "$t" || rustup target add "$t" || die "rustup cannot add $t"
done
command -v x86_64-w64-mingw32-gcc >/dev/null || die "the Windows linker is missing: apt-get install gcc-mingw-w64-x86-64"

case $TARGET_DIR in /*) ;; *) TARGET_DIR=$PWD/$TARGET_DIR ;; esac
# Every crate (the dependencies too): the registry, the toolchain and the target dir (build
# scripts' OUT_DIR) remapped. The checkout is remapped by ci/release-rustc.sh, for this
# package's crates only: so RUSTFLAGS does not name the checkout, and a build from another
# checkout path with the same target dir recompiles only this package.
remap="--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo --remap-path-prefix=${RUSTUP_HOME:-$HOME/.rustup}=/rustup --remap-path-prefix=$TARGET_DIR=/target"
# Cargo hashes the workspace wrapper's path into this package's -C metadata (the crate's
# StableCrateId: symbol hashes, TypeIds, thin LTO's partitioning), so a wrapper run from the
# checkout ($REPO/ci/release-rustc.sh) made every checkout path give other bytes (8.3 of 10.1 MB
# of the stripped musl binary differed). The wrapper is therefore run from one fixed path, the
# same in every build and on every machine.
WRAPPER_DIR=/tmp/litellm-stack-release-rustc
mkdir -m 700 "$WRAPPER_DIR" 2>/dev/null || [ -d "$WRAPPER_DIR" ] || die "cannot create $WRAPPER_DIR"
if [ ! -O "$WRAPPER_DIR" ] || [ -n "$(find "$WRAPPER_DIR" -maxdepth 0 -perm /022)" ]; then
    die "$WRAPPER_DIR is not this user's own directory, or others can write to it: remove it"
fi
if ! cmp -s "$REPO/ci/release-rustc.sh" "$WRAPPER_DIR/rustc"; then
    wrapper_tmp=$(mktemp "$WRAPPER_DIR/rustc.XXXXXX")
    cp "$REPO/ci/release-rustc.sh" "$wrapper_tmp"
    chmod 755 "$wrapper_tmp"
    mv -f "$wrapper_tmp" "$WRAPPER_DIR/rustc" # atomic: a concurrent build never runs half a file
fi
export RUSTC_WORKSPACE_WRAPPER=$WRAPPER_DIR/rustc LST_RELEASE_SRC=$REPO
build() { # TARGET EXTRA_RUSTFLAGS
    echo "==> ci/release.sh: cargo build --release --locked --target $1" >&2
    # RUSTFLAGS replaces any target rustflags, so each target gets its own.
    RUSTFLAGS="$remap $2" cargo build --release --locked --quiet --bin litellm-stack \
        --manifest-path "$REPO/Cargo.toml" --target "$1" --target-dir "$TARGET_DIR"
}
t0=$(date +%s)
build "$LINUX" "-C target-feature=+crt-static"
# GNU ld writes the link time into the PE header unless told not to.
build "$WINDOWS" "-C link-arg=-Wl,--no-insert-timestamp"

rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp"
cp "$TARGET_DIR/$LINUX/release/litellm-stack" "$OUT.tmp/litellm-stack-$LINUX"
cp "$TARGET_DIR/$WINDOWS/release/litellm-stack.exe" "$OUT.tmp/litellm-stack-$WINDOWS.exe"
cp "$REPO/installer-scripts/install.sh" "$REPO/installer-scripts/install.ps1" "$OUT.tmp/"
touch -d "@$SOURCE_DATE_EPOCH" "$OUT.tmp"/litellm-stack-* "$OUT.tmp"/install.*
(cd "$OUT.tmp" && sha256sum litellm-stack-* install.sh install.ps1 | LC_ALL=C sort -k2 > SHA256SUMS)
# shellcheck source=versions.env
. "$REPO/versions.env"
size() { stat -c %s "$OUT.tmp/$1"; }
cat > "$OUT.tmp/manifest.json" <<JSON
{
  "name": "litellm-stack",
  "version": "$version",
  "commit": "$commit",
  "build_date": "$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)",
  "files": {
    "litellm-stack-$LINUX": {"os": "linux", "arch": "x86_64", "bytes": $(size "litellm-stack-$LINUX")},
    "litellm-stack-$WINDOWS.exe": {"os": "windows", "arch": "x86_64", "bytes": $(size "litellm-stack-$WINDOWS.exe")}
  },
  "images": {
    "litellm": "$LITELLM_IMAGE",
    "postgres": "$POSTGRES_IMAGE",
    "redis": "$REDIS_IMAGE",
    "nginx": "$NGINX_IMAGE",
    "prometheus": "$PROMETHEUS_IMAGE"
  }
}
JSON
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
echo "==> ci/release.sh: $OUT ($(($(date +%s) - t0)) s):" >&2
cat "$OUT/SHA256SUMS" >&2
