//! System stress test: 500 processes are spawned one after another, half
//! exit and half fault, and the kernel's resource counters end where they
//! started: no frame, process, thread, endpoint or handle leaks.

use std::time::Duration;
use systests::*;

const SPAWNER: &str = r#"
[[endpoint]]
name = "reaper"

[[program]]
name = "spawner"
crate = "testprogs"
priority = 3
spawns = ["child"]
handles = [
    { endpoint = "console", rights = ["send"] },
    { endpoint = "reaper", rights = ["recv"] },
]

[[program]]
name = "child"
crate = "testprogs"
start = "spawn"
priority = 2
handles = [
    { endpoint = "console", rights = ["send"] },
    { endpoint = "reaper", rights = ["send"] },
]
"#;

#[test]
fn five_hundred_processes_come_and_go() {
    // hello runs below everyone else: last, after 500 processes came and went.
    let toml = scenario(&format!("{SPAWNER}{}", hello(1)));
    let outcome = boot("five_hundred_processes_come_and_go", &toml, "");
    assert_kernel_alive(&outcome);
    assert_exited(&outcome, "spawner", 0);
    let summary = find_line(
        &outcome,
        &[
            "spawner[",
            "]: stress: 500 spawn/exit cycles (250 exits, 250 faults); counters back to start: ",
        ],
    );
    for counter in ["available frames", "processes", "threads", "endpoints", "handles"] {
        let shown = summary.split(", ").find(|part| part.contains(counter)).unwrap_or("");
        let numbers: Vec<&str> = shown.rsplit(' ').take(3).collect();
        assert!(
            numbers.len() == 3 && numbers[1] == "=" && numbers[0] == numbers[2],
            "{counter}: {shown:?}\n{}",
            report(&outcome)
        );
    }
    let notices = lines_with_all(&outcome, &["[console] child["]);
    let exits = notices
        .iter()
        .filter(|line| line.ends_with("] exited with status 0"))
        .count();
    let faults = notices
        .iter()
        .filter(|line| line.contains("] killed: page fault at 0x") && line.ends_with("(read of 0x0, not present)"))
        .count();
    assert_eq!(
        (notices.len(), exits, faults),
        (500, 250, 250),
        "child notices: total, exits, faults\n{}",
        report(&outcome)
    );
    assert_quick(&outcome, Duration::from_secs(60));
}
