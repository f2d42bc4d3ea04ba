//! System stress test: 500 processes are spawned one after another, half
//! exit and half fault, and the kernel's resource counters end where they
//! started: no frame, process, thread, endpoint or handle leaks.

use systests::*;

const SPAWNER: &str = r#"
[[endpoint]]
name = "reaper"

[[program]]
name = "spawner"
crate = "testprogs"
priority = 3
# With hello on the same CPU, hello runs only once the spawner is done,
# however many CPUs there are.
cpus = [0]
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
# Everything on one CPU: hello must not run (and end) while the spawner
# counts, which on two CPUs it could do on the other one.
cpus = [0]
handles = [
    { endpoint = "console", rights = ["send"] },
    { endpoint = "reaper", rights = ["send"] },
]
"#;

#[test]
fn five_hundred_processes_come_and_go() {
    // hello runs below everyone else, on the spawner's CPU: last, after 500
    // processes came and went.
    let toml = scenario(&format!("{SPAWNER}{}cpus = [0]\n", hello(1)));
    let outcome = boot("five_hundred_processes_come_and_go", &toml, "");
    assert_kernel_alive(&outcome);
    assert_exited(&outcome, "spawner", 0);
    assert_values(
        &outcome,
        "spawner",
        &[("cycles", "500"), ("exits", "250"), ("faults", "250")],
    );
    // Every counter is back where it started.
    assert_counters_back(&outcome, "spawner");
    // Half the children exited, half read address 0.
    let children = endings_of(&outcome, "child");
    let exits = children
        .iter()
        .filter(|(_, ended)| ended.how == Ending::Exited(0))
        .count();
    let faults = children
        .iter()
        .filter(|(_, ended)| {
            let read_of_null = FaultDetail::Page(PageFault {
                access: Access::Read,
                cause: Cause::NotPresent,
                address: 0,
            });
            matches!(ended.how, Ending::Faulted { vector: vector::PAGE_FAULT, detail, .. } if detail == read_of_null)
        })
        .count();
    assert!(
        children.iter().all(|(_, ended)| ended.by == Reporter::Console),
        "{}",
        report(&outcome)
    );
    assert_eq!(
        (children.len(), exits, faults),
        (500, 250, 250),
        "child notices: total, exits, faults\n{}",
        report(&outcome)
    );
}
