//! Robustness: hostile programs, each in its own boot. Every scenario is run
//! by the `supervisor` (servers/hostile), which spawns the offender with two
//! well-behaved bystanders (`hello`, and `worker` doing IPC round trips with
//! the echo server), waits until they are all gone and proves the kernel got
//! every frame, process, thread, endpoint and handle back. Each test asserts
//! that the offender was killed for the right fault (or refused with the
//! documented error), that the kernel stayed alive and that the bystanders
//! finished their work.

use systests::*;

/// The console line of a fault in a privileged instruction.
const GENERAL_PROTECTION: &str = "killed: general protection fault at ";

/// Boots a supervised scenario.
fn run(name: &str, spawn: &[&str], programs: &str) -> RunOutcome {
    boot(name, &supervised(spawn, programs), "")
}

/// The address a program announced at the end of a line (`... at 0x201010`).
#[track_caller]
fn announced_address<'a>(outcome: &'a RunOutcome, pieces: &[&str]) -> &'a str {
    let line = find_line(outcome, pieces);
    line.rsplit(' ').next().unwrap_or("")
}

/// `privileged` executes `instruction` (with the I/O right if `io`): a
/// general protection fault at the instruction it announced.
fn privileged(test: &str, instruction: &str, io: bool) -> RunOutcome {
    let extra = format!(
        "args = \"instruction={instruction}\"\n{}",
        if io { "io = [\"serial\"]" } else { "" }
    );
    let programs = hostile("privileged", "privileged", BYSTANDER_PRIORITY, &[], &extra);
    let outcome = run(test, &["privileged", "hello", "worker"], &programs);
    assert_survived(&outcome);
    let at = announced_address(
        &outcome,
        &["privileged[", &format!("]: privileged: executing {instruction} at 0x")],
    );
    let expected = format!("{GENERAL_PROTECTION}{at}");
    let line = assert_killed(&outcome, "privileged", &[&expected]);
    let exact = if instruction == "int-timer" {
        line.contains(&format!("{expected} (error code 0x"))
    } else {
        line.ends_with(&expected)
    };
    assert!(exact, "{line}\n{}", report(&outcome));
    assert_serial_lacks(&outcome, "did not fault");
    outcome
}

#[test]
fn cli_is_a_protection_fault() {
    privileged("hostile_cli", "cli", false);
}

#[test]
fn sti_is_a_protection_fault() {
    privileged("hostile_sti", "sti", false);
}

#[test]
fn hlt_is_a_protection_fault() {
    privileged("hostile_hlt", "hlt", false);
}

#[test]
fn serial_in_without_the_io_right_is_a_protection_fault() {
    privileged("hostile_in_serial", "in-serial", false);
}

#[test]
fn serial_out_without_the_io_right_is_a_protection_fault() {
    privileged("hostile_out_serial", "out-serial", false);
}

#[test]
fn exit_port_without_the_io_right_is_a_protection_fault() {
    privileged("hostile_out_exit", "out-exit", false);
}

#[test]
fn exit_port_with_the_serial_io_right_is_a_protection_fault() {
    // The bitmap opens COM1 only: the serial right does not reach 0xf4.
    privileged("hostile_out_exit_serial", "out-exit", true);
}

#[test]
fn wrmsr_is_a_protection_fault() {
    privileged("hostile_wrmsr", "wrmsr", false);
}

#[test]
fn rdmsr_is_a_protection_fault() {
    privileged("hostile_rdmsr", "rdmsr", false);
}

#[test]
fn lgdt_is_a_protection_fault() {
    privileged("hostile_lgdt", "lgdt", false);
}

#[test]
fn lidt_is_a_protection_fault() {
    privileged("hostile_lidt", "lidt", false);
}

#[test]
fn mov_cr3_is_a_protection_fault() {
    privileged("hostile_mov_cr3", "mov-cr3", false);
}

#[test]
fn swapgs_is_a_protection_fault() {
    privileged("hostile_swapgs", "swapgs", false);
}

#[test]
fn raising_the_timer_vector_is_a_protection_fault() {
    // `int n` through a gate of DPL 0: the error code names the IDT entry,
    // with bit 1 (IDT) set: 0x20 << 3 | 2 on hardware; QEMU's TCG scales
    // the vector by the 16-byte gate size instead (0x202).
    let outcome = privileged("hostile_int_timer", "int-timer", false);
    let line = assert_killed(&outcome, "privileged", &["(error code 0x"]);
    assert!(
        line.ends_with("(error code 0x102)") || line.ends_with("(error code 0x202)"),
        "{line}\n{}",
        report(&outcome)
    );
}

