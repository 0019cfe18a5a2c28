#!/usr/bin/env bash
# ci/setup.sh: prepares this machine (Debian 12, root) for litellm-stack's test suite.
# Idempotent and fast when everything is already in place:
#   1. apt packages (apt-get update + install only when one is missing)
#   2. rustup target x86_64-pc-windows-gnu, components clippy + rustfmt
#   3. dockerd in the background when `docker info` fails (log: /var/log/litellm-stack-ci/)
#   4. Debian's docker-registry on 127.0.0.1:5000 when /v2/ does not answer
#   5. a host venv with the real LiteLLM proxy (pinned, ci/images/versions.env)
#   6. the test images (ci/images/), rebuilt only when the recipe hash changed, pushed to
#      the local registry; the LiteLLM image with its database (ci/litellm-db.sh, both
#      versions); a networking self-check once per dockerd instance
#   7. the exports for the tests, written to /var/lib/litellm-stack-ci/env and printed
set -Eeuo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=/var/lib/litellm-stack-ci
CACHE=/var/cache/litellm-stack-ci
LOGS=/var/log/litellm-stack-ci
ENV_FILE=$STATE/env
REGISTRY=127.0.0.1:5000
LITELLM_VENV=$STATE/litellm-venv
HOST_PYTHON=/usr/bin/python3

APT_PACKAGES=(
    mmdebstrap nginx-light prometheus redis-server docker-registry
    shellcheck tmux wine64 gcc-mingw-w64-x86-64 musl-tools postgresql-client
    curl ca-certificates python3 python3-venv git iptables pigz xz-utils procps
)

T0=$(date +%s)
step() { echo "==> ci/setup.sh [$(($(date +%s) - T0))s] $*" >&2; }
die() { echo "ci/setup.sh: ERROR: $*" >&2; exit 1; }
trap 'echo "ci/setup.sh: FAILED (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts dockerd)"
mkdir -p "$STATE" "$CACHE" "$LOGS"

# shellcheck source=ci/images/versions.env
. "$REPO/ci/images/versions.env"

# Starts "$@" detached from this script (own session, no inherited stdio), appending to LOG.
start_daemon() {
    local log=$1; shift
    setsid nohup "$@" >>"$log" 2>&1 </dev/null &
}

# The engine and Compose v2 come from Debian trixie (Docker 26.1, API 1.45; Compose 2.26), the
# current engine users have. The suite lives in its own .list file with a low pin priority, so
# nothing else is taken from it, and build-rootfs.sh / the litellm-db image (which read
# debian.sources) never see it.
TRIXIE_PACKAGES=(docker.io docker-compose)
TRIXIE_LIST=/etc/apt/sources.list.d/litellm-stack-ci-trixie.list
TRIXIE_PIN=/etc/apt/preferences.d/litellm-stack-ci-trixie

# ---------------------------------------------------------------------------------------------
step "1/7 apt packages"
missing=()
trixie_missing=()
for p in "${TRIXIE_PACKAGES[@]}"; do
    case "$(dpkg-query -W -f='${db:Status-Status} ${Version}' "$p" 2>/dev/null || true)" in
        "installed 26."* | "installed 2."*) ;;
        *) trixie_missing+=("$p") ;;
    esac
