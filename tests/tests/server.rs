//! System tests of libsys's server side: a reply that cannot be delivered
//! is an error for the client (never an empty success) and is reported to
//! the server.

use systests::*;

fn endpoint(name: &str) -> String {
    format!("\n[[endpoint]]\nname = \"{name}\"\n")
}

/// A program of `testprogs`: its console handle, then `handle`.
fn test_program_with(name: &str, bin: &str, priority: u8, handle: &str) -> String {
    format!(
        "\n[[program]]\nname = \"{name}\"\ncrate = \"testprogs\"\nbin = \"{bin}\"\npriority = {priority}\n\
         handles = [{{ endpoint = \"console\", rights = [\"send\"] }}, {handle}]\n"
    )
}

#[test]
fn a_refused_reply_is_an_error_on_both_sides() {
    let programs = [
        endpoint("refusing"),
        test_program_with(
            "refusing-server",
            "refusing-server",
            4,
            r#"{ endpoint = "refusing", rights = ["recv"] }"#,
        ),
        test_program_with(
            "refused-client",
            "refused-client",
            2,
            r#"{ endpoint = "refusing", rights = ["send"] }"#,
        ),
        hello(1),
    ]
    .concat();
    let outcome = boot("a_refused_reply_is_an_error_on_both_sides", &scenario(&programs), "");
    assert_kernel_alive(&outcome);
    // The client: each call returned the error, none an empty success.
    assert_values(
        &outcome,
        "refused-client",
        &[
            // Too long for its buffer: the kernel ended the call.
            ("call.too_long_for_client", "ETOOLONG"),
            // The server's own mistakes: error replies.
            ("call.handle_without_transfer", "ENORIGHTS"),
            ("call.beyond_the_buffer", "ETOOLONG"),
            ("call.fine", "ok"),
            ("server.refused", "3"),
        ],
    );
    assert_exited(&outcome, "refused-client", 0);
    // The server: heard of each, in order, and went on serving.
    assert_values(
        &outcome,
        "refusing-server",
        &[
            ("refused.1", "ETOOLONG"),
            ("refused.2", "ENORIGHTS"),
            ("refused.3", "ETOOLONG"),
        ],
    );
    // No other reply was refused: exactly these three.
    let server = values(&outcome, "refusing-server");
    assert_eq!(
        server.keys_with_prefix("refused."),
        ["refused.1", "refused.2", "refused.3"],
        "{}",
        report(&outcome)
    );
}