#[test]
fn iopl_cannot_be_raised() {
    let outcome = privileged("hostile_iopl", "iopl", false);
    assert_line_with_all(
        &outcome,
        &["privileged[", "]: privileged: IOPL after popfq with IOPL 3: 0"],
    );
    assert_line_with_all(&outcome, &["privileged[", "]: privileged: made a syscall, pid "]);
}

/// Boots `bin` of the hostile crate as the offender (named after it), with
/// the bystanders; asserts they survived. `extra`: more TOML for its entry.
fn offender(test: &str, bin: &str, extra: &str) -> RunOutcome {
    let programs = hostile(bin, bin, BYSTANDER_PRIORITY, &[], extra);
    let outcome = run(test, &[bin, "hello", "worker"], &programs);
    assert_survived(&outcome);
    outcome
}

/// The 64 KiB user stack: `[USER_END - 16 pages, USER_END)`.
const STACK: std::ops::Range<u64> = 0x7fff_ffff_f000 - 0x10000..0x7fff_ffff_f000;
/// The guard page under it.
const GUARD_PAGE: std::ops::Range<u64> = STACK.start - 0x1000..STACK.start;

/// A `0x`-prefixed hexadecimal number (0 if it is not one).
fn hex(text: &str) -> u64 {
    u64::from_str_radix(text.trim_start_matches("0x"), 16).unwrap_or(0)
}

/// Where kernel-jump jumps: the kernel's text (as `kwrite` of testprogs,
/// whose test checks the address against the kernel ELF).
const KERNEL_TEXT: &str = "0xffffffff80110000";

#[test]
fn jumping_into_kernel_text_is_a_page_fault() {
    let outcome = offender("hostile_kernel_jump", "kernel-jump", "");
    assert_killed(
        &outcome,
        "kernel-jump",
        &[&format!(
            "killed: page fault at {KERNEL_TEXT} (execute of {KERNEL_TEXT}, protection violation)"
        )],
    );
}

#[test]
fn executing_the_stack_is_a_page_fault() {
    let outcome = offender("hostile_stack_exec", "stack-exec", "");
    let at = announced_address(
        &outcome,
        &["stack-exec[", "]: stack-exec: calling a ret on the stack at 0x"],
    );
    assert!(STACK.contains(&hex(at)), "not a stack address: {at}");
    assert_killed(
        &outcome,
        "stack-exec",
        &[&format!(
            "killed: page fault at {at} (execute of {at}, protection violation)"
        )],
    );
    assert_serial_lacks(&outcome, "the stack ran code");
}

#[test]
fn writing_its_own_code_is_a_page_fault() {
    let outcome = offender("hostile_text_write", "text-write", "");
    let at = announced_address(
        &outcome,
        &["text-write[", "]: text-write: writing into my own code at 0x"],
    );
    assert_killed(
        &outcome,
        "text-write",
        &[
            "killed: page fault at 0x",
            &format!("(write of {at}, protection violation)"),
        ],
    );
    assert_serial_lacks(&outcome, "W^X is broken");
}

