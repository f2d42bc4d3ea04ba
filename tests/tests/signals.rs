//! Notifications, interrupt lines, process handles and the time page
//! (ABI 2.0), each scenario in its own boot. The programs are in
//! `servers/hostile`; each prints `key=value` results that these tests read
//! with `systests::values`, never a sentence or a wall time. Most scenarios
//! run under the `supervisor` with the two bystanders, so every test also
//! proves that the kernel kept serving others and got every frame, process,
//! thread, endpoint and handle back (notifications and process records
//! live exactly as long as handles name them, so the handle count covers
//! them; `churn` proves their slots come back too).

use systests::*;

fn endpoint(name: &str) -> String {
    format!("\n[[endpoint]]\nname = \"{name}\"\n")
}

/// A handle spec: `rights` on `endpoint`, with `badge` if it is not 0.
fn handle(endpoint: &str, rights: &[&str], badge: u64) -> String {
    let rights: Vec<String> = rights.iter().map(|right| format!("\"{right}\"")).collect();
    let badge = if badge == 0 {
        String::new()
    } else {
        format!(", badge = {badge}")
    };
    format!(
        "{{ endpoint = \"{endpoint}\", rights = [{}]{badge} }}",
        rights.join(", ")
    )
}

/// The `key=value` results of `program`, which must have printed every key
/// of `expected` with that value.
#[track_caller]
fn expect(outcome: &RunOutcome, program: &str, expected: &[(&str, &str)]) -> Values {
    assert_values(outcome, program, expected);
    values(outcome, program)
}

/// `program`'s value of `key` as a number.
#[track_caller]
fn number(outcome: &RunOutcome, program: &str, key: &str) -> u64 {
    let values = values(outcome, program);
    values
        .number(key)
        .unwrap_or_else(|| panic!("{program} printed no number {key}: {values}\n{}", report(outcome)))
}

/// Asserts the console reported `name` (with `pid`, when known) ended by
/// process `killer` (the KILLED notice, `abi::console::KILLED`).
#[track_caller]
fn assert_kill_reported(outcome: &RunOutcome, name: &str, pid: Option<u64>, killer: u64) {
    let found = endings_of(outcome, name).into_iter().any(|(_, ended)| {
        matches!(ended.how, Ending::KilledBy { by, .. } if by == killer)
            && ended.by == Reporter::Console
            && pid.is_none_or(|pid| pid == ended.pid)
    });
    if !found {
        panic!(
            "expected the console to report {name} killed by process {killer}\n{}",
            report(outcome)
        );
    }
}

/// How many of `program`'s result lines have `key=value`.
fn count_values(outcome: &RunOutcome, program: &str, key: &str, value: &str) -> usize {
    values(outcome, program)
        .all(key)
        .into_iter()
        .filter(|found| *found == value)
        .count()
}

/// Boots a supervised scenario: the supervisor spawns `spawn` (with
/// `hello` and `worker` added), `programs` declares them.
fn supervised_run(name: &str, spawn: &[&str], programs: &str) -> RunOutcome {
    let mut all = spawn.to_vec();
    all.extend(["hello", "worker"]);
    let outcome = boot(name, &supervised(&all, programs), "");
    assert_survived(&outcome);
    outcome
}

/// A flood of `count` signals from `signaller` (priority `signaller`) to a
/// waiter of priority `waiter`.
fn flood(name: &str, waiter: u8, signaller: u8, count: u64) -> RunOutcome {
    let programs = [
        endpoint("flood"),
        hostile(
            "waiter",
            "notify-flood",
            waiter,
            &[&handle("flood", &["recv"], 0)],
            "args = \"role=waiter\"",
        ),
        hostile(
            "signaller",
            "notify-flood",
            signaller,
            &[&handle("flood", &["send"], 0)],
            &format!("args = \"role=signaller count={count}\""),
        ),
    ]
    .concat();
    let outcome = supervised_run(name, &["waiter", "signaller"], &programs);
    let count = count.to_string();
    expect(
        &outcome,
        "signaller",
        &[
            ("signals", &count),
            ("errors", "0"),
            ("wait_with_signal_only", "ENORIGHTS"),
            ("signal_after_close", "EBADHANDLE"),
        ],
    );
    assert_exited(&outcome, "signaller", 0);
    assert_exited(&outcome, "waiter", 0);
    outcome
}

