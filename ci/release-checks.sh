#!/usr/bin/env bash
# ci/release-checks.sh: the release files as a new team member gets them (run by ci/test-all.sh).
#   1. ci/release.sh builds them; the same commit built again, later, from a clone in another
#      directory gives the same SHA256SUMS, every file. The second build shares the first one's
#      target dir: the dependencies (whose flags do not name the checkout) are reused, this
#      package's crates are compiled again from the other path and both binaries linked again.
#      What is proved: the checkout path and the build time do not reach the bytes.
#   2. each file within 15 MB; the Linux one statically linked
#   3. in a Debian bullseye rootfs (glibc 2.31, like Ubuntu 20.04): the musl binary runs
#      --version and render; the glibc build of the same commit does not start (why musl)
#   4. the bootstrap from a file:// release location installs, verifies and runs it; a second
#      run changes nothing; a tampered release file is refused before it runs, nothing installed
#
# ci/release-checks.sh [--out DIR]: DIR keeps the first build's release files (ci/test-all.sh
# hands them to ci/windows-checks.sh, which runs the shipped .exe under wine). LST_GLIBC_BIN
# names an already-built glibc binary of this commit for check 3 (ci/test-all.sh passes the one
# `cargo test` built, since a `cargo build` here would wait for the tests' lock on target/);
# without it, check 3 builds one.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=/var/cache/litellm-stack-ci
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
REL1=$WORK/rel1
case ${1:-} in
    --out) [ -n "${2:-}" ] || { echo "ci/release-checks.sh: --out needs a directory" >&2; exit 2; }
        REL1=$2 ;;
    "") ;;
    *) echo "ci/release-checks.sh: unknown argument '$1' (usage: ci/release-checks.sh [--out DIR])" >&2; exit 2 ;;