#[test]
fn stack_overflow_hits_the_guard_page() {
    let outcome = offender("hostile_stack_overflow", "stack-overflow", "");
    let line = assert_killed(
        &outcome,
        "stack-overflow",
        &["killed: page fault at 0x", "(write of 0x", ", not present)"],
    );
    let address = hex(line
        .split("(write of ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or(""));
    assert!(
        GUARD_PAGE.contains(&address),
        "fault at {address:#x}, not in the guard page {GUARD_PAGE:#x?}\n{}",
        report(&outcome)
    );
    assert_serial_lacks(&outcome, "no guard page");
}

#[test]
fn divide_by_zero_is_a_divide_error() {
    let outcome = offender("hostile_divide_by_zero", "divide-by-zero", "");
    let at = announced_address(
        &outcome,
        &["divide-by-zero[", "]: divide-by-zero: dividing by zero at 0x"],
    );
    let line = assert_killed(&outcome, "divide-by-zero", &[&format!("killed: divide error at {at}")]);
    assert!(line.ends_with(at), "{line}");
}

#[test]
fn int3_is_a_breakpoint() {
    let outcome = offender("hostile_breakpoint", "breakpoint", "");
    let after = announced_address(
        &outcome,
        &["breakpoint[", "]: breakpoint: int3, the trap returns to 0x"],
    );
    let line = assert_killed(&outcome, "breakpoint", &[&format!("killed: breakpoint at {after}")]);
    assert!(line.ends_with(after), "{line}");
}

#[test]
fn ud2_is_an_invalid_opcode() {
    let outcome = offender("hostile_invalid_opcode", "invalid-opcode", "");
    let at = announced_address(&outcome, &["invalid-opcode[", "]: invalid-opcode: ud2 at 0x"]);
    let line = assert_killed(
        &outcome,
        "invalid-opcode",
        &[&format!("killed: invalid opcode at {at}")],
    );
    assert!(line.ends_with(at), "{line}");
}

#[test]
fn x87_instruction_is_device_not_available() {
    let outcome = offender("hostile_floating_point", "floating-point", "");
    let at = announced_address(&outcome, &["floating-point[", "]: floating-point: fld1 at 0x"]);
    let line = assert_killed(
        &outcome,
        "floating-point",
        &[&format!("killed: device not available at {at}")],
    );
    assert!(line.ends_with(at), "{line}");
}

fn endpoint(name: &str) -> String {
    format!("\n[[endpoint]]\nname = \"{name}\"\n")
}

/// A handle spec: `rights` on `endpoint`.
fn handle(endpoint: &str, rights: &str) -> String {
    format!("{{ endpoint = \"{endpoint}\", rights = [\"{rights}\"] }}")
}

/// Index of the first serial line with all of `pieces` (the test fails if
/// there is none).
#[track_caller]
fn index_of(outcome: &RunOutcome, pieces: &[&str]) -> usize {
    line_index(outcome, pieces).unwrap_or_else(|| panic!("no line with all of {pieces:?}\n{}", report(outcome)))
}

#[test]
fn fork_bomb_fills_the_process_table_and_is_refused() {
    let programs = [
        hostile(
            "forkbomb",
            "forkbomb",
            3,
            &[],
            "args = \"role=bomb copy=forkbomb-copy\"\nspawns = [\"forkbomb-copy\"]",
        ),
        hostile(
            "forkbomb-copy",
            "forkbomb",
            BYSTANDER_PRIORITY,
            &[],
            "args = \"role=copy\"",
        ),
    ]
    .concat();
    let outcome = run("hostile_forkbomb", &["hello", "worker", "forkbomb"], &programs);
    assert_survived(&outcome);
    let line = find_line(
        &outcome,
        &[
            "forkbomb[",
            "]: forkbomb: spawned ",
            " copies of forkbomb-copy, then spawn: ETABLEFULL (processes 64 of 64, threads 64 of 64)",
        ],
    );
    let copies: usize = line
        .split("spawned ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|number| number.parse().ok())
        .unwrap_or(0);
    // Console, supervisor, echo, hello, worker and the bomb hold the rest.
    assert_eq!(copies, 64 - 6, "{line}\n{}", report(&outcome));
    assert_exited(&outcome, "forkbomb", 0);
    let exits = lines_with_all(&outcome, &["[console] forkbomb-copy[", "] exited with status 0"]).len();
    assert_eq!(exits, copies, "every copy exits\n{}", report(&outcome));
}

#[test]
fn endpoint_and_handle_hoarders_are_refused_and_release_everything() {
    // With the manifest's five endpoints (console, sleep, echo, hoard,
    // spare), the first hoarder's 30 fill its handle table and the second's
    // 29 fill the kernel's endpoint table before its handle table.
    let programs = [
        endpoint("hoard"),
        endpoint("spare"),
        hostile(
            "hoarder-first",
            "hoarder",
            3,
            &[&handle("hoard", "recv")],
            "args = \"role=first\"",
        ),
        hostile(
            "hoarder-second",
            "hoarder",
            BYSTANDER_PRIORITY,
            &[&handle("hoard", "send")],
            "args = \"role=second\"",
        ),
    ]
    .concat();
    let outcome = run(
        "hostile_hoarders",
        &["hello", "worker", "hoarder-first", "hoarder-second"],
        &programs,
    );
    assert_survived(&outcome);
    assert_line_with_all(
        &outcome,
        &[
            "hoarder-first[",
            "]: hoarder: first: created 30 endpoints, then endpoint_create: ETABLEFULL (my handles 32 of 32, endpoints 35 of 64)",
        ],
    );
    assert_line_with_all(
        &outcome,
        &[
            "hoarder-second[",
            "]: hoarder: second: created 29 endpoints, then endpoint_create: ETABLEFULL (my handles 31 of 32, endpoints 64 of 64)",
        ],
    );
    assert_line_with_all(
        &outcome,
        &[
            "hoarder-second[",
            "]: hoarder: second: kept 14 endpoints, made 16 copies, then handle_dup: ETABLEFULL (my handles 32 of 32, endpoints 49 of 64)",
        ],
    );
    assert_line_with_all(&outcome, &["hoarder-first[", "]: hoarder: first: the second says done"]);
    assert_line_with_all(
        &outcome,
        &["hoarder-second[", "]: hoarder: released everything: endpoints 35 -> 35"],
    );
    assert_line_with_all(
        &outcome,
        &["hoarder-first[", "]: hoarder: released everything: endpoints 5 -> 5"],
    );
    assert_exited(&outcome, "hoarder-first", 0);
    assert_exited(&outcome, "hoarder-second", 0);
}

#[test]
fn ipc_flood_at_the_console_does_not_drown_others() {
    let programs = hostile("flood", "flood", BYSTANDER_PRIORITY, &[], "args = \"messages=100000\"");
    let outcome = run("hostile_flood", &["flood", "hello", "worker"], &programs);
    assert_survived(&outcome);
    // Their lines arrive whole: exactly as written, nothing mixed in.
    let hello = assert_exited(&outcome, "hello", 0);
    let greeting = format!("hello[{hello}]: Hello from ring 3! I am process {hello}.");
    assert!(
        outcome.serial.lines().any(|line| line == greeting),
        "{}",
        report(&outcome)
    );
    let worker = assert_exited(&outcome, "worker", 0);
    let finished = format!("worker[{worker}]: worker: finished 300 IPC round trips with echo, all intact");
    assert!(
        outcome.serial.lines().any(|line| line == finished),
        "{}",
        report(&outcome)
    );
    assert_line_with_all(
        &outcome,
        &[
            "flood[",
            "]: flood: sent 100000 messages with label 0xbad to the console in ",
            " ticks: 100000 taken, 0 refused",
        ],
    );
    assert_exited(&outcome, "flood", 0);
    let complaints = lines_with_all(&outcome, &["[console] ignored a message with label 2989 from badge 0"]);
    assert_eq!(complaints.len(), 5, "{}", report(&outcome));
    assert!(
        complaints[4].ends_with(" (further ones are not reported)"),
        "{}",
        report(&outcome)
    );
}

#[test]
fn ipc_flood_at_the_console_does_not_starve_its_priority() {
    // Every send wakes the console (priority 6), which preempts the flood;
    // the flood goes back to the front of its queue but keeps only what was
    // left of its time slice, so after two ticks of its own it goes to the
    // back and hello, of the same priority, runs during the flood (about
    // 250 ticks). (A fresh slice on every resume used to starve hello.)
    let programs = hostile("flood", "flood", BYSTANDER_PRIORITY, &[], "args = \"messages=100000\"");
    let outcome = run("hostile_flood_fairness", &["flood", "hello", "worker"], &programs);
    assert_survived(&outcome);
    let flooded = index_of(&outcome, &["flood[", "]: flood: sent 100000 messages"]);
    let greeted = index_of(&outcome, &["hello[", "]: Hello from ring 3!"]);
    assert!(greeted < flooded, "hello ran during the flood\n{}", report(&outcome));
}

#[test]
fn callers_that_time_out_leave_and_the_server_goes_on() {
    // Three callers of a higher priority queue on the slow server before it
    // runs, in this order: `impatient` (badge 1, 10-tick timeout), `hasty`
    // (badge 2, 10 ticks) and `patient` (badge 3, no timeout). The server
    // takes impatient's call at once and works 40 ticks on it: impatient
    // gives up waiting for the reply, hasty while still queued. The late
    // reply finds its caller gone, and the next request is patient's: hasty
    // left the queue. (The timeouts and the work are counted in the same
    // timer ticks, so a slow host changes nothing.)
    let caller = |name: &str, badge: u64, args: &str| {
        let send = format!("{{ endpoint = \"slow\", rights = [\"send\"], badge = {badge} }}");
        hostile(name, "caller", 3, &[&send], args)
    };
    let programs = [
        endpoint("slow"),
        hostile(
            "slow-server",
            "slow-server",
            BYSTANDER_PRIORITY,
            &[&handle("slow", "recv")],
            "args = \"requests=2 delay=40\"",
        ),
        caller("impatient", 1, "args = \"timeout=10\""),
        caller("hasty", 2, "args = \"timeout=10\""),
        caller("patient", 3, ""),
    ]
    .concat();
    let outcome = run(
        "hostile_timeout",
        &["slow-server", "impatient", "hasty", "patient", "hello", "worker"],
        &programs,
    );
    assert_survived(&outcome);
    let server_said = [
        "request 1 received from badge 1; replying in 40 ticks",
        "reply to request 1: EPEERGONE",
        "request 2 received from badge 3; replying in 40 ticks",
        "reply to request 2: ok",
    ]
    .map(|said| index_of(&outcome, &["slow-server[", &format!("]: slow-server: {said}")]));
    assert!(
        server_said.is_sorted(),
        "the server's lines in order\n{}",
        report(&outcome)
    );
    assert_line_with_all(&outcome, &["impatient[", "]: caller: call 1: ETIMEDOUT after "]);
    assert_line_with_all(&outcome, &["hasty[", "]: caller: call 1: ETIMEDOUT after "]);
    assert_line_with_all(&outcome, &["patient[", "]: caller: call 1: ok, reply word 1 after "]);
    for name in ["slow-server", "impatient", "hasty", "patient"] {
        assert_exited(&outcome, name, 0);
    }
}

/// A server that takes one call and never answers it. Two callers of a
/// higher priority call it before it runs, so when it dies one waits for
/// its reply and the other is still queued: both must be released with
/// EPEERGONE.
fn server_dies_while_called(test: &str, server: &str, extra: &str) -> RunOutcome {
    let programs = [
        endpoint("service"),
        hostile(server, server, BYSTANDER_PRIORITY, &[&handle("service", "recv")], extra),
        hostile("caller", "caller", 3, &[&handle("service", "send")], ""),
        hostile("queued", "caller", 3, &[&handle("service", "send")], ""),
    ]
    .concat();
    let outcome = run(test, &[server, "caller", "queued", "hello", "worker"], &programs);
    assert_survived(&outcome);
    let killed = index_of(&outcome, &[&format!("[console] {server}["), "] killed: "]);
    for caller in ["caller", "queued"] {
        let released = index_of(
            &outcome,
            &[&format!("{caller}["), "]: caller: call 1: EPEERGONE after "],
        );
        assert!(
            killed < released,
            "{caller} released when the server died\n{}",
            report(&outcome)
        );
        assert_exited(&outcome, caller, 0);
    }
    outcome
}

#[test]
fn spinning_server_is_killed_by_its_cpu_limit_and_its_caller_released() {
    let outcome = server_dies_while_called("hostile_spin_server", "spin-server", "cpu_limit = 30");
    assert_line_with_all(
        &outcome,
        &[
            "spin-server[",
            "]: spin-server: received a call; spinning without replying",
        ],
    );
    assert_killed(
        &outcome,
        "spin-server",
        &["killed: CPU time limit of 30 ticks used up at 0x"],
    );
}

#[test]
fn crashing_server_releases_its_caller() {
    let outcome = server_dies_while_called("hostile_crash_server", "crash-server", "");
    assert_line_with_all(
        &outcome,
        &["crash-server[", "]: crash-server: received a call; reading address 0"],
    );
    assert_killed(
        &outcome,
        "crash-server",
        &["killed: page fault at 0x", "(read of 0x0, not present)"],
    );
}

#[test]
fn server_that_receives_again_without_replying_releases_the_caller() {
    let programs = [
        endpoint("service"),
        hostile("mute-server", "mute-server", 3, &[&handle("service", "recv")], ""),
        hostile(
            "caller",
            "caller",
            BYSTANDER_PRIORITY,
            &[&handle("service", "send")],
            "args = \"calls=2\"",
        ),
    ]
    .concat();
    let outcome = run(
        "hostile_mute_server",
        &["mute-server", "caller", "hello", "worker"],
        &programs,
    );
    assert_survived(&outcome);
    let abandoned = index_of(
        &outcome,
        &["mute-server[", "]: mute-server: received call 1; receiving again"],
    );
    let released = index_of(&outcome, &["caller[", "]: caller: call 1: EPEERGONE after "]);
    let answered = index_of(
        &outcome,
        &["mute-server[", "]: mute-server: received call 2; reply: ok"],
    );
    assert!(
        abandoned < released && released < answered,
        "released when the server received again, before the next call\n{}",
        report(&outcome)
    );
    assert_line_with_all(&outcome, &["caller[", "]: caller: call 2: ok, reply word 2 after "]);
    assert_exited(&outcome, "mute-server", 0);
    assert_exited(&outcome, "caller", 0);
}

#[test]
fn cpu_hog_is_preempted_and_killed_by_its_cpu_limit() {
    // The hog starts first and never makes a syscall: only preemption lets
    // the bystanders of its priority run, and they finish before it is
    // killed. (The supervisor polls every 5 ticks: see the next test for
    // what polling every tick does.)
    let programs = hostile("hog", "hog", BYSTANDER_PRIORITY, &[], "cpu_limit = 30");
    let toml = supervised_with(&["hog", "hello", "worker"], "poll=5", &programs);
    let outcome = boot("hostile_hog", &toml, "");
    assert_survived(&outcome);
    assert_line_with_all(&outcome, &["hog[", "]: hog: spinning forever without a syscall"]);
    assert_killed(&outcome, "hog", &["killed: CPU time limit of 30 ticks used up at 0x"]);
    let killed = index_of(&outcome, &["[console] hog[", "] killed: "]);
    for bystander in ["hello", "worker"] {
        let finished = index_of(
            &outcome,
            &[&format!("[console] {bystander}["), "] exited with status 0"],
        );
        assert!(
            finished < killed,
            "{bystander} finished before the hog was killed\n{}",
            report(&outcome)
        );
    }
}

#[test]
fn cpu_hog_is_preempted_while_a_higher_priority_wakes_every_tick() {
    // As above, but the supervisor (priority 5) wakes every tick. Each wake
    // preempts the hog, which goes back to the front of its queue with what
    // was left of its slice: the slice still runs out after two of the
    // hog's ticks, and hello finishes before the hog is killed. (A fresh
    // slice on every resume used to keep the hog on the CPU until then.)
    let programs = hostile("hog", "hog", BYSTANDER_PRIORITY, &[], "cpu_limit = 30");
    let toml = supervised_with(&["hog", "hello", "worker"], "poll=1", &programs);
    let outcome = boot("hostile_hog_ticker", &toml, "");
    assert_survived(&outcome);
    assert_killed(&outcome, "hog", &["killed: CPU time limit of 30 ticks used up at 0x"]);
    let killed = index_of(&outcome, &["[console] hog[", "] killed: "]);
    let finished = index_of(&outcome, &["[console] hello[", "] exited with status 0"]);
    assert!(
        finished < killed,
        "hello finished before the hog was killed\n{}",
        report(&outcome)
    );
}

#[test]
fn handles_passed_to_the_console_are_not_kept() {
    // A client passes the console a handle to a fresh endpoint with each of
    // 40 unserved messages. The kernel installs each in the console's handle
    // table; `libsys::server::serve` closes it once the request is handled,
    // so every send is taken and no endpoint outlives the client. (Before,
    // the console kept them: 31 were taken, then ETABLEFULL, and the
    // supervisor found `endpoints 3 != 34, handles 5 != 36`.)
    let programs = hostile(
        "handle-stuffer",
        "handle-stuffer",
        BYSTANDER_PRIORITY,
        &[],
        "args = \"messages=40\"",
    );
    let outcome = run(
        "hostile_handle_stuffer",
        &["handle-stuffer", "hello", "worker"],
        &programs,
    );
    assert_survived(&outcome);
    assert_exited(&outcome, "handle-stuffer", 0);
    assert_line_with_all(
        &outcome,
        &["handle-stuffer: passed 40 handles to the console: 40 taken, 0 refused (none)"],
    );
}

#[test]
fn program_larger_than_memory_is_refused_with_enomem() {
    // bloated needs 512 MiB of zeroed data; the machine has 256 MiB. The
    // spawn takes frames until none are left, then must give them all back.
    let programs = hostile("bloated", "bloated", BYSTANDER_PRIORITY, &[], "");
    let outcome = run("hostile_bloated", &["bloated", "hello", "worker"], &programs);
    assert_survived(&outcome);
    assert_line_with_all(&outcome, &["supervisor[", "]: supervisor: spawn bloated: ENOMEM"]);
    assert_serial_lacks(&outcome, "spawn did not refuse");
    assert_serial_lacks(&outcome, "bloated[");
}