/// Every payload bit, the signaller's badge and its last bit.
const FLOOD_BITS: &str = "0x80000001000000ff";

#[test]
fn a_waiter_above_the_signaller_wakes_once_per_signal() {
    // Each signal finds the waiter waiting and it runs at once: 20000
    // wakes and the last one, each with the badge ORed in.
    let outcome = flood("signals_flood_high_waiter", 3, BYSTANDER_PRIORITY, 20_000);
    expect(
        &outcome,
        "waiter",
        &[
            ("wakes", "20001"),
            ("bits", FLOOD_BITS),
            ("badged", "yes"),
            ("after", "ETIMEDOUT"),
        ],
    );
}

#[test]
fn signals_to_a_waiter_that_cannot_run_accumulate() {
    // The signaller never blocks, so the waiter below it runs only after
    // the flood: every bit is there, in one wake.
    let outcome = flood("signals_flood_low_waiter", 1, 3, 100_000);
    expect(
        &outcome,
        "waiter",
        &[
            ("wakes", "1"),
            ("bits", FLOOD_BITS),
            ("badged", "yes"),
            ("after", "ETIMEDOUT"),
        ],
    );
}

#[test]
fn a_bound_notification_reaches_a_server_through_recv() {
    let programs = [
        endpoint("svc"),
        hostile(
            "notify-server",
            "notify-server",
            3,
            &[&handle("svc", &["recv"], 0)],
            "args = \"calls=5\"",
        ),
        hostile(
            "client",
            "caller",
            BYSTANDER_PRIORITY,
            &[&handle("svc", &["send"], 7)],
            "args = \"calls=5\"",
        ),
        hostile(
            "signaller",
            "notify-flood",
            BYSTANDER_PRIORITY,
            &[&handle("svc", &["send"], 9)],
            "args = \"role=signaller count=1000 forge=yes\"",
        ),
    ]
    .concat();
    let outcome = supervised_run("signals_bound", &["notify-server", "client", "signaller"], &programs);
    // Its own signal, then one message per signal (the server, above the
    // signaller, is back in recv before the next), then the last: each a
    // kernel message with badge 0 and the bits in its one word. A message
    // with the notification label from a program is no notification.
    expect(
        &outcome,
        "notify-server",
        &[
            ("bind", "ok"),
            ("bind_twice", "EEXIST"),
            ("bind_other", "EEXIST"),
            ("first", "notification"),
            ("notifications", "1002"),
            ("bits", "0x80000100000000ff"),
            ("kernel_flag", "yes"),
            ("badge", "0"),
            ("words", "1"),
            ("calls", "5"),
            ("forged", "1"),
            ("forged_kernel", "no"),
            ("forged_badge", "9"),
        ],
    );
    expect(
        &outcome,
        "signaller",
        &[("signals", "1000"), ("errors", "0"), ("forged_call", "ok")],
    );
    let client = values(&outcome, "client");
    for call in 1..=5 {
        assert_eq!(client.get(&format!("call.{call}")), Some("ok"), "{}", report(&outcome));
        assert_eq!(
            client.number(&format!("call.{call}.reply_word")),
            Some(call),
            "{}",
            report(&outcome)
        );
    }
    for name in ["notify-server", "client", "signaller"] {
        assert_exited(&outcome, name, 0);
    }
}

#[test]
fn waits_nobody_ends_time_out() {
    let programs = [
        hostile("wait-timeout", "wait-timeout", 3, &[], "spawns = [\"sleepy\"]"),
        hostile("sleepy", "sleepy", BYSTANDER_PRIORITY, &[], ""),
    ]
    .concat();
    let outcome = supervised_run("signals_timeouts", &["wait-timeout"], &programs);
    let program = "wait-timeout";
    expect(
        &outcome,
        program,
        &[
            ("timeout", "ETIMEDOUT"),
            ("nonblock", "ETIMEDOUT"),
            ("nonblock_timeout", "ETIMEDOUT"),
            ("pending", "0x30"),
            ("drained", "ETIMEDOUT"),
            ("child_timeout", "ETIMEDOUT"),
            ("child_nonblock", "ETIMEDOUT"),
            ("child_ending", "exited"),
            ("child_detail", "5"),
            ("child_again", "exited"),
        ],
    );
    // Tick counts, not wall time: a timeout of N ticks ends at the N-th
    // tick after the call; NONBLOCK does not wait for one (a tick may
    // fall between the two reads of the clock).
    let timeout = number(&outcome, program, "timeout_ticks");
    assert!(timeout >= 5, "waited {timeout} ticks of 5\n{}", report(&outcome));
    let child = number(&outcome, program, "child_timeout_ticks");
    assert!(child >= 3, "waited {child} ticks of 3\n{}", report(&outcome));
    for key in ["nonblock_ticks", "nonblock_timeout_ticks"] {
        let ticks = number(&outcome, program, key);
        assert!(ticks <= 2, "{key}={ticks}: NONBLOCK waited\n{}", report(&outcome));
    }
    assert_exited(&outcome, "sleepy", 5);
    assert_exited(&outcome, program, 0);
}

