#!/usr/bin/env bash
# bench/bootstrap.sh [RUNS]: a new member's first minute, timed from outside in tmux (80x24):
# from launching the bootstrap (`install.sh --release-url file://DIST`) until the wizard's first
# screen is in the terminal.
#   first run:  an empty ~/.local/bin: the release file is read, checked against SHA256SUMS,
#               installed, then run;
#   second run: the same version already installed: checked, left alone, run.
# DIST is LST_RELEASE_DIR (the files of ci/release.sh, e.g. target/ci/dist after ci/test-all.sh),
# or built here with ci/release.sh (minutes). The release location is a local directory, so
# the figures leave out the network: they are what the bootstrap itself costs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${1:-10}
command -v tmux >/dev/null || { echo "tmux is needed: apt-get install tmux" >&2; exit 1; }
WORK=$(mktemp -d)
# shellcheck source=bench/tmux.sh
. bench/tmux.sh
cleanup() { tm kill-server 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
DIST=${LST_RELEASE_DIR:-}
if [ -z "$DIST" ]; then
    DIST=$WORK/dist
    bash ci/release.sh "$DIST"
fi
[ -s "$DIST/SHA256SUMS" ] || { echo "no release files in $DIST" >&2; exit 1; }
BOOT=$PWD/installer-scripts/install.sh
export LANG=C.UTF-8
unset LC_ALL LC_MESSAGES
tm -f /dev/null new-session -d -s bench -x 80 -y 24 "sleep 100000"

launch() { # HOME: the bootstrap as a new member starts it, its wizard on the pane
    tm respawn-pane -k -t bench "sleep 100000"
    wait_screen -n "Choose your language" "$(now_us)" >/dev/null
    local t0; t0=$(now_us)
    tm respawn-pane -k -t bench "env HOME=$1 bash $BOOT --release-url file://$DIST"
    wait_screen "Choose your language" "$t0"
}
: > "$WORK/first"; : > "$WORK/again"
for i in $(seq "$RUNS"); do
    home=$WORK/home$i
    mkdir -p "$home"
    launch "$home" >> "$WORK/first"
    [ -x "$home/.local/bin/litellm-stack" ] || { echo "the bootstrap installed nothing in $home/.local/bin" >&2; exit 1; }
    launch "$home" >> "$WORK/again"
done
echo "bootstrap from file://$DIST to the wizard's first frame (80x24):"
echo "  first run (verify, install, run): $(stats < "$WORK/first")"
echo "  second run (already installed):   $(stats < "$WORK/again")"
