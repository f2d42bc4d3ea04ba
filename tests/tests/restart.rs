//! Restartable servers: programs whose manifest entries say `restart`,
//! started and restarted by the supervisor server (`servers/supervisor`),
//! which the build tool adds to each scenario. The restartable server is
//! `flaky` and its driver `flaky-client` (`servers/flaky`), which print
//! `key=value` results that these tests read, as does the supervisor
//! (`restart.NAME`, `delay.NAME`, `stopped.NAME`); time is counted in
//! timer ticks as the programs saw them, never in wall time.

use systests::*;

/// The `flaky` server: `name`, receiving on the endpoint of the same name,
/// at priority 4, with `extra` TOML lines (its `restart` among them) and
/// `more` handles after its two.
fn server(name: &str, extra: &str, more: &str) -> String {
    format!(
        r#"
[[endpoint]]
name = "{name}"

[[program]]
name = "{name}"
crate = "flaky"
bin = "flaky"
priority = 4
{extra}
handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "{name}", rights = ["recv"] }},
    {more}
]
"#
    )
}

/// A `flaky-client` named `name` at `priority` (on CPU 0, so that what it
/// and its waiters do happens in one order), with `args`, `extra` TOML lines
/// and its handles after the console's.
fn client(name: &str, priority: u8, args: &str, extra: &str, handles: &str) -> String {
    format!(
        r#"
[[program]]
name = "{name}"
crate = "flaky"
bin = "flaky-client"
priority = {priority}
cpus = [0]
args = "{args}"
{extra}
handles = [{{ endpoint = "console", rights = ["send"] }}, {handles}]
"#
    )
}

const SEND_FLAKY: &str = r#"{ endpoint = "flaky", rights = ["send"] }"#;

/// What the supervisor printed; asserts it started `programs` programs.
#[track_caller]
fn supervisor(outcome: &RunOutcome, programs: u64) -> Values {
    assert_values(outcome, "supervisor", &[("supervising", &programs.to_string())]);
    values(outcome, "supervisor")
}

/// How each instance of `name` ended, in order.
fn ends(outcome: &RunOutcome, name: &str) -> Vec<Ending> {
    endings_of(outcome, name)
        .into_iter()
        .map(|(_, ended)| ended.how)
        .collect()
}

fn is_fault(ending: &Ending) -> bool {
    matches!(ending, Ending::Faulted { vector, .. } if *vector == vector::PAGE_FAULT)
}