#[test]
fn bad_input_to_the_new_syscalls_is_refused() {
    let odd = handle("odd", &["send", "signal", "wait", "kill"], 0);
    let programs = [
        endpoint("odd"),
        hostile(
            "bad-signals",
            "bad-signals",
            3,
            &[&odd],
            "irqs = [7]\nspawns = [\"sleepy\"]",
        ),
        hostile("sleepy", "sleepy", BYSTANDER_PRIORITY, &[], ""),
    ]
    .concat();
    let outcome = supervised_run("signals_bad_input", &["bad-signals"], &programs);
    // Rights are checked before kinds: a handle of another kind is
    // EWRONGKIND only if it has the right asked for (handle 1, an endpoint
    // granted SIGNAL, WAIT and KILL by its manifest entry, or another kind
    // that has WAIT), ENORIGHTS otherwise.
    let expected = [
        ("notify.stale", "EBADHANDLE"),
        ("notify.forged", "EBADHANDLE"),
        ("notify.all_ones", "EBADHANDLE"),
        ("notify.wait_only", "ENORIGHTS"),
        ("notify.console", "ENORIGHTS"),
        ("notify.endpoint_with_signal", "EWRONGKIND"),
        ("notify.zero_bits", "ok"),
        ("notify.zero_bits_pending", "ETIMEDOUT"),
        ("notify_wait.signal_only", "ENORIGHTS"),
        ("notify_wait.flag_2", "EINVAL"),
        ("notify_wait.flag_63", "EINVAL"),
        ("notify_wait.endpoint_with_wait", "EWRONGKIND"),
        ("notify_wait.irq", "EWRONGKIND"),
        ("notify_wait.stale", "EBADHANDLE"),
        ("notify_wait.refused_kept", "0x8"),
        ("notify_bind.signal_only", "ENORIGHTS"),
        ("notify_bind.endpoint_send_only", "ENORIGHTS"),
        ("notify_bind.endpoint_is_notification", "ENORIGHTS"),
        ("notify_bind.notification_is_endpoint", "EWRONGKIND"),
        ("notify_bind.notification_is_irq", "EWRONGKIND"),
        ("notify_bind.stale", "EBADHANDLE"),
        ("notify_bind.first", "ok"),
        ("notify_bind.twice", "EEXIST"),
        ("notify_bind.endpoint_taken", "EEXIST"),
        ("notify_bind.notification_taken", "EEXIST"),
        ("irq_ack.before_bind", "EINVAL"),
        ("irq_bind.zero_bits", "EINVAL"),
        ("irq_bind.irq_is_notification", "EWRONGKIND"),
        ("irq_bind.irq_is_process", "EWRONGKIND"),
        ("irq_bind.irq_is_endpoint_with_wait", "EWRONGKIND"),
        ("irq_bind.irq_without_wait", "ENORIGHTS"),
        ("irq_bind.target_wait_only", "ENORIGHTS"),
        ("irq_bind.target_console", "ENORIGHTS"),
        ("irq_bind.target_endpoint_with_signal", "EWRONGKIND"),
        ("irq_bind.stale", "EBADHANDLE"),
        ("irq_ack.still_unbound", "EINVAL"),
        ("irq_ack.notification", "EWRONGKIND"),
        ("irq_ack.without_wait", "ENORIGHTS"),
        ("irq_ack.stale", "EBADHANDLE"),
        ("irq_bind.good", "ok"),
        ("irq_ack.after_bind", "ok"),
        ("irq_bind.rebind", "ok"),
        ("irq.no_interrupt", "ETIMEDOUT"),
        ("process_wait.flag_2", "EINVAL"),
        ("process_wait.notification", "EWRONGKIND"),
        ("process_wait.endpoint_with_wait", "EWRONGKIND"),
        ("process_wait.irq", "EWRONGKIND"),
        ("process_wait.kill_only", "ENORIGHTS"),
        ("process_wait.stale", "EBADHANDLE"),
        ("process_wait.running", "ETIMEDOUT"),
        ("process_kill.wait_only", "ENORIGHTS"),
        ("process_kill.notification", "ENORIGHTS"),
        ("process_kill.endpoint_with_kill", "EWRONGKIND"),
        ("process_kill.forged", "EBADHANDLE"),
        ("process_watch.zero_bits", "EINVAL"),
        ("process_watch.process_is_notification", "EWRONGKIND"),
        ("process_watch.kill_only", "ENORIGHTS"),
        ("process_watch.target_wait_only", "ENORIGHTS"),
        ("process_watch.target_endpoint_with_signal", "EWRONGKIND"),
        ("process_kill.kill_only", "ok"),
        ("process_kill.again", "EPEERGONE"),
        ("process_wait.killed", "killed"),
        ("process_wait.killed_detail_is_me", "yes"),
        ("process_info.null", "EFAULT"),
        ("process_info.low", "EFAULT"),
        ("process_info.kernel", "EFAULT"),
        ("process_info.non_canonical", "EFAULT"),
        ("process_info.unmapped", "EFAULT"),
        ("process_info.code", "EFAULT"),
        ("process_info.time_page", "EFAULT"),
        ("process_info.wrapping_len", "EFAULT"),
        ("process_info.count_only", "ok"),
        ("process_info.short", "ok"),
        ("process_info.short_untouched", "yes"),
        ("stats.time_page", "EFAULT"),
        ("spawn.args_too_long", "EINVAL"),
        ("spawn.args_not_utf8", "EINVAL"),
        ("spawn.args_unmapped", "EFAULT"),
        ("spawn.args_kernel", "EFAULT"),
        ("spawn.name_empty", "EINVAL"),
        ("spawn.name_not_utf8", "EINVAL"),
        ("spawn.name_unknown", "ENOTFOUND"),
        ("spawn.name_not_allowed", "EDENIED"),
        ("spawn.args_128", "ok"),
        ("done", "yes"),
    ];
    let printed = expect(&outcome, "bad-signals", &expected);
    // Nothing untested slipped in: every case printed is listed above.
    let listed: Vec<&str> = expected.iter().map(|(key, _)| *key).collect();
    for key in printed.keys() {
        assert!(listed.contains(&key), "{key} is not checked\n{}", report(&outcome));
    }
    // The child killed while it waited, and the one with the longest
    // arguments, which it got whole.
    let me = assert_exited(&outcome, "bad-signals", 0);
    assert_kill_reported(&outcome, "sleepy", None, me);
    assert_line_with_all(&outcome, &["sleepy[", "]: args_len=128"]);
}

