//! System test of the default demo (`manifests/demo.toml`, what `cargo xtask
//! run` boots): everything it promises shows on the serial port, and it ends
//! by itself with exit value 0.

use abi::machine::EXIT_SUCCESS;
use systests::*;

#[test]
fn demo_runs_to_completion() {
    let manifest = Manifest::load("demo").unwrap_or_else(|error| panic!("{error}"));
    let options = xtask::BuildOptions { echo_cargo: false };
    let image = xtask::build_image_with(&manifest, "systest-demo", &options).unwrap_or_else(|error| panic!("{error}"));
    let outcome = run_image(&image, systests::options(""));
    assert_exit(&outcome, EXIT_SUCCESS);

    let mut client_exits = Vec::new();
    for n in 1..=3 {
        let name = format!("client{n}");
        assert_exited(&outcome, &name, 0);
        // Every line is whole: the client printed exactly its five counts,
        // in order, each on a serial line of its own, and nothing else.
        let client = values(&outcome, &name);
        let expected: Vec<String> = (1..=5).map(|k| format!("{k} of 5")).collect();
        assert_eq!(
            (client.all("line"), client.keys(), client.other_lines().count()),
            (expected.iter().map(String::as_str).collect(), vec!["line"], 0),
            "client {n}'s lines are not whole\n{}",
            report(&outcome)
        );
        client_exits.push(ending(&outcome, &name).0);
    }
    // Every end is reported by the console server, not the kernel.
    for (_, ended) in endings(&outcome) {
        assert_eq!(ended.by, Reporter::Console, "{}\n{}", ended.text, report(&outcome));
    }

    assert_values(&outcome, "pingpong", &[("round_trips", "1000")]);
    assert_checks(&outcome, "pingpong", &["replies_intact"]);
    assert_exited(&outcome, "pingpong", 0);
    assert_page_fault(&outcome, "faulty", Access::Read, 0, Cause::NotPresent);

    // spin cannot starve the clients: its report comes after all their
    // exit notices.
    assert_values(&outcome, "spin", &[("rounds", "100000000")]);
    let spun = line_of(&outcome, "spin", "rounds");
    for exit_line in client_exits {
        assert!(
            exit_line < spun,
            "spin finished before a client did\n{}",
            report(&outcome)
        );
    }
    assert_exited(&outcome, "spin", 0);
    // The key-value client found what it stored on the server's heap.
    assert_exited(&outcome, "kv-client", 0);
    let kv = assert_checks(&outcome, "kv-client", &[]);
    assert!(kv.checks().len() >= 8, "{kv}\n{}", report(&outcome));
    // What `cargo xtask run --strict` checks: faulty is expected to fault,
    // everything else to exit with 0 or to keep serving.
    assert_eq!(
        xtask::endings::unexpected(&manifest, &outcome.serial),
        Vec::<String>::new(),
        "{}",
        report(&outcome)
    );
}