#[test]
fn a_crashed_server_is_restarted_and_answers_the_next_call() {
    let programs = format!(
        "{}{}",
        server("flaky", r#"restart = "on-fault""#, ""),
        client("client", 2, "mode=crash", "", SEND_FLAKY),
    );
    let outcome = boot("restart_crash", &scenario(&programs), "");
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    assert_values(&outcome, "client", &[("crash", "EPEERGONE")]);
    assert_checks(&outcome, "client", &["answered_after_restart", "new_instance"]);
    assert_exited(&outcome, "client", 0);
    let ended = ends(&outcome, "flaky");
    assert!(
        ended.len() == 1 && is_fault(&ended[0]),
        "{ended:?}\n{}",
        report(&outcome)
    );
    // The default back-off: 10 ms, one tick.
    let supervisor = supervisor(&outcome, 1);
    assert_eq!(supervisor.all("restart.flaky"), ["1"], "{}", report(&outcome));
    assert_eq!(supervisor.all("delay.flaky"), ["1"], "{}", report(&outcome));
}

#[test]
fn clients_blocked_on_a_crashing_server_get_epeergone() {
    // The client's call holds the server for 10 ticks before it faults;
    // meanwhile the waiters (lower priority, same CPU, spawned first) call
    // it and wait in the endpoint's queue.
    let waiters = ["waiter1", "waiter2"];
    let mut programs = format!(
        "{}{}",
        server("flaky", r#"restart = "on-fault""#, ""),
        client(
            "client",
            2,
            &format!("mode=crash hold=10 waiters={}", waiters.join(",")),
            r#"spawns = ["waiter1", "waiter2"]"#,
            SEND_FLAKY,
        ),
    );
    for waiter in waiters {
        programs.push_str(&client(waiter, 1, "mode=wait", r#"start = "spawn""#, SEND_FLAKY));
    }
    let outcome = boot("restart_blocked", &scenario(&programs), "");
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    assert_values(&outcome, "client", &[("waiters", "2"), ("crash", "EPEERGONE")]);
    assert_checks(&outcome, "client", &["answered_after_restart", "new_instance"]);
    let fault = endings_of(&outcome, "flaky");
    assert!(
        fault.len() == 1 && is_fault(&fault[0].1.how),
        "{fault:?}\n{}",
        report(&outcome)
    );
    for waiter in waiters {
        assert_values(&outcome, waiter, &[("blocked_call", "EPEERGONE")]);
        assert_checks(&outcome, waiter, &["answered_after_restart"]);
        assert_exited(&outcome, waiter, 0);
        // Their calls failed when the server died, not before.
        assert!(
            line_of(&outcome, waiter, "blocked_call") > fault[0].0,
            "{waiter}\n{}",
            report(&outcome)
        );
    }
    assert_eq!(supervisor(&outcome, 1).all("restart.flaky"), ["1"]);
}

#[test]
fn always_restarts_an_exit_and_on_fault_restarts_everything_else() {
    let programs = format!(
        "{}{}{}",
        server("always", "restart = \"always\"\nrestart_backoff = \"0\"", ""),
        server(
            "on-fault",
            "restart = \"on-fault\"\nrestart_backoff = \"0\"\ncpu_limit = 5",
            ""
        ),
        client(
            "client",
            2,
            "mode=endings",
            "",
            r#"{ endpoint = "always", rights = ["send"] }, { endpoint = "on-fault", rights = ["send"] }"#,
        ),
    );
    let outcome = boot("restart_endings", &scenario(&programs), "");
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    let ended = [
        "always_exit",
        "always_fault",
        "on_fault_limit",
        "on_fault_fault",
        "on_fault_exit",
        "on_fault_after_exit",
    ];
    let expected: Vec<(&str, &str)> = ended.iter().map(|key| (*key, "EPEERGONE")).collect();
    assert_values(&outcome, "client", &expected);
    assert_checks(
        &outcome,
        "client",
        &[
            "always_exit_restarted",
            "always_fault_restarted",
            "on_fault_limit_restarted",
            "on_fault_fault_restarted",
        ],
    );
    assert_exited(&outcome, "client", 0);

    let always = ends(&outcome, "always");
    assert!(
        always.len() == 2 && always[0] == Ending::Exited(0) && is_fault(&always[1]),
        "{always:?}\n{}",
        report(&outcome)
    );
    let on_fault = ends(&outcome, "on-fault");
    assert!(
        on_fault.len() == 3
            && matches!(on_fault[0], Ending::OverLimit { ticks: 5, .. })
            && is_fault(&on_fault[1])
            && on_fault[2] == Ending::Exited(0),
        "{on_fault:?}\n{}",
        report(&outcome)
    );
    let supervisor = supervisor(&outcome, 2);
    assert_eq!(supervisor.all("restart.always"), ["1", "2"]);
    assert_eq!(supervisor.all("restart.on-fault"), ["1", "2"]);
    assert_eq!(supervisor.all("stopped.on-fault"), ["exited"]);
    assert_eq!(supervisor.all("stopped.always"), Vec::<&str>::new());
    // No back-off: nothing was delayed.
    assert!(supervisor.all("delay.always").is_empty() && supervisor.all("delay.on-fault").is_empty());
}

/// The back-off of [`the_back_off_doubles_to_its_cap_and_starts_over`]:
/// 1 tick, doubling to 8; a run of 20 ticks is stable.
const FIRST: u64 = 1;
const CAP: u64 = 8;
const STABLE: u64 = 20;
/// Instances that start within this many ticks of the first crash at once.
const WINDOW: u64 = 50;

#[test]
fn the_back_off_doubles_to_its_cap_and_starts_over() {
    // Every instance asks the client at start whether to crash at once: the
    // ones that start within WINDOW ticks of the first do; the next one
    // serves for longer than the stable period, then crashes once more.
    let programs = format!(
        "{}{}\n[[endpoint]]\nname = \"control\"\n",
        server(
            "flaky",
            "restart = \"on-fault\"\nrestart_backoff = \"10 ms\"\nrestart_backoff_max = \"80 ms\"\n\
             restart_stable = \"200 ms\"\nargs = \"control=2\"",
            r#"{ endpoint = "control", rights = ["send"] },"#,
        ),
        client(
            "client",
            2,
            &format!("mode=backoff window={WINDOW} stable={}", STABLE + 5),
            "",
            &format!(r#"{SEND_FLAKY}, {{ endpoint = "control", rights = ["recv"] }}"#),
        ),
    );
    let outcome = boot("restart_backoff", &scenario(&programs), "");
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    assert_exited(&outcome, "client", 0);
    let client = values(&outcome, "client");
    let crashed = number(&outcome, &client, "crashed") as usize;
    let starts: Vec<u64> = client.all("start").iter().map(|tick| tick.parse().unwrap()).collect();
    let delays: Vec<u64> = supervisor(&outcome, 1)
        .all("delay.flaky")
        .iter()
        .map(|ticks| ticks.parse().unwrap())
        .collect();
    let context = format!("starts {starts:?}, delays {delays:?}\n{}", report(&outcome));

    // The delays double from 1 to the cap of 8 ticks; after the stable run
    // the next is 1 tick again.
    let schedule: Vec<u64> = (0..crashed as u32).map(|i| (FIRST << i.min(3)).min(CAP)).collect();
    assert_eq!(delays.len(), crashed + 1, "{context}");
    assert_eq!(delays[..crashed], schedule, "{context}");
    assert_eq!(delays[crashed], FIRST, "{context}");

    // Each instance started at least its delay after the one before, so
    // the window holds at most the instances the schedule allows (starts
    // at ticks 0, 1, 3, 7, 15, 23, 31, 39 and 47: nine), where restarting
    // at once would have started hundreds.
    assert_eq!(starts.len(), crashed + 2, "{context}");
    for (pair, delay) in starts.windows(2).zip(&schedule) {
        assert!(pair[1] - pair[0] >= *delay, "{context}");
    }
    let most = (0..)
        .scan(0, |at, i| {
            let start = *at;
            *at += (FIRST << i.min(3)).min(CAP);
            Some(start)
        })
        .take_while(|start| *start < WINDOW)
        .count();
    assert_eq!(most, 9);
    assert!(
        (3..=most).contains(&crashed),
        "{crashed} crashed in the window\n{context}"
    );
    assert!(starts[crashed] - starts[0] >= WINDOW, "{context}");

    // The stable run ended in a fault like the others.
    let crashed_at = number(&outcome, &client, "crashed_at");
    let restarted_at = number(&outcome, &client, "restarted_at");
    assert!(crashed_at - starts[crashed] > STABLE, "{context}");
    assert!(restarted_at > crashed_at, "{context}");
    assert_values(&outcome, "client", &[("stable_crash", "EPEERGONE")]);
    let ended = ends(&outcome, "flaky");
    assert!(ended.len() == crashed + 1 && ended.iter().all(is_fault), "{context}");
}

/// Crash-and-restart cycles of [`a_thousand_restarts_leave_every_counter_where_it_was`].
const CYCLES: u64 = 1000;

#[test]
fn a_thousand_restarts_leave_every_counter_where_it_was() {
    let programs = format!(
        "{}{}",
        server("flaky", "restart = \"on-fault\"\nrestart_backoff = \"0\"", ""),
        client("client", 2, &format!("mode=cycles count={CYCLES}"), "", SEND_FLAKY),
    );
    let outcome = boot("restart_cycles", &scenario(&programs), "");
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    assert_values(&outcome, "client", &[("cycles", &CYCLES.to_string())]);
    assert_checks(&outcome, "client", &["every_call_peergone", "every_restart_answered"]);
    assert_counters_back(&outcome, "client");
    assert_exited(&outcome, "client", 0);
    let ended = ends(&outcome, "flaky");
    assert!(
        ended.len() == CYCLES as usize && ended.iter().all(is_fault),
        "{} ends\n{}",
        ended.len(),
        report(&outcome)
    );
    let supervisor = supervisor(&outcome, 1);
    assert_eq!(supervisor.get("restart.flaky"), Some(CYCLES.to_string().as_str()));
    let retries = number(&outcome, &values(&outcome, "client"), "retries");
    println!("{CYCLES} cycles; {retries} calls found no instance and were tried again");
}

#[test]
fn the_example_manifest_restarts_its_server() {
    let path = xtask::workspace_root().join("manifests/restart.toml");
    let toml = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let outcome = boot("restart_example", &toml, "");
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    let unexpected = xtask::endings::unexpected(&manifest(&toml), &outcome.serial);
    assert!(unexpected.is_empty(), "{unexpected:?}\n{}", report(&outcome));
    assert_checks(&outcome, "client", &["answered_after_restart", "new_instance"]);
    assert_eq!(supervisor(&outcome, 1).all("restart.flaky"), ["1"]);
}