#[test]
fn an_interrupt_line_outlives_the_driver_that_passed_it_on() {
    let programs = [
        endpoint("irqpass"),
        hostile(
            "irq-heir",
            "irq-heir",
            3,
            &[&handle("irqpass", &["recv"], 0)],
            "spawns = [\"irq-driver\"]",
        ),
        hostile(
            "irq-driver",
            "irq-driver",
            BYSTANDER_PRIORITY,
            &[&handle("irqpass", &["send"], 0)],
            "irqs = [5]",
        ),
    ]
    .concat();
    let outcome = supervised_run("signals_irq_heir", &["irq-heir"], &programs);
    // The line stays the heir's to use; its binding lasted as long as the
    // notification it named, and that as long as some handle to it.
    expect(
        &outcome,
        "irq-heir",
        &[
            ("first_ending", "exited"),
            ("orphan_ack", "EINVAL"),
            ("orphan_bind", "ok"),
            ("orphan_ack_after_bind", "ok"),
            ("closed_ack", "EBADHANDLE"),
            ("second_ending", "exited"),
            ("shared_ack", "ok"),
            ("shared_bits", "ETIMEDOUT"),
            ("unshared_ack", "EINVAL"),
        ],
    );
    assert_eq!(
        count_values(&outcome, "irq-driver", "pass_irq", "ok"),
        2,
        "{}",
        report(&outcome)
    );
    assert_eq!(
        count_values(&outcome, "irq-driver", "bind", "ok"),
        2,
        "{}",
        report(&outcome)
    );
    expect(&outcome, "irq-driver", &[("pass_notification", "ok")]);
    assert_exited(&outcome, "irq-heir", 0);
}

