# bench/tmux.sh: the benches' look at a terminal, sourced (from the repo root) by the ones that
# time what a person sees in tmux: a private tmux server (-L lst-bench-<pid>) with
#   tm ARGS...                 tmux on that server
#   now_us                     the time in µs
#   screen                     the pane `bench` as text
#   wait_screen [-n] TEXT T0   polls until the screen shows (-n: no longer shows) TEXT; prints
#                              the µs since T0; gives up after 10 s, printing the screen
#   stats                      median, p90 and maximum of µs values on stdin, in ms
# The caller kills the server when it ends (`tm kill-server`).
# shellcheck shell=bash
SOCK="lst-bench-$$"
tm() { tmux -L "$SOCK" "$@"; }
now_us() { echo $(( $(date +%s%N) / 1000 )); }
screen() { tm capture-pane -p -t bench; }

# Polls until the screen contains (or, with -n, no longer contains) TEXT; prints the time in µs
# since START_US. Gives up after 10 s.
wait_screen() {
    local negate=0
    if [ "$1" = "-n" ]; then negate=1; shift; fi
    local text=$1 start=$2 deadline=$(( $(now_us) + 10000000 ))
    while :; do
        local s; s=$(screen)
        if { [ $negate = 0 ] && grep -qF -- "$text" <<<"$s"; } || { [ $negate = 1 ] && ! grep -qF -- "$text" <<<"$s"; }; then
            echo $(( $(now_us) - start )); return 0
        fi
        if [ "$(now_us)" -gt "$deadline" ]; then
            echo "timed out waiting for '$text'; the screen:" >&2; echo "$s" >&2; return 1
        fi
    done
}

# Median, 90th percentile and maximum of µs values on stdin, in ms.
stats() {
    sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "no samples"; exit }
        p90 = int(NR * 0.9 + 0.5); if (p90 < 1) p90 = 1; if (p90 > NR) p90 = NR
        med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "median %.1f ms  p90 %.1f ms  max %.1f ms  (n=%d)\n", med / 1000, v[p90] / 1000, v[NR] / 1000, NR }'
}

