#!/usr/bin/env bash
# Builds the one Debian rootfs the postgres, redis, nginx and prometheus test images derive
# from: OUT/rootfs.tar, bookworm (--variant=apt) with the servers from versions.env.
# (The LiteLLM test image, with its database, is built by ci/litellm-db.sh.)
# Usage: build-rootfs.sh OUT_DIR
set -euo pipefail

die() { echo "build-rootfs.sh: ERROR: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: build-rootfs.sh OUT_DIR"
out=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=ci/images/versions.env
. "$here/versions.env"

[ "$(id -u)" = 0 ] || die "must run as root (mmdebstrap --mode=root)"
command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed (apt-get install mmdebstrap)"

# Use the mirror the host's apt uses (deb822 file pasted as the chroot's sources).
mirror=http://deb.debian.org/debian
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    if [ -s "$f" ] && grep -q "$DEBIAN_SUITE" "$f"; then mirror=$f; break; fi
done

mkdir -p "$out"
work=$(mktemp -d "$out/tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "build-rootfs.sh: mmdebstrap $DEBIAN_SUITE (mirror: $mirror) -> $out" >&2
# Hooks run on the host with "$1" = the chroot directory.
# - postgresql-common's postinst creates a default cluster we do not want (the image's
#   entrypoint runs initdb on PGDATA itself): drop it.
# - size: prometheus depends on libjs-moment-timezone (214 MB of web-UI JavaScript) and
#   postgresql-15 on libllvm14 + libz3 (130 MB, only for JIT): purged, with dpkg's
#   --force-depends (Prometheus' API and /-/ready do not use the JS; PostgreSQL runs without
#   JIT when its provider cannot load). Docs, man pages and translations go too.
# shellcheck disable=SC2016 # "$1" in single quotes is meant for the hook's shell
mmdebstrap \
    --mode=root \
    --variant=apt \
    --format=tar \
    --components=main \
    --include="${ROOTFS_PACKAGES// /,}" \
    --customize-hook='rm -rf "$1/var/lib/postgresql/15" "$1/etc/postgresql/15"' \
    --customize-hook='chroot "$1" dpkg --purge --force-depends libjs-moment-timezone libllvm14 libz3-4' \
    --customize-hook='rm -rf "$1"/usr/share/locale/* "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/info/* "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/*' \
    "$DEBIAN_SUITE" "$work/rootfs.tar" "$mirror"

mv "$work/rootfs.tar" "$out/rootfs.tar"
echo "build-rootfs.sh: done: $(du -sh "$out/rootfs.tar" | cut -f1) rootfs" >&2