/// The console without interrupt lines, the bystander `hello`, and
/// `programs`: scenarios that grant lines or start the console themselves
/// declare their own console.
fn with_console(programs: &str) -> String {
    format!(
        r#"
[[endpoint]]
name = "console"
notices = true

[[program]]
name = "console"
crate = "console"
priority = 6
io = ["serial"]
handles = [{{ endpoint = "console", rights = ["recv"] }}]
{hello}
{programs}"#,
        hello = hello(BYSTANDER_PRIORITY)
    )
}

#[test]
fn a_driver_that_never_acknowledges_loses_only_its_own_interrupts() {
    // COM1's transmitter-empty interrupt fires whenever the console has
    // sent what the driver printed. Acknowledged, one per line printed;
    // not acknowledged, the line stays masked after the first.
    let programs = r#"
[[program]]
name = "uart-driver"
crate = "hostile"
bin = "uart-driver"
priority = 3
io = ["serial"]
irqs = [4]
args = "rounds=8"
handles = [{ endpoint = "console", rights = ["send"] }]
"#;
    let outcome = boot("signals_uart_driver", &with_console(programs), "");
    assert_kernel_alive(&outcome);
    let values = expect(
        &outcome,
        "uart-driver",
        &[
            ("bind", "ok"),
            ("unacked_interrupts", "1"),
            ("unacked_timeouts", "7"),
            // Edges on a masked line are lost, not held for the ack.
            ("masked_edges_kept", "no"),
        ],
    );
    // One interrupt per round acknowledged (a line printed is a burst of
    // bytes: its interrupts while the line is masked are lost, not queued).
    let acked = number(&outcome, "uart-driver", "acked_interrupts");
    let timeouts = number(&outcome, "uart-driver", "acked_timeouts");
    assert!(
        acked >= 4 && acked + timeouts == 8,
        "acknowledged, the line fires again: {values}\n{}",
        report(&outcome)
    );
    assert_exited(&outcome, "uart-driver", 0);
}

#[test]
fn a_driver_waiting_for_interrupts_keeps_nothing_alive() {
    // Only the console and the listener are left, both waiting to receive:
    // the system has finished, even with line 7 bound and unmasked.
    let programs = r#"
[[endpoint]]
name = "listen"

[[program]]
name = "irq-listener"
crate = "hostile"
bin = "irq-listener"
priority = 3
irqs = [7]
handles = [
    { endpoint = "console", rights = ["send"] },
    { endpoint = "listen", rights = ["recv"] },
]
"#;
    let outcome = boot("signals_irq_quiescence", &with_console(programs), "");
    assert_kernel_alive(&outcome);
    expect(
        &outcome,
        "irq-listener",
        &[("notify_bind", "ok"), ("irq_bind", "ok"), ("listening", "yes")],
    );
    // The kernel halted by itself with the driver still listening.
    let line = kernel_line(&outcome, "INFO", "idle: all programs finished");
    assert!(line.contains("(2 servers waiting)"), "{line}\n{}", report(&outcome));
}

#[test]
fn a_process_killed_in_a_call_is_reported_to_its_parent() {
    let programs = [
        endpoint("service"),
        endpoint("control"),
        hostile(
            "kill-parent",
            "kill-parent",
            3,
            &[&handle("control", &["recv"], 0)],
            "spawns = [\"held-call\", \"kill-victim\", \"sleepy\"]",
        ),
        hostile(
            "held-call",
            "held-call",
            BYSTANDER_PRIORITY,
            &[&handle("service", &["recv"], 0), &handle("control", &["send"], 0)],
            "",
        ),
        hostile(
            "kill-victim",
            "caller",
            BYSTANDER_PRIORITY,
            &[&handle("service", &["send"], 5)],
            "",
        ),
        hostile("sleepy", "sleepy", BYSTANDER_PRIORITY, &[], ""),
    ]
    .concat();
    let outcome = supervised_run("signals_kill_in_call", &["kill-parent"], &programs);
    expect(
        &outcome,
        "kill-parent",
        &[
            ("held", "yes"),
            ("kill", "ok"),
            ("ending", "killed"),
            ("detail_is_me", "yes"),
            ("again", "EPEERGONE"),
            ("wait_again", "killed"),
            ("server_ending", "exited"),
            ("server_detail", "0"),
            ("sleeper_kill", "ok"),
            ("sleeper_ending", "killed"),
        ],
    );
    // The server's late reply finds its caller gone.
    expect(&outcome, "held-call", &[("reply_to_killed", "EPEERGONE")]);
    let parent = assert_exited(&outcome, "kill-parent", 0);
    let victim = number(&outcome, "kill-parent", "victim_pid");
    assert_kill_reported(&outcome, "kill-victim", Some(victim), parent);
    assert_kill_reported(&outcome, "sleepy", None, parent);
    // The victim died in its call: it never reported the call's end.
    assert!(
        values(&outcome, "kill-victim").get("call.1").is_none(),
        "{}",
        report(&outcome)
    );
    assert_exited(&outcome, "held-call", 0);
}

