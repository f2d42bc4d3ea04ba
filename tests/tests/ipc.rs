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
    // The exit status is the error code `write` returned.
    assert_eq!(abi::Error::BADHANDLE as i64, 3);
    assert_eq!(abi::Error::NORIGHTS as i64, 4);
    assert_exited(&outcome, "no-console", 3);
    assert_exited(&outcome, "recv-console", 4);
    assert_serial_lacks(&outcome, "nobody should see this line");
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
    assert_line_order(
        &outcome,
        &["[console] echo[", "exited with status 0"],
        &["echo-client[", "]: stop=EPEERGONE"],
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
    let a = assert_exited(&outcome, "badge-a", 0);
    let b = assert_exited(&outcome, "badge-b", 0);
    assert_serial_contains(&outcome, &format!("badge-a[{a}]: the server saw badge 11"));
    assert_serial_contains(&outcome, &format!("badge-b[{b}]: the server saw badge 22"));
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
    let client = assert_exited(&outcome, "pass-client", 0);
    assert_serial_contains(
        &outcome,
        &format!(
            "pass-client[{client}]: received \"hello through a passed handle\" with label 0x77 and badge 42 on my own endpoint"
        ),
    );
    assert_serial_contains(
        &outcome,
        &format!("pass-client[{client}]: passing a handle without TRANSFER: ENORIGHTS"),
    );
    assert_serial_contains(
        &outcome,
        &format!("pass-client[{client}]: passing the console handle: ENORIGHTS"),
    );
    assert_serial_contains(
        &outcome,
        &format!("pass-client[{client}]: sending on a closed handle: EBADHANDLE"),
    );
    // Only the first message reached the server: the refused ones never left.
    assert_eq!(
        lines_with_all(&outcome, &["pass-server[", "]: sent on the passed handle: ok"]).len(),
        1,
        "{}",
        report(&outcome)
    );
    assert_serial_lacks(&outcome, "a message without a handle");
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
    let pid = assert_exited(&outcome, "msg-faults", 0);
    for (what, answer) in [
        ("send with info.len 4097", "ETOOLONG"),
        ("send with the KERNEL flag", "EINVAL"),
        ("call with a kernel buffer", "EFAULT"),
        ("call with a read-only reply buffer", "EFAULT"),
        ("recv into read-only memory", "EFAULT"),
        ("reply with no caller", "ENOREPLY"),
        (
            "call to mirror with 64 bytes and room for 64",
            "ok, 64 bytes back intact",
        ),
        ("call to long-reply with room for 64", "ETOOLONG"),
    ] {
        assert_serial_contains(&outcome, &format!("msg-faults[{pid}]: {what}: {answer}"));
    }
    // The server's too-long reply was refused, and that ended the call: the
    // server learns it, and has no caller left for a second reply.
    assert_line_order(
        &outcome,
        &["long-reply[", "]: reply_recv with 128 bytes: ETOOLONG"],
        &["long-reply[", "]: reply with 32 bytes: ENOREPLY"],
    );
    assert_serial_lacks(&outcome, "the read-only buffer changed");
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
    for client in ["client1", "client2"] {
        assert_exited(&outcome, client, 0);
        assert_line_order(
            &outcome,
            &[&format!("[console] {client}["), "exited with status 0"],
            &["spin[", "]: spun 100000000 rounds"],
        );
    }
    assert_exited(&outcome, "spin", 0);
}

#[test]
fn priorities_are_strict() {
    // The low-priority program comes first in the manifest: only its
    // priority keeps it waiting.
    let programs = [
        program("low-printer", "testprogs", "low-printer", 1, &[]),
        program("high-spinner", "testprogs", "high-spinner", 3, &[]),
        hello(0),
    ]
    .concat();
    let outcome = boot("priorities_are_strict", &scenario(&programs), "");
    assert_kernel_alive(&outcome);
    assert_line_with_all(&outcome, &["high-spinner[", "]: spun ", " rounds over 20 timer ticks"]);
    assert_line_order(
        &outcome,
        &["[console] high-spinner[", "exited with status 0"],
        &["low-printer[", "]: low priority ran at tick"],
    );
    // It ran no earlier than 20 ticks after boot, when the high one was done.
    let line = find_line(&outcome, &["low-printer[", "]: low priority ran at tick"]);
    let tick: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(tick >= 20, "low-printer ran at tick {tick}\n{}", report(&outcome));
    assert_exited(&outcome, "low-printer", 0);
}
