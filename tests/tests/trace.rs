//! System tests of the syscall trace: a traced boot starts with the header
//! naming the ABI version, and, decoded with the syscall table, shows
//! `write` forwarded to the console server as IPC.

use systests::*;
use xtask::trace::Filter;

/// The console server and hello.
fn traced_hello() -> String {
    scenario(
        r#"
[[program]]
name = "hello"
crate = "hello"
priority = 2
handles = [{ endpoint = "console", rights = ["send"], badge = 1 }]
"#,
    )
}

#[test]
fn traced_boot_shows_write_forwarded_as_ipc() {
    let (outcome, trace) = boot_traced("traced_boot", &traced_hello(), "");
    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    // The kernel starts the trace with its header: no warning says one is
    // missing, and the header names the ABI the kernel was built for.
    assert!(trace.warnings.is_empty(), "{:?}\n{}", trace.warnings, report(&outcome));
    assert_eq!(trace.version, Some(abi::ABI_VERSION), "{}", report(&outcome));
    let pid = trace
        .names
        .iter()
        .find(|(_, name)| *name == "hello")
        .map(|(pid, _)| *pid)
        .unwrap_or_else(|| panic!("no Start record names hello: {:?}\n{}", trace.names, report(&outcome)));
    let lines = trace.lines();
    let hello = format!("hello[{pid}]");

    // hello's write, with its string and its result: all of it written.
    let write = line_with_all(
        &lines,
        &[&format!("{hello} write(fd=1, buf=0x"), " \"Hello from ring 3!"],
        &outcome,
    );
    let length: usize = lines[write]
        .rsplit_once(", len=")
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(length, _)| length.parse().ok())
        .unwrap_or_else(|| panic!("no length in {:?}", lines[write]));
    assert!(
        lines[write].ends_with(&format!("\\n\", len={length}) = {length}")),
        "{:?}",
        lines[write]
    );
    // The console receives it as a message from hello: label WRITE, flag KERNEL.
    let received = line_with_all(
        &lines,
        &[
            "console[",
            "] reply_recv(",
            &format!(
                " = 0 <- {hello} badge=1 {{label={} words=6 len={length} flags=KERNEL}}",
                abi::console::WRITE
            ),
        ],
        &outcome,
    );
    // libsys's start asks for the ABI version first: a syscall the entry
    // stub answers itself when tracing is off, and hands to the dispatcher,
    // which records it, when it is on.
    let version = line_with_all(&lines, &[&format!("{hello} abi_version() = ")], &outcome);
    assert!(version < write, "abi_version after the write:\n{}", lines.join("\n"));
    // Then hello exits.
    let exited = line_with_all(&lines, &[&format!("+++ {hello} exited with status 0 +++")], &outcome);
    let exit_call = line_with_all(&lines, &[&format!("{hello} exit(status=0) = ?")], &outcome);
    assert!(
        received < write && write < exit_call && exit_call < exited,
        "lines out of order ({received}, {write}, {exit_call}, {exited}):\n{}",
        lines.join("\n")
    );

    // A filter keeps hello's lines only.
    let only_hello = Filter::parse("hello,syscall=write").unwrap().lines(&trace);
    assert!(
        only_hello.iter().all(|line| line.contains(&hello)),
        "{}",
        only_hello.join("\n")
    );
    assert!(
        only_hello
            .iter()
            .any(|line| line.starts_with(&format!("{hello} write(")))
    );
}
