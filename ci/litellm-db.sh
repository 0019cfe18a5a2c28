#!/usr/bin/env bash
# ci/litellm-db.sh: the LiteLLM test image WITH its Postgres database, built from
# ../shared/images/litellm-db (the real PyPI proxy, Prisma through a WASM query engine, the
# official image's contract: see its README), in both versions the tests use (versions.env:
# LITELLM_TEST_VERSION, and LITELLM_PREVIOUS_TEST_VERSION for upgrades).
#
# Cached by recipe hash (every file of the recipe, the version, the host's apt sources):
# an image whose hash is current locally is kept; one the local registry still holds is
# pulled; otherwise it is built (3-5 minutes per version on a fresh machine). Each image is
# pushed to the local registry, where the installer under test pulls it like any other.
#
# Usage: ci/litellm-db.sh REGISTRY ENV_OUT   (appends `export LST_IMAGE_LITELLM…` lines)
set -Eeuo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REGISTRY=$1
ENV_OUT=$2
RECIPE=${LITELLM_DB_RECIPE:-$REPO/../shared/images/litellm-db}
log() { echo "==> ci/litellm-db.sh $*" >&2; }
die() { echo "ci/litellm-db.sh: ERROR: $*" >&2; exit 1; }

[ -f "$RECIPE/build.sh" ] || die "the litellm-db recipe is missing: $RECIPE/build.sh (the shared folder ../shared beside the checkout; set LITELLM_DB_RECIPE to its images/litellm-db)"
# shellcheck source=versions.env
. "$REPO/versions.env"

recipe_hash() {
    {
        echo "$1"
        (cd "$RECIPE" && find . -type f ! -name README.md -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
        cat /etc/apt/sources.list.d/debian.sources 2>/dev/null || true
    } | sha256sum | cut -c1-12
}

# The registry's config digest for REF (= the local image id of what was pushed), or nothing.
registry_config() {
    local name=${1#"$REGISTRY/"} tag
    tag=${name##*:}; name=${name%:*}
    curl -fsS --max-time 10 -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://$REGISTRY/v2/$name/manifests/$tag" 2>/dev/null \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])' 2>/dev/null || true
}

build_one() { # VERSION -> prints the registry reference
    local v=$1 hash local_tag ref id
    hash=$(recipe_hash "$v")
    local_tag=lst-test/litellm-db:$v-$hash
    ref=$REGISTRY/lst-test/litellm-db:$v-$hash
    if ! docker image inspect "$ref" >/dev/null 2>&1; then
        if [ -n "$(registry_config "$ref")" ]; then
            log "docker pull $ref"
            docker pull --quiet "$ref" >/dev/null || die "docker pull $ref failed"
        else
            log "building LiteLLM $v with its database (recipe $hash)"
            LITELLM_VERSION=$v TAG=$local_tag bash "$RECIPE/build.sh" >&2 \
                || die "building the litellm-db image $v failed (output above)"
            docker tag "$local_tag" "$ref"
            docker image rm "$local_tag" >/dev/null
        fi
    fi
    id=$(docker image inspect -f '{{.Id}}' "$ref")
    if [ "$(registry_config "$ref")" != "$id" ]; then
        log "docker push $ref"
        docker push --quiet "$ref" >/dev/null || die "docker push $ref failed"
        [ "$(registry_config "$ref")" = "$id" ] || die "after the push, $REGISTRY does not serve $ref as $id"
    fi
    # Images of older recipes of this version: remove (best effort).
    docker image ls --format '{{.Repository}}:{{.Tag}}' "$REGISTRY/lst-test/litellm-db" \
        | grep -F ":$v-" | grep -vxF "$ref" | xargs -r docker image rm >/dev/null 2>&1 || true
    echo "$ref"
}

current=$(build_one "$LITELLM_TEST_VERSION")
previous=$(build_one "$LITELLM_PREVIOUS_TEST_VERSION")
{
    echo "export LST_IMAGE_LITELLM=$current"
    echo "export LST_IMAGE_LITELLM_PREVIOUS=$previous"
    echo "export LST_LITELLM_PREVIOUS_VERSION=$LITELLM_PREVIOUS_TEST_VERSION"
} >>"$ENV_OUT"
