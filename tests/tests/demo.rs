//! System test of the default demo (`manifests/demo.toml`, what `cargo xtask
//! run` boots): everything it promises shows on the serial port, and it ends
//! by itself with exit value 0.

use abi::machine::EXIT_SUCCESS;
use systests::*;

/// The pid in a line that starts with `name[pid]` (`[console] ` stripped).
fn pid_in(line: &str, name: &str) -> Option<u64> {
    let line = line.strip_prefix("[console] ").unwrap_or(line);
    line.strip_prefix(name)?
        .strip_prefix('[')?
        .split(']')
        .next()?
        .parse()
        .ok()
}

#[test]
fn demo_runs_to_completion() {
    let manifest = Manifest::load("demo").unwrap_or_else(|error| panic!("{error}"));
    let options = xtask::BuildOptions { echo_cargo: false };
    let image = xtask::build_image_with(&manifest, "systest-demo", &options).unwrap_or_else(|error| panic!("{error}"));
    let outcome = run_image(&image, systests::options(""));
    assert_exit(&outcome, EXIT_SUCCESS);
    assert_serial_lacks(&outcome, "PANIC");
    let lines: Vec<&str> = outcome.serial.lines().collect();

    let mut client_exits = Vec::new();
    for n in 1..=3 {
        let name = format!("client{n}");
        let pid = assert_exited(&outcome, &name, 0);
        // Every line is whole: exactly the five expected lines mention this
        // client's counting, each on a serial line of its own.
        let expected: Vec<String> = (1..=5)
            .map(|k| format!("{name}[{pid}]: client {n}: line {k} of 5"))
            .collect();
        let counted: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|line| line.contains(&format!("client {n}: line")))
            .collect();
        assert_eq!(
            counted,
            expected,
            "client {n}'s lines are not whole\n{}",
            report(&outcome)
        );
        // Its exit is reported by the console server, not the kernel.
        let exit_line = lines
            .iter()
            .position(|line| *line == format!("[console] {name}[{pid}] exited with status 0"))
            .unwrap();
        client_exits.push(exit_line);
    }
    assert!(
        !lines
            .iter()
            .any(|line| line.starts_with("[kernel]") && line.contains("exited with status")),
        "the kernel reported an exit itself\n{}",
        report(&outcome)
    );

    let pingpong = find_line(&outcome, &["pingpong[", "all intact"]);
    assert!(pid_in(pingpong, "pingpong").is_some(), "{pingpong}");
    assert_exited(&outcome, "pingpong", 0);
    assert_killed(
        &outcome,
        "faulty",
        &["killed: page fault at 0x", "(read of 0x0, not present)"],
    );

    // spin cannot starve the clients: its only line comes after all their
    // exit notices.
    let spin = lines
        .iter()
        .position(|line| line.starts_with("spin[") && line.contains("spun 100000000 rounds"))
        .unwrap_or_else(|| panic!("spin never finished\n{}", report(&outcome)));
    for exit_line in client_exits {
        assert!(
            exit_line < spin,
            "spin finished before a client did\n{}",
            report(&outcome)
        );
    }
    assert_exited(&outcome, "spin", 0);
    // The key-value client found what it stored on the server's heap.
    assert_exited(&outcome, "kv-client", 0);
    let kv = values(&outcome, "kv-client");
    let checks: Vec<_> = kv.iter().filter(|(key, _)| key.starts_with("check.")).collect();
    assert!(checks.len() >= 8, "{kv:?}\n{}", report(&outcome));
    assert!(
        checks.iter().all(|(_, value)| *value == "pass"),
        "{kv:?}\n{}",
        report(&outcome)
    );
    // What `cargo xtask run --strict` checks: faulty is expected to fault,
    // everything else to exit with 0 or to keep serving.
    assert_eq!(
        xtask::endings::unexpected(&manifest, &outcome.serial),
        Vec::<String>::new(),
        "{}",
        report(&outcome)
    );
}
