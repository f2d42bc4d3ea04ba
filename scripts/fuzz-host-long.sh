#!/usr/bin/env bash
# fuzz-host-long.sh: the long host-side parser fuzzing job (not run in CI).
# Runs every fuzz target of `microkernel/core/tests/parsers.rs` and `abi/tests/fuzz.rs`
# with millions of iterations, optimised but with overflow checks and debug
# assertions kept, one target at a time, and prints each target's summary
# line and wall time. Exit status: non-zero when any target failed (its
# failing input is printed and saved; replay it with the printed FUZZ_SEED
# and FUZZ_ONLY). See docs/reliability.md.
#
# Environment: FUZZ_SEED (default 20261121), SCALE (multiplies every
# iteration count; default 1).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true
export FUZZ_SEED="${FUZZ_SEED:-20261121}" RUST_BACKTRACE=0
scale="${SCALE:-1}"
status=0

run() { # iterations, cargo package arguments, test name
    local iterations=$(($1 * scale)) started ended
    started=$(date +%s.%N)
    if ! FUZZ_ITERATIONS=$iterations cargo test --quiet --release $2 "$3" -- --exact --nocapture --test-threads=1 2>&1 |
        grep -E "^fuzz [a-z_]+:|panicked|failed at iteration|saved"; then
        status=1
    fi
    ended=$(date +%s.%N)
    printf '  (%s: %.1f s)\n' "$3" "$(echo "$ended - $started" | bc)"
}

for spec in "10000000 cpio_mutation" "10000000 cpio_generation" "10000000 manifest_mutation" \
    "5000000 manifest_generation" "100000000 msginfo_check" "10000000 notice_decode" \
    "10000000 notice_words_round_trip" "10000000 trace_record"; do
    set -- $spec
    run "$1" "-p abi --test fuzz" "$2"
done
for spec in "10000000 elf_mutation" "10000000 elf_generation" "10000000 memmap_generation" \
    "10000000 memmap_mutation" "10000000 cmdline_generation" "2000000 handle_table_sequences"; do
    set -- $spec
    run "$1" "-p kernel-core --test parsers" "$2"
done
exit $status
