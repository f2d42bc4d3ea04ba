#!/usr/bin/env bash
# fuzz-long.sh: the long syscall-fuzzing job (not run in CI): 10 boots of
# 1,000,000 syscalls per fuzzer under TCG, with `cargo xtask fuzz`; with
# CPUS=N, N fuzzers at once in each boot, one per CPU (seeds FIRST_SEED to
# FIRST_SEED + SEEDS * N - 1). The serial output of every boot goes to a
# log file; the results table (seed, CPU, calls, violations, counters,
# ticks, wall time) goes to stdout. Exit status: that of `cargo xtask
# fuzz` (0 when every boot passed). See docs/reliability.md.
#
# Environment: FIRST_SEED (default 1), SEEDS (default 10), CALLS (default
# 1000000), CPUS (default 1), LOG (default target/fuzz-long/<date>.log).
set -euo pipefail
cd "$(dirname "$0")/.."

first_seed="${FIRST_SEED:-1}"
seeds="${SEEDS:-10}"
calls="${CALLS:-1000000}"
cpus="${CPUS:-1}"
log="${LOG:-target/fuzz-long/$(date +%Y%m%d-%H%M%S).log}"
mkdir -p "$(dirname "$log")"

command=(cargo xtask fuzz --seed "$first_seed" --seeds "$seeds" --calls "$calls")
if [ "$cpus" != 1 ]; then
    command+=(--cpus "$cpus")
fi
echo "# ${command[*]}"
echo "# serial output and progress: $log"
started=$(date +%s)
status=0
"${command[@]}" >"$log" 2>&1 || status=$?
# The table is the last thing `cargo xtask fuzz` prints: from its header on.
awk '/^ +seed +cpu +calls +violations/ { table = ""; on = 1 } on { table = table $0 "\n" } END { printf "%s", table }' "$log"
if [ "$status" -ne 0 ]; then
    echo "# failed; the end of $log:"
    tail -n 20 "$log"
fi
echo "# $(($(date +%s) - started)) s in all; exit status $status"
exit "$status"