#[test]
fn killing_the_console_leaves_the_system_running() {
    // The console is started by a program (start = "spawn"), so that
    // program holds a process handle to it: it kills it, finds writes
    // refused, runs hello with no console (the kernel logs its exit
    // notice), and starts a new console on the same endpoint.
    let toml = format!(
        r#"
[[endpoint]]
name = "console"
notices = true

[[program]]
name = "console"
crate = "console"
priority = 6
io = ["serial"]
start = "spawn"
handles = [{{ endpoint = "console", rights = ["recv"] }}]

[[program]]
name = "console-killer"
crate = "hostile"
bin = "console-killer"
priority = 5
spawns = ["console", "hello"]
handles = [{{ endpoint = "console", rights = ["send"] }}]

[[program]]
name = "hello"
crate = "hello"
priority = {BYSTANDER_PRIORITY}
start = "spawn"
handles = [{{ endpoint = "console", rights = ["send"] }}]
"#
    );
    let outcome = boot("signals_kill_console", &toml, "");
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    let values = expect(
        &outcome,
        "console-killer",
        &[
            ("hello_with_console", "exited 0"),
            ("kill", "ok"),
            ("console_ending", "killed"),
            ("detail_is_me", "yes"),
            ("write_without_console", "EPEERGONE"),
            ("hello_without_console", "exited 0"),
        ],
    );
    let killer = assert_exited(&outcome, "console-killer", 0);
    let first = value(&outcome, &values, "first_console_pid");
    // With no console, the kernel reports the ends itself: the console's
    // own, and hello's.
    assert_line_with_all(
        &outcome,
        &[
            "[kernel] ",
            &format!("console[{first}] killed by process {killer} at 0x"),
        ],
    );
    assert_line_with_all(&outcome, &["[kernel] ", "hello[", "] exited with status 0"]);
    let greetings = outcome
        .serial
        .lines()
        .filter(|line| line.starts_with("hello[") && line.contains("]: Hello from ring 3!"))
        .count();
    assert_eq!(
        greetings,
        1,
        "only the hello with a console was heard\n{}",
        report(&outcome)
    );
    assert!(
        !outcome.serial.contains("nobody should see this"),
        "a write without a console was seen\n{}",
        report(&outcome)
    );
}

#[test]
fn a_third_process_waits_for_a_child_it_did_not_start() {
    let programs = [
        endpoint("pass"),
        hostile("wait-third", "wait-third", 3, &[&handle("pass", &["recv"], 0)], ""),
        hostile(
            "pass-parent",
            "pass-parent",
            BYSTANDER_PRIORITY,
            &[&handle("pass", &["send"], 0)],
            "spawns = [\"sleepy\"]",
        ),
        hostile("sleepy", "sleepy", BYSTANDER_PRIORITY, &[], ""),
    ]
    .concat();
    let outcome = supervised_run("signals_wait_third", &["wait-third", "pass-parent"], &programs);
    expect(&outcome, "pass-parent", &[("pass", "ok")]);
    let child = number(&outcome, "pass-parent", "child_pid").to_string();
    expect(
        &outcome,
        "wait-third",
        &[
            ("pid", &child),
            ("kill", "ENORIGHTS"),
            ("dup_kill", "ENORIGHTS"),
            ("running", "ETIMEDOUT"),
            ("ending", "exited"),
            ("detail", "7"),
            ("again", "exited"),
        ],
    );
    // The parent closed its handle and ended first: the record lived on
    // in the third process's copy.
    assert_eq!(assert_exited(&outcome, "sleepy", 7).to_string(), child);
    assert!(
        ending(&outcome, "pass-parent").0 < ending(&outcome, "sleepy").0,
        "{}",
        report(&outcome)
    );
    assert_exited(&outcome, "wait-third", 0);
}