esac
case $REL1 in /*) ;; *) REL1=$PWD/$REL1 ;; esac
T_START=$(date +%s)
step() { echo "==> ci/release-checks.sh: $*" >&2; }
pass() { echo "ci/release-checks.sh: ok: $*"; }
fail() { echo "ci/release-checks.sh: FAIL: $*" >&2; exit 1; }
LINUX_FILE=litellm-stack-x86_64-unknown-linux-musl
WINDOWS_FILE=litellm-stack-x86_64-pc-windows-gnu.exe

# 1. two builds
step "release build"
t0=$(date +%s)
bash "$REPO/ci/release.sh" "$REL1"
build_s=$(($(date +%s) - t0))
step "second release build, from a clone of the same commit in another directory"
git clone --quiet --no-hardlinks "$REPO" "$WORK/checkout2"
git -C "$WORK/checkout2" checkout --quiet "$(git -C "$REPO" rev-parse HEAD)"
sleep 1 # a later build time, to the second
t0=$(date +%s)
RELEASE_TARGET_DIR=${RELEASE_TARGET_DIR:-$REPO/target/release-dist} bash "$WORK/checkout2/ci/release.sh" "$WORK/rel2"
build2_s=$(($(date +%s) - t0))
cmp -s "$REL1/SHA256SUMS" "$WORK/rel2/SHA256SUMS" ||
    fail "two builds of one commit (from $REPO and from $WORK/checkout2) differ:
$(diff "$REL1/SHA256SUMS" "$WORK/rel2/SHA256SUMS")"
cmp -s "$REL1/manifest.json" "$WORK/rel2/manifest.json" || fail "the manifests of two builds differ"
pass "two release builds, from two checkout paths, give identical SHA256SUMS and manifest (builds: ${build_s} s, ${build2_s} s)"

# 2. sizes, static linking
for f in "$LINUX_FILE" "$WINDOWS_FILE"; do
    bytes=$(stat -c %s "$REL1/$f")
    [ "$bytes" -le $((15 * 1024 * 1024)) ] || fail "$f is $bytes bytes, over 15 MB"
    pass "$f: $((bytes / 1024)) KiB"
done
file "$REL1/$LINUX_FILE" | grep -Eq 'static(-pie)? linked|statically linked' ||
    fail "$LINUX_FILE is not statically linked: $(file "$REL1/$LINUX_FILE")"
grep -q "commit $(git -C "$REPO" rev-parse --short=12 HEAD); pins LiteLLM" <<<"$("$REL1/$LINUX_FILE" --version)" ||
    fail "--version does not name the commit and the pinned LiteLLM: $("$REL1/$LINUX_FILE" --version)"
pass "$LINUX_FILE is static; --version: $("$REL1/$LINUX_FILE" --version)"

# 3. Debian bullseye (glibc 2.31)
rootfs_tar=$CACHE/bullseye/rootfs.tar
if [ ! -s "$rootfs_tar" ]; then
    step "mmdebstrap bullseye (cached in $rootfs_tar)"
    mkdir -p "$CACHE/bullseye"
    mmdebstrap --quiet --variant=minbase --mode=root --format=tar bullseye "$rootfs_tar.tmp" http://deb.debian.org/debian ||
        fail "mmdebstrap bullseye failed"
    mv "$rootfs_tar.tmp" "$rootfs_tar"
fi
root=$WORK/bullseye
mkdir -p "$root"
tar -C "$root" -xf "$rootfs_tar"
# sed reads to the end: `head` would close the pipe early, and ldd's SIGPIPE fails the pipeline.
glibc=$(chroot "$root" /usr/bin/ldd --version | sed -n 1p)
case $glibc in *2.31*) ;; *) fail "the bullseye rootfs runs $glibc, not glibc 2.31" ;; esac
cp "$REL1/$LINUX_FILE" "$root/usr/local/bin/litellm-stack"
chroot "$root" /usr/local/bin/litellm-stack --version >/dev/null || fail "the musl binary does not run on bullseye"
printf 'dir: /srv/litellm\nproject: bullseye\n' > "$root/answers.yaml"
chroot "$root" /usr/local/bin/litellm-stack render --answers /answers.yaml >/dev/null ||
    fail "render does not work with the musl binary on bullseye"
if [ ! -s "$root/srv/litellm/docker-compose.yml" ] || [ ! -s "$root/srv/litellm/.env" ]; then
    fail "render on bullseye wrote no docker-compose.yml/.env"
fi
pass "the musl binary runs --version and render on Debian bullseye ($glibc)"
step "the glibc build, for comparison"
# The debug build (cargo test builds it in the suite): it links against the host's glibc just
# as a glibc release build does (the glibc symbol versions come from the link).
if [ -n "${LST_GLIBC_BIN:-}" ]; then
    glibc_bin=$LST_GLIBC_BIN
    [ -x "$glibc_bin" ] || fail "LST_GLIBC_BIN=$glibc_bin is not an executable"
else
    cargo build --locked --quiet --bin litellm-stack --manifest-path "$REPO/Cargo.toml"
    glibc_bin=${CARGO_TARGET_DIR:-$REPO/target}/debug/litellm-stack
    case $glibc_bin in /*) ;; *) glibc_bin=$REPO/$glibc_bin ;; esac
fi
cp "$glibc_bin" "$root/usr/local/bin/litellm-stack-glibc"
if out=$(chroot "$root" /usr/local/bin/litellm-stack-glibc --version 2>&1); then
    fail "the glibc build ran on glibc 2.31: the musl build would not be needed ($out)"
fi
grep -q "GLIBC_2\.3[2-9]" <<<"$out" || fail "the glibc build failed on bullseye for another reason: $out"
pass "the glibc build does not start on bullseye: ${out%%$'\n'*}"

# 4. the bootstrap from a release location
prefix=$WORK/bin
step "install.sh --release-url file://$REL1"
out=$(bash "$REPO/installer-scripts/install.sh" --release-url "file://$REL1" --prefix "$prefix" --no-run 2>&1) ||
    fail "the bootstrap from the release location failed: $out"
cmp -s "$prefix/litellm-stack" "$REL1/$LINUX_FILE" || fail "the installed binary is not the release file"
grep -q "SHA-256 verified" <<<"$out" || fail "the bootstrap did not say it verified the file: $out"
before=$(stat -c %Y "$prefix/litellm-stack")
sleep 1
# The second run also runs what it installed (the arguments after -- go to litellm-stack).
out=$(bash "$REPO/installer-scripts/install.sh" --release-url "file://$REL1" --prefix "$prefix" -- --version 2>&1) ||
    fail "the second bootstrap failed: $out"
grep -q "already this version" <<<"$out" || fail "the second bootstrap did not say it left the binary alone: $out"
[ "$(stat -c %Y "$prefix/litellm-stack")" = "$before" ] || fail "the second bootstrap rewrote the binary"
grep -q "commit $(git -C "$REPO" rev-parse --short=12 HEAD); pins LiteLLM" <<<"$out" ||
    fail "the second bootstrap did not run the installed binary (no --version line): $out"
pass "the bootstrap installs and verifies the release file; a second run is a no-op and runs it: $(tail -n 1 <<<"$out")"
cp -a "$REL1" "$WORK/tampered"
printf 'x' | dd of="$WORK/tampered/$LINUX_FILE" bs=1 seek=4096 conv=notrunc status=none
set +e
out=$(bash "$REPO/installer-scripts/install.sh" --release-url "file://$WORK/tampered" --prefix "$WORK/bin2" --no-run 2>&1)
code=$?
set -e
[ "$code" = 2 ] || fail "a tampered release file gave exit $code, not 2: $out"
grep -q "checksum mismatch" <<<"$out" || fail "the refusal does not say checksum mismatch: $out"
[ ! -e "$WORK/bin2/litellm-stack" ] || fail "the tampered file was installed"
pass "a tampered release file is refused before it runs (exit 2), nothing installed"
echo "ci/release-checks.sh: all release checks passed in $(($(date +%s) - T_START)) s"
