#!/usr/bin/env bash
# fuzz-long.sh: the long syscall-fuzzing job (not run in CI): 10 seeds of
# 1,000,000 syscalls each, one boot per seed under TCG, with `cargo xtask
# fuzz`. The serial output of every boot goes to a log file; the results
# table (seed, calls, violations, counters, ticks, wall time) goes to
# stdout. Exit status: that of `cargo xtask fuzz` (0 when every seed
# passed). See docs/reliability.md.
#
# Environment: FIRST_SEED (default 1), SEEDS (default 10), CALLS (default
# 1000000), LOG (default target/fuzz-long/<date>.log).
set -euo pipefail
cd "$(dirname "$0")/.."

first_seed="${FIRST_SEED:-1}"
seeds="${SEEDS:-10}"
calls="${CALLS:-1000000}"
log="${LOG:-target/fuzz-long/$(date +%Y%m%d-%H%M%S).log}"
mkdir -p "$(dirname "$log")"

command=(cargo xtask fuzz --seed "$first_seed" --seeds "$seeds" --calls "$calls")
echo "# ${command[*]}"
echo "# serial output and progress: $log"
started=$(date +%s)
status=0
"${command[@]}" >"$log" 2>&1 || status=$?
# The table is the last thing `cargo xtask fuzz` prints: from its header on.
awk '/^ +seed +calls +violations/ { table = ""; on = 1 } on { table = table $0 "\n" } END { printf "%s", table }' "$log"
if [ "$status" -ne 0 ]; then
    echo "# failed; the end of $log:"
    tail -n 20 "$log"
fi
echo "# $(($(date +%s) - started)) s in all; exit status $status"
exit "$status"
