#!/usr/bin/env bash
# ci/sweep-test-stacks.sh: remove what an interrupted earlier run of the suite left on an engine.
#
# A CI machine keeps /var/lib/docker between runs. A run stopped mid-test leaves its stacks, and
# their `restart: unless-stopped` brings them back at the next dockerd start: Postgres, Redis and
# LiteLLM of every such stack then eat the CPU and memory that this run's tests are timed on,
# and their networks use up the engine's address pools. Only the suite's own names are touched:
# Compose projects `lste2e-*` (tests/common/stack.rs, engine_e2e) and `lsttui-*` (tui_tmux), and
# the images those tests build or pull (`lst-e2e/*`, `lst-e2e-airgap/*`, `lst-pull-e2e/*`, also
# under a loopback registry's or relay's address, `127.0.0.1:PORT/lst-e2e/*`).
#
# Usage: ci/sweep-test-stacks.sh [DOCKER_HOST]   (default: the engine `docker` talks to)
# Callers hold /tmp/lst-e2e.lock, the lock every stack test of a developer machine runs under.
set -Eeuo pipefail
[ $# -gt 0 ] && export DOCKER_HOST=$1
log() { echo "==> ci/sweep-test-stacks.sh ${DOCKER_HOST:-default engine}: $*" >&2; }
ours='^(lste2e|lsttui)-'

mapfile -t containers < <(docker ps -aq --filter label=com.docker.compose.project \
    | xargs -r docker inspect --format '{{.Id}} {{index .Config.Labels "com.docker.compose.project"}}' \
    | awk -v re="$ours" '$2 ~ re { print $1 }')
if [ ${#containers[@]} -gt 0 ]; then
    log "removing ${#containers[@]} container(s) of earlier test stacks"
    docker rm -f -v "${containers[@]}" >/dev/null
fi
mapfile -t networks < <(docker network ls --format '{{.Name}}' | grep -E "$ours" || true)
if [ ${#networks[@]} -gt 0 ]; then
    log "removing ${#networks[@]} network(s)"
    docker network rm "${networks[@]}" >/dev/null
fi
mapfile -t volumes < <(docker volume ls -q | grep -E "$ours" || true)
if [ ${#volumes[@]} -gt 0 ]; then
    log "removing ${#volumes[@]} volume(s)"
    docker volume rm "${volumes[@]}" >/dev/null
fi
mapfile -t images < <(docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^(127\.0\.0\.1:[0-9]+/)?(lst-e2e(-airgap)?|lst-pull-e2e)/' || true)
if [ ${#images[@]} -gt 0 ]; then
    log "removing ${#images[@]} test image tag(s)"
    docker rmi -f "${images[@]}" >/dev/null
fi
