#!/bin/sh
# Entrypoint of the lst-test redis image: the official redis image's docker-entrypoint.sh.
#   - first arg an option (-x/--x) or a *.conf file: prepend redis-server;
#   - redis-server started as root: chown what in the workdir (/data) is not redis's and
#     re-exec as the redis user (setpriv, like gosu);
#   - anything else (e.g. `sh -c 'exec redis-server --requirepass "$REDIS_PASSWORD"'`) is
#     exec'ed as given, as root, exactly like the official image.
# Protected mode: see /usr/local/bin/redis-server (it is off by default, as in the official
# image, whichever way redis-server is started).
set -eu

if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi

if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
    find . \! -user redis -exec chown redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

um=$(umask)
if [ "$um" = '0022' ]; then
    umask 0077
fi

exec "$@"
