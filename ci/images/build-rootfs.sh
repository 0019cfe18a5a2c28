#!/usr/bin/env bash
# Builds the one Debian rootfs all test images derive from, in two tarballs:
#   OUT/rootfs.tar        bookworm (--variant=apt) with the servers from versions.env
#   OUT/litellm-venv.tar  the contents of /opt/litellm, a venv of the real LiteLLM proxy,
#                         built inside the rootfs (same interpreter as the image) and then
#                         moved out, so only the litellm image carries its ~750 MB.
# Usage: build-rootfs.sh OUT_DIR WHEEL_DIR
#   WHEEL_DIR holds wheels for litellm[proxy] and all its dependencies (ci/setup.sh fills it
#   with the host's /usr/bin/python3, the same Debian Python as the rootfs), so the chroot
#   needs no PyPI access and no TLS trust setup.
set -euo pipefail

die() { echo "build-rootfs.sh: ERROR: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: build-rootfs.sh OUT_DIR WHEEL_DIR"
out=$1
wheels=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=ci/images/versions.env
. "$here/versions.env"

[ "$(id -u)" = 0 ] || die "must run as root (mmdebstrap --mode=root)"
[ -d "$wheels" ] || die "wheel directory $wheels does not exist"
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
# - the venv: created with the chroot's python3 so paths and interpreter match the image.
# shellcheck disable=SC2016 # "$1" in single quotes is meant for the hook's shell
mmdebstrap \
    --mode=root \
    --variant=apt \
    --format=tar \
    --components=main \
    --include="${ROOTFS_PACKAGES// /,}" \
    --customize-hook='rm -rf "$1/var/lib/postgresql/15" "$1/etc/postgresql/15"' \
    --customize-hook='mkdir -p "$1/tmp/wheels"' \
    --customize-hook="sync-in '$wheels' /tmp/wheels" \
    --customize-hook="copy-in '$here/litellm-constraints.txt' /tmp" \
    --customize-hook="chroot \"\$1\" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root sh -euc '
        python3 -m venv /opt/litellm
        /opt/litellm/bin/pip install --quiet --no-cache-dir --no-index --find-links /tmp/wheels \
            -c /tmp/litellm-constraints.txt \"litellm[proxy]==$LITELLM_VERSION\" prometheus_client prisma
        LITELLM_LOCAL_MODEL_COST_MAP=True /opt/litellm/bin/python -c \"import litellm.proxy.proxy_server\"
        rm -rf /tmp/wheels /tmp/litellm-constraints.txt /root/.cache'" \
    --customize-hook="tar -C \"\$1/opt/litellm\" -cf '$work/litellm-venv.tar' ." \
    --customize-hook='rm -rf "$1/opt/litellm"' \
    --customize-hook='chroot "$1" dpkg --purge --force-depends libjs-moment-timezone libllvm14 libz3-4' \
    --customize-hook='rm -rf "$1"/usr/share/locale/* "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/info/* "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/*' \
    "$DEBIAN_SUITE" "$work/rootfs.tar" "$mirror"

mv "$work/litellm-venv.tar" "$out/litellm-venv.tar"
mv "$work/rootfs.tar" "$out/rootfs.tar"
echo "build-rootfs.sh: done: $(du -sh "$out/rootfs.tar" | cut -f1) rootfs, $(du -sh "$out/litellm-venv.tar" | cut -f1) litellm venv" >&2
