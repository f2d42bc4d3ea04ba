//! System tests of IPC: errors instead of hangs when a handle or a peer is
//! missing, typed calls and requests that fit no operation, badges, passing
//! handles, refused messages and buffers, and the scheduler's promises
//! (preemption within a priority, strict priorities).

use systests::*;

/// A program entry: `name` from `bin` of `krate` at `priority`, with the
/// given handle specs (TOML inline tables) after its console handle.
fn program(name: &str, krate: &str, bin: &str, priority: u8, handles: &[&str]) -> String {
    let mut list = vec![r#"{ endpoint = "console", rights = ["send"] }"#.to_string()];
    list.extend(handles.iter().map(|h| h.to_string()));
    format!(
        "\n[[program]]\nname = \"{name}\"\ncrate = \"{krate}\"\nbin = \"{bin}\"\npriority = {priority}\nhandles = [{}]\n",
        list.join(", ")
    )
}

fn endpoint(name: &str) -> String {
    format!("\n[[endpoint]]\nname = \"{name}\"\n")
}

#[test]
fn write_without_a_console_handle_fails() {
    let programs = format!(
        "{}\n[[program]]\nname = \"no-console\"\ncrate = \"testprogs\"\nbin = \"write-status\"\npriority = 2\n\
         \n[[program]]\nname = \"recv-console\"\ncrate = \"testprogs\"\nbin = \"write-status\"\npriority = 2\n\
         handles = [{{ endpoint = \"inbox\", rights = [\"recv\"] }}]\n{}",
        endpoint("inbox"),
        hello(1)
    );
    let outcome = boot("write_without_a_console_handle_fails", &scenario(&programs), "");
    assert_kernel_alive(&outcome);
    // The exit status is the error code `write` returned, and the line
    // reached no one.
    assert_exited(&outcome, "no-console", abi::Error::BADHANDLE as i64);
    assert_exited(&outcome, "recv-console", abi::Error::NORIGHTS as i64);
    assert_silent(&outcome, "no-console");
    assert_silent(&outcome, "recv-console");
}

#[test]
fn typed_calls_mismatches_and_a_dead_server() {
    let programs = [
        endpoint("echo"),
        program(
            "echo",
            "echo",
            "echo",
            4,
            &[r#"{ endpoint = "echo", rights = ["recv"] }"#],
        ),
        program(
            "echo-client",
            "testprogs",
            "echo-client",
            2,
            &[r#"{ endpoint = "echo", rights = ["send"] }"#],
        ),
        hello(1),
    ]
    .concat();
    let outcome = boot("typed_calls_mismatches_and_a_dead_server", &scenario(&programs), "");
    assert_kernel_alive(&outcome);
    assert_values(
        &outcome,
        "echo-client",
        &[
            ("ping", "41"),
            // Messages that fit no operation: the documented error for
            // the client...
            ("unknown_operation", "ENOSYS"),
            ("wrong_shape", "EINVAL"),
            ("echo", "intact"),
            ("served", "2"),
            // The server died while the call waited for its reply.
            ("stop", "EPEERGONE"),
            ("after_stop", "EPEERGONE"),
        ],
    );
    // ...and the same for the server, which serves on.
    assert_values(
        &outcome,
        "echo",
        &[
            ("mismatch.1", "ENOSYS"),
            ("mismatch.2", "EINVAL"),
            ("stopping.served", "2"),
        ],
    );
    assert_exited(&outcome, "echo", 0);
    // The call with `stop` ends with EPEERGONE after the server's exit.
    let (echo_exit, _) = ending(&outcome, "echo");
    assert!(
        echo_exit < line_of(&outcome, "echo-client", "stop"),
        "stop=EPEERGONE before echo's exit\n{}",
        report(&outcome)
    );
    assert_exited(&outcome, "echo-client", 0);
}

#[test]
fn badges_identify_clients() {
    let programs = [
        endpoint("badges"),
        program(
            "badge-server",
            "testprogs",
            "badge-server",
            4,
            &[r#"{ endpoint = "badges", rights = ["recv"] }"#],
        ),
        program(
            "badge-a",
            "testprogs",
            "badge-client",
            2,
            &[r#"{ endpoint = "badges", rights = ["send"], badge = 11 }"#],
        ),
        program(
            "badge-b",
            "testprogs",
            "badge-client",
            2,
            &[r#"{ endpoint = "badges", rights = ["send"], badge = 22 }"#],
        ),
        hello(1),
    ]
    .concat();
    let outcome = boot("badges_identify_clients", &scenario(&programs), "");
    assert_kernel_alive(&outcome);
    assert_exited(&outcome, "badge-a", 0);
    assert_exited(&outcome, "badge-b", 0);
    // What the server saw: each client's badge.
    assert_values(&outcome, "badge-a", &[("badge", "11")]);
    assert_values(&outcome, "badge-b", &[("badge", "22")]);
}

#[test]
fn handles_can_be_passed() {
    let programs = [
        endpoint("relay"),
        program(
            "pass-server",
            "testprogs",
            "pass-server",
            4,
            &[r#"{ endpoint = "relay", rights = ["recv"] }"#],
        ),
        program(
            "pass-client",
            "testprogs",
            "pass-client",
            2,
            &[r#"{ endpoint = "relay", rights = ["send"] }"#],
        ),
        hello(1),
    ]
    .concat();
    let outcome = boot("handles_can_be_passed", &scenario(&programs), "");
    assert_kernel_alive(&outcome);
    assert_exited(&outcome, "pass-client", 0);
    // The server's message on the passed handle arrived on the client's
    // own endpoint, with the badge the client gave the handle.
    use testspec::pass::{BADGE, GREETING, LABEL};
    assert_values(
        &outcome,
        "pass-client",
        &[
            ("received.data", GREETING),
            ("received.label", &format!("{LABEL:#x}")),
            ("received.badge", &BADGE.to_string()),
            ("pass_without_transfer", "ENORIGHTS"),
            ("pass_console", "ENORIGHTS"),
            ("send_on_closed", "EBADHANDLE"),
        ],
    );
    // Only the first message reached the server: the refused ones never left.
    assert_values(&outcome, "pass-server", &[("message.1", "handle"), ("sent.1", "ok")]);
    let server = values(&outcome, "pass-server");
    assert_eq!(server.keys(), ["message.1", "sent.1"], "{}", report(&outcome));
}

#[test]
fn message_too_long_and_buffer_faults() {
    let programs = [
        endpoint("mirror"),
        endpoint("long"),
        program(
            "mirror",
            "testprogs",
            "mirror",
            4,
            &[r#"{ endpoint = "mirror", rights = ["recv"] }"#],
        ),
        program(
            "long-reply",
            "testprogs",
            "long-reply",
            4,
            &[r#"{ endpoint = "long", rights = ["recv"] }"#],
        ),
        program(
            "msg-faults",
            "testprogs",
            "msg-faults",
            2,
            &[
                r#"{ endpoint = "mirror", rights = ["send"] }"#,
                r#"{ endpoint = "long", rights = ["send"] }"#,
            ],
        ),
        hello(1),
    ]
    .concat();
    let outcome = boot("message_too_long_and_buffer_faults", &scenario(&programs), "");
    assert_kernel_alive(&outcome);
    assert_exited(&outcome, "msg-faults", 0);
    assert_values(
        &outcome,
        "msg-faults",
        &[
            ("send_len_4097", "ETOOLONG"),
            ("send_kernel_flag", "EINVAL"),
            ("call_kernel_buffer", "EFAULT"),
            ("call_read_only_reply_buffer", "EFAULT"),
            ("recv_read_only", "EFAULT"),
            ("reply_no_caller", "ENOREPLY"),
            // 64 bytes to mirror with room for 64: all back, intact.
            ("call_mirror", "ok"),
            ("call_mirror.bytes", "64"),
            // long-reply's 128 bytes with room for 64.
            ("call_long_reply", "ETOOLONG"),
            ("wrong", "0"),
        ],
    );
    assert_checks(&outcome, "msg-faults", &["read_only_unchanged", "mirror_intact"]);
    // The server's too-long reply was refused, and that ended the call: the
    // server learns it, and has no caller left for a second reply.
    assert_values(
        &outcome,
        "long-reply",
        &[
            ("request.1", "8"),
            ("reply_recv.1", "ETOOLONG"),
            ("reply.1", "ENOREPLY"),
        ],
    );
    assert!(
        line_of(&outcome, "long-reply", "reply_recv.1") < line_of(&outcome, "long-reply", "reply.1"),
        "{}",
        report(&outcome)
    );
}

#[test]
fn cpu_bound_loop_does_not_starve_others() {
    // spin comes first, so it holds the CPU first; it never makes a syscall
    // until it is done, so only preemption lets the clients run.
    let programs = [
        program("spin", "demo", "spin", 2, &[]),
        program("client1", "demo", "client1", 2, &[]),
        program("client2", "demo", "client2", 2, &[]),
        hello(1),
    ]
    .concat();
    let outcome = boot("cpu_bound_loop_does_not_starve_others", &scenario(&programs), "");
    assert_kernel_alive(&outcome);
    assert_values(&outcome, "spin", &[("rounds", "100000000")]);
    let spun = line_of(&outcome, "spin", "rounds");
    for client in ["client1", "client2"] {
        assert_exited(&outcome, client, 0);
        let (exited, _) = ending(&outcome, client);
        assert!(exited < spun, "{client} exited after spin\n{}", report(&outcome));
    }
    assert_exited(&outcome, "spin", 0);
}

#[test]
fn priorities_are_strict() {
    // The low-priority program comes first in the manifest: only its
    // priority keeps it waiting. There is a high-priority spinner for
    // every CPU, so none is left for the low one while they spin.
    let spinners: Vec<String> = (0..test_cpus())
        .map(|i| {
            if i == 0 {
                "high-spinner".to_string()
            } else {
                format!("high-spinner-{i}")
            }
        })
        .collect();
    let mut programs = program("low-printer", "testprogs", "low-printer", 1, &[]);
    for name in &spinners {
        programs += &program(name, "testprogs", "high-spinner", 3, &[]);
    }
    programs += &hello(0);
    let outcome = boot("priorities_are_strict", &scenario(&programs), "");
    assert_kernel_alive(&outcome);
    for name in &spinners {
        let high = values(&outcome, name);
        assert_eq!(
            number(&outcome, &high, "ticks"),
            testspec::HIGH_SPINNER_TICKS,
            "{}",
            report(&outcome)
        );
        assert!(number(&outcome, &high, "rounds") > 0, "{}", report(&outcome));
        assert_exited(&outcome, name, 0);
        // The low one ran only after the high ones were gone (on one CPU
        // the console prints their end first; on more it may print the low
        // one's line first, so the tick below is what tells).
        let (high_exit, _) = ending(&outcome, name);
        if test_cpus() == 1 {
            assert!(
                high_exit < line_of(&outcome, "low-printer", "ran_at_tick"),
                "{}",
                report(&outcome)
            );
        }
    }
    let tick = number(&outcome, &values(&outcome, "low-printer"), "ran_at_tick");
    assert!(
        tick >= testspec::HIGH_SPINNER_TICKS,
        "low-printer ran at tick {tick}\n{}",
        report(&outcome)
    );
    assert_exited(&outcome, "low-printer", 0);
}
