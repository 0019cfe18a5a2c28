#!/usr/bin/env bash
# ci/engine-2010.sh: a second Docker engine, 20.10 (API 1.41: bookworm's docker.io, close to
# what Ubuntu 22.04's docker.io is), beside the suite's 26.1, so that the install end-to-end
# test also runs on the older API (tests/engine_2010_e2e.rs).
#
# The package is unpacked (not installed: it conflicts with trixie's docker.io) under
# /opt/lst-docker-2010, and its dockerd runs with its own socket, data root, exec root and
# managed containerd. It leaves iptables to the 26.1 engine (--iptables=false, userland proxy
# for published ports); its networks come from 10.210.0.0/16, which one DOCKER-USER rule lets
# through the FORWARD chain that the 26.1 engine sets to DROP.
#
# Its default bridge is its own, lst2010br0 (10.211.0.1/24), made here. Never `--bridge=none`:
# a dockerd started with it deletes the host's docker0, the 26.1 engine's default bridge, and
# every container on that engine's default network (`docker build` steps among them) then
# fails with "adding interface ... to bridge docker0 failed: Device does not exist".
#
# Usage: ci/engine-2010.sh ENV_OUT   (appends `export LST_DOCKER_HOST_2010=…`)
# Idempotent: an engine that already answers is left running.
set -Eeuo pipefail
ENV_OUT=$1
VERSION=20.10.24+dfsg1-1+deb12u1+b6
ROOT=/opt/lst-docker-2010
RUN=/run/lst-docker-2010
SOCK=$RUN/docker.sock
POOL=10.210.0.0/16
BRIDGE=lst2010br0
BRIDGE_CIDR=10.211.0.1/24
LOGS=/var/log/litellm-stack-ci
log() { echo "==> ci/engine-2010.sh $*" >&2; }
die() { echo "ci/engine-2010.sh: ERROR: $*" >&2; exit 1; }
answers() { timeout 20 env DOCKER_HOST="unix://$SOCK" docker version --format '{{.Server.APIVersion}}' 2>/dev/null | grep -qx 1.41; }

mkdir -p "$LOGS" "$RUN"
if [ "$(cat "$ROOT/.version" 2>/dev/null)" != "$VERSION" ]; then
    log "unpacking docker.io $VERSION into $ROOT"
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download "docker.io=$VERSION" >/dev/null 2>&1) \
        || die "apt-get download docker.io=$VERSION failed (is bookworm in the apt sources?)"
    rm -rf "$ROOT"
    dpkg -x "$tmp"/docker.io_*.deb "$ROOT"
    rm -rf "$tmp"
    echo "$VERSION" > "$ROOT/.version"
fi

# The 26.1 engine makes DOCKER-USER; the rule goes in once.
iptables -C DOCKER-USER -s "$POOL" -d "$POOL" -j ACCEPT 2>/dev/null \
    || iptables -I DOCKER-USER -s "$POOL" -d "$POOL" -j ACCEPT \
    || die "could not let $POOL through DOCKER-USER (is the 26.1 engine running?)"

if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge || die "could not create the bridge $BRIDGE"
    ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
fi
ip link set "$BRIDGE" up

if ! answers; then
    pid=$RUN/docker.pid
    if [ -s "$pid" ] && ! kill -0 "$(cat "$pid")" 2>/dev/null; then rm -f "$pid"; fi
    # Its network state starts empty every time. At start, dockerd 20.10 deletes the default
    # "bridge" network kept in its store from the previous start and then, because
    # --default-address-pool is set, the interface named docker0, whatever --bridge says
    # (moby 20.10 daemon/daemon_unix.go, initNetworkController, "Clear stale bridge network").
    # So the second start on a kept data root took the 26.1 engine's docker0: that is how CI
    # failed on a machine that keeps /var/lib between runs. Nothing on this engine outlives a
    # test, so there is nothing to keep.
    rm -rf /var/lib/lst-docker-2010/network
    log "starting dockerd 20.10 on $SOCK (log: $LOGS/dockerd-2010.log)"
    echo "---- $(date -Is) ci/engine-2010.sh starts dockerd 20.10" >>"$LOGS/dockerd-2010.log"
    setsid nohup "$ROOT/usr/sbin/dockerd" --log-level=warn \
        -H "unix://$SOCK" --pidfile "$pid" \
        --data-root /var/lib/lst-docker-2010 --exec-root "$RUN/exec" \
        --iptables=false --ip-masq=false --bridge="$BRIDGE" \
        --default-address-pool "base=$POOL,size=24" \
        --userland-proxy-path "$ROOT/usr/sbin/docker-proxy" \
        >>"$LOGS/dockerd-2010.log" 2>&1 </dev/null &
    for _ in $(seq 1 60); do answers && break; sleep 1; done
    answers || die "dockerd 20.10 did not answer on $SOCK within 60 s; last log lines:
$(tail -n 20 "$LOGS/dockerd-2010.log")"
fi
# The 26.1 engine's default bridge must still be there (see the top of this file).
ip link show docker0 >/dev/null 2>&1 \
    || die "the 26.1 engine's bridge docker0 is gone after starting dockerd 20.10"
flock /tmp/lst-e2e.lock bash "$(dirname "${BASH_SOURCE[0]}")/sweep-test-stacks.sh" "unix://$SOCK" \
    || die "could not remove the test stacks of an earlier run"
log "Docker $(DOCKER_HOST="unix://$SOCK" docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
echo "export LST_DOCKER_HOST_2010=unix://$SOCK" >> "$ENV_OUT"
