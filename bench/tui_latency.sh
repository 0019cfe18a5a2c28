#!/usr/bin/env bash
# bench/tui_latency.sh: how quickly the wizard answers, measured from outside, in tmux (80x24):
#   1. first frame: from launching `litellm-stack` until its first screen is in the terminal;
#   2. input under load: on the progress screen, fed N synthetic pull-progress events a second
#      (examples/tui_flood.rs), from a key (`?`) until the help it opens is on screen, and from
#      the next key until it is gone.
# The figures include tmux's own work (reading the program's output, `capture-pane`) and the
# polling step (one `capture-pane` every few ms): they are upper bounds. Targets: first frame
# within 100 ms, input handled within 50 ms.
#
# Usage: bench/tui_latency.sh [RUNS] [RATES...]   (default: 20 runs; rates 0 20000 100000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUNS=${1:-20}
shift || true
RATES=("$@")
[ ${#RATES[@]} -gt 0 ] || RATES=(0 20000 100000)

command -v tmux >/dev/null || { echo "tmux is needed: apt-get install tmux" >&2; exit 1; }
cargo build --release --quiet --bin litellm-stack --example tui_flood
BIN=$PWD/target/release/litellm-stack
FLOOD=$PWD/target/release/examples/tui_flood

WORK=$(mktemp -d)
# shellcheck source=bench/tmux.sh
. bench/tmux.sh
cleanup() { tm kill-server 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

export HOME=$WORK LANG=C.UTF-8
unset LC_ALL LC_MESSAGES
tm -f /dev/null new-session -d -s bench -x 80 -y 24 "sleep 100000"

# How long one look at the screen takes (the resolution of every figure below).
t0=$(now_us); for _ in $(seq 20); do screen >/dev/null; done
echo "capture-pane: $(( ($(now_us) - t0) / 20 )) µs per look"

echo "== first frame (the language screen), $RUNS launches"
: > "$WORK/first"
for _ in $(seq "$RUNS"); do
    tm respawn-pane -k -t bench "sleep 100000"
    wait_screen -n "Choose your language" "$(now_us)" >/dev/null
    t0=$(now_us)
    tm respawn-pane -k -t bench "$BIN"
    wait_screen "Choose your language" "$t0" >> "$WORK/first"
done
echo "first frame: $(stats < "$WORK/first")"

for rate in "${RATES[@]}"; do
    echo "== input on the progress screen with $rate pull events/s, $RUNS keys"
    tm respawn-pane -k -t bench "$FLOOD $rate; sleep 100000"
    wait_screen "Get the images" "$(now_us)" >/dev/null
    sleep 1 # the flood reaches its pace
    : > "$WORK/open"; : > "$WORK/close"
    for _ in $(seq "$RUNS"); do
        t0=$(now_us); tm send-keys -t bench '?'
        wait_screen "move between fields" "$t0" >> "$WORK/open"
        t0=$(now_us); tm send-keys -t bench Escape
        wait_screen -n "move between fields" "$t0" >> "$WORK/close"
    done
    tm send-keys -t bench C-c
    wait_screen "The install is still running" "$(now_us)" >/dev/null
    tm send-keys -t bench y
    wait_screen "tui_flood:" "$(now_us)" >/dev/null
    echo "key → help on screen:   $(stats < "$WORK/open")"
    echo "key → help gone:        $(stats < "$WORK/close")"
    screen | grep -F "tui_flood:" || true
done
