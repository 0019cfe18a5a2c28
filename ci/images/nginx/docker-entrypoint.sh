#!/bin/sh
# Entrypoint of the lst-test nginx image, after the official nginx image's: when the command is
# nginx (or nginx-debug), render /etc/nginx/templates/*.template into /etc/nginx/conf.d/ with
# envsubst (only variables that are set are substituted, as upstream) and run
# /docker-entrypoint.d/*.sh; then exec the command.
set -eu

if [ "${1:-}" = nginx ] || [ "${1:-}" = nginx-debug ]; then
    template_dir=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
    suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
    output_dir=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
    filter=${NGINX_ENVSUBST_FILTER:-}
    if [ -d "$template_dir" ]; then
        # shellcheck disable=SC2016,SC2046 # literal ${NAME} list; names split on purpose
        defined_envs=$(printf '${%s} ' $(awk "END { for (name in ENVIRON) { print ( name ~ /${filter}/ ) ? name : \"\" } }" < /dev/null))
        for template in "$template_dir"/*"$suffix"; do
            [ -f "$template" ] || continue
            relative=${template#"$template_dir/"}
            output="$output_dir/${relative%"$suffix"}"
            mkdir -p "$(dirname "$output")"
            echo "$0: running envsubst on $template to $output" >&2
            envsubst "$defined_envs" < "$template" > "$output"
        done
    fi
    for f in /docker-entrypoint.d/*.sh; do
        if [ ! -f "$f" ] || [ ! -x "$f" ]; then continue; fi
        echo "$0: launching $f" >&2
        "$f"
    done
fi

exec "$@"