#[test]
fn one_wait_covers_a_child_and_another_signal() {
    let programs = [
        endpoint("watch"),
        hostile(
            "watcher",
            "watcher",
            3,
            &[&handle("watch", &["recv"], 0)],
            "spawns = [\"sleepy\", \"pinger\"]",
        ),
        hostile("sleepy", "sleepy", BYSTANDER_PRIORITY, &[], ""),
        hostile(
            "pinger",
            "notify-flood",
            BYSTANDER_PRIORITY,
            &[&handle("watch", &["send"], 0)],
            "args = \"role=signaller count=0\"",
        ),
    ]
    .concat();
    let outcome = supervised_run("signals_watch", &["watcher"], &programs);
    expect(
        &outcome,
        "watcher",
        &[
            ("wake1", "0x8000000000000000"),
            ("wake2", "0x1"),
            ("wakes", "2"),
            ("replaced", "no"),
            ("child_ending", "exited"),
            ("child_detail", "3"),
            ("late_watch", "0x4"),
            ("forgotten_ending", "exited"),
        ],
    );
    assert_exited(&outcome, "watcher", 0);
}

#[test]
fn sleep_blocks_for_the_ticks_asked_without_spinning() {
    let programs = r#"
[[program]]
name = "sleeper"
crate = "hostile"
bin = "sleeper"
priority = 3
args = "ms=200 spin=10"
handles = [{ endpoint = "console", rights = ["send"] }]
"#;
    let outcome = boot("signals_sleep", &with_console(programs), "");
    assert_kernel_alive(&outcome);
    expect(
        &outcome,
        "sleeper",
        &[
            ("tick_hz", "100"),
            ("page_ticks_agree", "yes"),
            ("sleep", "ok"),
            ("asked_ticks", "20"),
            ("spin_ticks", "10"),
            ("sleep_zero", "ok"),
        ],
    );
    // At least the ticks asked, and one more (the tick the sleep started in
    // was partly gone); charged no CPU tick, where spinning is.
    let slept = number(&outcome, "sleeper", "slept_ticks");
    assert!(
        (21..=23).contains(&slept),
        "slept {slept} ticks for 20\n{}",
        report(&outcome)
    );
    let sleeping = number(&outcome, "sleeper", "sleep_cpu_ticks");
    assert!(
        sleeping <= 1,
        "charged {sleeping} CPU ticks asleep\n{}",
        report(&outcome)
    );
    let spinning = number(&outcome, "sleeper", "spin_cpu_ticks");
    assert!(
        spinning >= 5,
        "charged {spinning} CPU ticks for 10 of spinning\n{}",
        report(&outcome)
    );
    assert_exited(&outcome, "sleeper", 0);
}

#[test]
fn tables_of_notifications_and_records_do_not_leak() {
    let programs = [
        hostile("churn", "churn", 3, &[], "spawns = [\"sleepy\"]"),
        hostile("sleepy", "sleepy", BYSTANDER_PRIORITY, &[], ""),
    ]
    .concat();
    let outcome = supervised_run("signals_churn", &["churn"], &programs);
    expect(
        &outcome,
        "churn",
        &[
            ("notify_cycles", "192"),
            ("notify_failures", "0"),
            ("bind_cycles", "192"),
            ("bind_failures", "0"),
            ("spawn_cycles", "106"),
            ("spawn_failures", "0"),
        ],
    );
    assert_exited(&outcome, "churn", 0);
}

#[test]
fn the_time_page_cannot_be_changed() {
    let programs = hostile("time-writer", "time-writer", BYSTANDER_PRIORITY, &[], "");
    let outcome = supervised_run("signals_time_page", &["time-writer"], &programs);
    expect(
        &outcome,
        "time-writer",
        &[
            ("map", "EINVAL"),
            // None of the program's mappings: nothing to remove.
            ("unmap", "ok"),
            ("protect", "EINVAL"),
            ("still_ticking", "yes"),
        ],
    );
    assert_page_fault(
        &outcome,
        "time-writer",
        Access::Write,
        abi::time::TIME_PAGE,
        Cause::ProtectionViolation,
    );
    assert!(
        values(&outcome, "time-writer").get("wrote").is_none(),
        "{}",
        report(&outcome)
    );
}