done
for p in "${APT_PACKAGES[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ] || [ ${#trixie_missing[@]} -gt 0 ]; then
    step "installing: ${missing[*]} ${trixie_missing[*]}"
    if [ ${#trixie_missing[@]} -gt 0 ]; then
        if ! grep -rqs '^deb .* trixie ' /etc/apt/sources.list.d/*.list; then
            echo "deb http://deb.debian.org/debian trixie main" > "$TRIXIE_LIST"
        fi
        printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' > "$TRIXIE_PIN"
    fi
    # Keep package scripts from starting services (dockerd, redis, nginx, the registry):
    # this script starts what it needs itself.
    created_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update || die "apt-get update failed"
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get install -y --no-install-recommends "${missing[@]}" \
            || die "apt-get install failed for: ${missing[*]}"
    fi
    if [ ${#trixie_missing[@]} -gt 0 ]; then
        # A running bookworm dockerd (20.10) is replaced: stop it first, step 3 starts 26.1.
        if [ -s /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
            kill "$(cat /var/run/docker.pid)"
            for _ in $(seq 1 30); do kill -0 "$(cat /var/run/docker.pid 2>/dev/null)" 2>/dev/null || break; sleep 1; done
        fi
        apt-get install -y --no-install-recommends -t trixie "${trixie_missing[@]}" \
            || die "apt-get install -t trixie failed for: ${trixie_missing[*]}"
    fi
    if [ -n "$created_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

# ---------------------------------------------------------------------------------------------
step "2/7 rust toolchain pieces"
command -v rustup >/dev/null || die "rustup not found on PATH ($PATH)"
(
    cd "$REPO"
    for t in x86_64-pc-windows-gnu x86_64-unknown-linux-musl; do
        rustup target list --installed | grep -qx "$t" || rustup target add "$t"
    done
    installed=$(rustup component list --installed)
    for c in clippy rustfmt; do
        grep -q "^$c" <<<"$installed" || rustup component add "$c"
    done
) || die "rustup could not add the windows-gnu/musl targets or clippy/rustfmt"

# ---------------------------------------------------------------------------------------------
step "3/7 docker daemon"
docker_ok() { timeout 20 docker info >/dev/null 2>&1; }
if ! docker_ok; then
    pidfile=/var/run/docker.pid
    if [ -s "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        rm -f "$pidfile"   # stale pid file from a daemon that died: dockerd refuses to start
    fi
    if [ ! -s "$pidfile" ]; then
        step "starting dockerd (log: $LOGS/dockerd.log)"
        # Plain dockerd works in this sandbox: overlay2 storage, iptables (nf_tables backend)
        # for the bridge networks, NAT and -p publishing, the embedded DNS on user networks.
        echo "---- $(date -Is) ci/setup.sh starts dockerd" >>"$LOGS/dockerd.log"
        start_daemon "$LOGS/dockerd.log" dockerd --log-level=warn
    fi
    for _ in $(seq 1 60); do docker_ok && break; sleep 1; done
    docker_ok || die "dockerd did not answer within 60 s; last log lines:
$(tail -n 20 "$LOGS/dockerd.log")"
fi

# Test stacks that an interrupted earlier run left behind (a CI machine keeps /var/lib/docker).
flock /tmp/lst-e2e.lock bash "$REPO/ci/sweep-test-stacks.sh" || die "could not remove the test stacks of an earlier run"

# ---------------------------------------------------------------------------------------------
step "4/7 local registry on $REGISTRY"
registry_ok() { curl -fsS -o /dev/null --max-time 3 "http://$REGISTRY/v2/"; }
if ! registry_ok; then
    cat > "$STATE/registry.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $STATE/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY
EOF
    mkdir -p "$STATE/registry"
    step "starting docker-registry (log: $LOGS/registry.log)"
    echo "---- $(date -Is) ci/setup.sh starts docker-registry" >>"$LOGS/registry.log"
    start_daemon "$LOGS/registry.log" docker-registry serve "$STATE/registry.yml"
    for _ in $(seq 1 30); do registry_ok && break; sleep 0.5; done
    registry_ok || die "docker-registry did not answer http://$REGISTRY/v2/ (port taken by something else?); last log lines:
$(tail -n 20 "$LOGS/registry.log")"
fi

# ---------------------------------------------------------------------------------------------
step "5/7 LiteLLM $LITELLM_VERSION: wheels and host venv"
[ -x "$HOST_PYTHON" ] || die "$HOST_PYTHON missing"
py_version=$("$HOST_PYTHON" -c 'import platform; print(platform.python_version())')
constraints=$REPO/ci/images/litellm-constraints.txt
pip_key=$( { echo "$LITELLM_VERSION $py_version"; cat "$constraints"; } | sha256sum | cut -c1-16)
wheels=$CACHE/wheels/$pip_key
pip_spec=("litellm[proxy]==$LITELLM_VERSION" prometheus_client prisma)
if [ ! -f "$LITELLM_VENV/.lst-key" ] || [ "$(cat "$LITELLM_VENV/.lst-key")" != "$pip_key" ]; then
    rm -rf "$LITELLM_VENV"
    "$HOST_PYTHON" -m venv "$LITELLM_VENV" || die "python3 -m venv failed (python3-venv installed?)"
fi
if [ ! -f "$wheels/.complete" ]; then
    step "downloading/building wheels into $wheels"
    rm -rf "$wheels.tmp"
    "$LITELLM_VENV/bin/pip" wheel --quiet --wheel-dir "$wheels.tmp" -c "$constraints" "${pip_spec[@]}" \
        || die "pip wheel failed for ${pip_spec[*]} (PyPI reachable?)"
    touch "$wheels.tmp/.complete"
    rm -rf "$wheels"
    mv "$wheels.tmp" "$wheels"
fi
if [ ! -f "$LITELLM_VENV/.lst-key" ]; then
    step "installing the proxy into $LITELLM_VENV"
    "$LITELLM_VENV/bin/pip" install --quiet --no-index --find-links "$wheels" -c "$constraints" "${pip_spec[@]}" \
        || die "pip install of ${pip_spec[*]} into $LITELLM_VENV failed"
    echo "$pip_key" > "$LITELLM_VENV/.lst-key"
fi
got=$("$LITELLM_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))')
[ "$got" = "$LITELLM_VERSION" ] || die "host venv has litellm $got, expected $LITELLM_VERSION"

# ---------------------------------------------------------------------------------------------
step "6/7 test images"
# Recipe hash: every file of ci/images/ but the README, plus the apt sources the rootfs uses.
recipe_hash=$(
    cd "$REPO"
    {
        find ci/images -type f ! -name README.md -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
        for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
            if [ -f "$f" ]; then cat "$f"; fi
        done
    } | sha256sum | cut -c1-16
)
step "recipe hash $recipe_hash"

# LiteLLM is not here: its image, with the database, comes from ci/litellm-db.sh below.
SERVICES=(postgres redis nginx prometheus)
declare -A TAG=(
    [postgres]=$TAG_POSTGRES [redis]=$TAG_REDIS [nginx]=$TAG_NGINX [prometheus]=$TAG_PROMETHEUS
)
declare -A STANDS_FOR=(
    [postgres]=postgres:16 [redis]=redis:7 [nginx]=nginx:1.27 [prometheus]=prom/prometheus
)
ref() { echo "$REGISTRY/$IMAGE_NAMESPACE/$1:${TAG[$1]}"; }
image_label() { docker image inspect -f '{{ index .Config.Labels "lst.recipe-hash" }}' "$1" 2>/dev/null || true; }

# The registry's manifest for REF: its config digest (= the local image id of what was pushed),
# and the recipe-hash label inside that config. Empty when the registry lacks REF.
registry_manifest_config() {
    local name=${1#"$REGISTRY/"} tag
    tag=${name##*:}; name=${name%:*}
    curl -fsS --max-time 10 \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$REGISTRY/v2/$name/manifests/$tag" 2>/dev/null \
        | "$HOST_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])' 2>/dev/null || true
}
registry_label() {
    local name=${1#"$REGISTRY/"} digest
    name=${name%:*}
    digest=$(registry_manifest_config "$1")
    [ -n "$digest" ] || return 0
    curl -fsSL --max-time 30 "http://$REGISTRY/v2/$name/blobs/$digest" 2>/dev/null \
        | "$HOST_PYTHON" -c 'import json,sys; print((json.load(sys.stdin)["config"].get("Labels") or {}).get("lst.recipe-hash",""))' 2>/dev/null || true
}

stale=()
for s in "${SERVICES[@]}"; do
    r=$(ref "$s")
    [ "$(image_label "$r")" = "$recipe_hash" ] && continue
    # Missing here but current in the registry (e.g. a test removed it): pull, do not rebuild.
    if [ "$(registry_label "$r")" = "$recipe_hash" ]; then
        step "docker pull $r"
        docker pull --quiet "$r" >/dev/null || die "docker pull $r failed"
        [ "$(image_label "$r")" = "$recipe_hash" ] && continue
    fi
    stale+=("$s")
done

if [ ${#stale[@]} -gt 0 ]; then
    step "building: ${stale[*]}"
    rootfs_dir=$CACHE/rootfs/$recipe_hash
    base=$IMAGE_NAMESPACE/base:$recipe_hash
    if ! docker image inspect "$base" >/dev/null 2>&1 && [ ! -f "$rootfs_dir/rootfs.tar" ]; then
        # Only one rootfs is worth keeping: drop the ones of older recipes.
        rm -rf "$CACHE/rootfs"
        step "building the rootfs with mmdebstrap (cached in $rootfs_dir)"
        bash "$REPO/ci/images/build-rootfs.sh" "$rootfs_dir" \
            || die "building the rootfs failed (see the mmdebstrap output above)"
    fi
    if ! docker image inspect "$base" >/dev/null 2>&1; then
        step "docker import $base"
        docker import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            --change "LABEL lst.recipe-hash=$recipe_hash" \
            "$rootfs_dir/rootfs.tar" "$base" >/dev/null \
            || die "docker import of $rootfs_dir/rootfs.tar failed"
    fi
    for s in "${stale[@]}"; do
        ctx=$REPO/ci/images/$s
        step "docker build $(ref "$s") (log: $LOGS/build-$s.log)"
        # The legacy builder: FROM a local, never-pulled base works offline.
        DOCKER_BUILDKIT=0 docker build \
            --build-arg "BASE=$base" \
            --label "lst.recipe-hash=$recipe_hash" \
            --label "lst.stands-for=${STANDS_FOR[$s]}" \
            -t "$(ref "$s")" "$ctx" >"$LOGS/build-$s.log" 2>&1 \
            || die "docker build of $(ref "$s") failed; last lines of $LOGS/build-$s.log:
$(tail -n 30 "$LOGS/build-$s.log")"
    done
    # Images of older recipes: remove (best effort; a container may still use one).
    comm -23 \
        <(docker image ls -q --no-trunc --filter label=lst.recipe-hash | sort -u) \
        <(docker image ls -q --no-trunc --filter "label=lst.recipe-hash=$recipe_hash" | sort -u) \
        | while read -r id; do docker rmi -f "$id" >/dev/null 2>&1 || true; done
fi

# Push what the registry does not hold yet.
for s in "${SERVICES[@]}"; do
    r=$(ref "$s")
    id=$(docker image inspect -f '{{.Id}}' "$r")
    if [ "$(registry_manifest_config "$r")" != "$id" ]; then
        step "docker push $r"
        docker push --quiet "$r" >/dev/null || die "docker push $r failed"
        [ "$(registry_manifest_config "$r")" = "$id" ] || die "after the push, $REGISTRY does not serve $r as $id"
    fi
done

# Networking self-check, once per dockerd instance: -p publishing to 127.0.0.1 and name
# resolution between two containers on a user-defined bridge network.
dockerd_pid=$(cat /var/run/docker.pid 2>/dev/null || echo unknown)
net_stamp=$STATE/netcheck.$dockerd_pid.$(stat -c %Y /var/run/docker.pid 2>/dev/null || echo 0)
if [ ! -f "$net_stamp" ]; then
    step "networking self-check"
    net=lst-ci-selfcheck-$$
    cleanup_net() { docker rm -f "$net-web" >/dev/null 2>&1 || true; docker network rm "$net" >/dev/null 2>&1 || true; }
    cleanup_net
    docker network create "$net" >/dev/null || die "docker network create failed"
    if ! docker run -d --name "$net-web" --network "$net" -p 127.0.0.1::80 "$(ref nginx)" >/dev/null; then
        cleanup_net; die "could not start an nginx container"
    fi
    port=$(docker port "$net-web" 80/tcp | head -n1 | sed 's/.*://')
    ok=
    for _ in $(seq 1 40); do
        if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then ok=1; break; fi
        sleep 0.25
    done
    [ -n "$ok" ] || { cleanup_net; die "port publishing does not work: http://127.0.0.1:$port/ (container port 80) does not answer"; }
    if ! docker run --rm --network "$net" "$(ref nginx)" curl -fsS -o /dev/null --max-time 5 "http://$net-web/"; then
        cleanup_net; die "containers on a user-defined network cannot reach each other by name"
    fi
    cleanup_net
    rm -f "$STATE"/netcheck.*
    touch "$net_stamp"
fi

# ---------------------------------------------------------------------------------------------
step "7/7 environment for the tests"
for b in /usr/sbin/nginx /usr/bin/prometheus /usr/bin/promtool /usr/bin/redis-server "$LITELLM_VENV/bin/litellm"; do
    [ -x "$b" ] || die "$b is missing"
done
tmp_env=$(mktemp "$ENV_FILE.XXXXXX")
cat > "$tmp_env" <<EOF
# Written by ci/setup.sh (recipe $recipe_hash). Source it: . $ENV_FILE
export LST_TEST_REGISTRY=$REGISTRY
export LST_IMAGE_POSTGRES=$(ref postgres)
export LST_IMAGE_REDIS=$(ref redis)
export LST_IMAGE_NGINX=$(ref nginx)
export LST_IMAGE_PROMETHEUS=$(ref prometheus)
export LST_LITELLM_BIN=$LITELLM_VENV/bin/litellm
export LST_LITELLM_VERSION=$LITELLM_VERSION
export LST_NGINX_BIN=/usr/sbin/nginx
export LST_PROMETHEUS_BIN=/usr/bin/prometheus
export LST_PROMTOOL_BIN=/usr/bin/promtool
export LST_REDIS_SERVER_BIN=/usr/bin/redis-server
EOF
step "the LiteLLM image with its database (ci/litellm-db.sh)"
bash "$REPO/ci/litellm-db.sh" "$REGISTRY" "$tmp_env" || { rm -f "$tmp_env"; die "ci/litellm-db.sh failed"; }
step "a second engine, Docker 20.10 (API 1.41) (ci/engine-2010.sh)"
bash "$REPO/ci/engine-2010.sh" "$tmp_env" || { rm -f "$tmp_env"; die "ci/engine-2010.sh failed"; }
chmod 0644 "$tmp_env"
mv "$tmp_env" "$ENV_FILE"
step "done; $ENV_FILE:"
cat "$ENV_FILE"
