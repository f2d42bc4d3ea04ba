//! kill-parent: kills its children where they wait, and waits for them.
//!
//! It spawns `held-call` (a server that keeps the call it receives) and
//! `kill-victim` (a `caller` of that server), and receives on handle 1
//! (`control`) until the server says it holds the victim's call. The
//! victim now waits for a reply: the parent kills it through its process
//! handle (`kill=ok`) and waits for it: `ending=killed` with its own pid as
//! the detail (`detail_is_me=yes`); a second kill is `again=EPEERGONE`,
//! a second wait tells the same (`wait_again=killed`). Then it lets the
//! server reply (which finds its caller gone) and waits for it
//! (`server_ending=exited`, `server_detail=0`). Last, a child blocked in
//! `notify_wait` with no timeout (`sleepy ticks=forever`) is killed the
//! same way (`sleeper_ending=killed`).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{label, report, report_result};
use libsys::ipc::{self, Msg};
use libsys::{Child, Handle};

libsys::entry!(main);

/// Handle 1: RECEIVE on `control`.
const CONTROL: Handle = 1;

fn spawn(name: &str, args: &str) -> Option<Child> {
    match libsys::spawn_with_args(name, args) {
        Ok(child) => Some(child),
        Err(error) => {
            libsys::println!("spawn_{name}={}", error.name());
            None
        }
    }
}

/// Reports `{prefix}_ending=` and `{prefix}_detail=` of `child`.
fn wait(prefix: &str, child: &Child) {
    match child.wait() {
        Ok((ending, detail)) => {
            libsys::println!("{prefix}_ending={ending}");
            libsys::println!("{prefix}_detail={detail}");
        }
        Err(error) => libsys::println!("{prefix}_ending={}", error.name()),
    }
}

fn main() -> i32 {
    let me = u64::from(libsys::get_pid());
    let (Some(server), Some(victim)) = (spawn("held-call", ""), spawn("kill-victim", "")) else {
        return 1;
    };
    report("victim_pid", victim.pid());
    match ipc::recv(CONTROL, &mut []) {
        Ok(message) if message.label == label::HELD => report("held", "yes"),
        Ok(message) => report("held", message.label),
        Err(error) => {
            report("held", error.name());
            return 1;
        }
    }
    report_result("kill", &victim.kill());
    match victim.wait() {
        Ok((ending, detail)) => {
            report("ending", ending);
            report("detail_is_me", if detail == me { "yes" } else { "no" });
        }
        Err(error) => report("ending", error.name()),
    }
    report_result("again", &victim.kill());
    match victim.wait() {
        Ok((ending, _)) => report("wait_again", ending),
        Err(error) => report("wait_again", error.name()),
    }
    if let Err(error) = ipc::reply(&Msg::new(label::HELD), &[]) {
        report("release", error.name());
    }
    wait("server", &server);

    let Some(sleeper) = spawn("sleepy", "ticks=forever") else {
        return 1;
    };
    // Let it reach its wait (it runs at a lower priority).
    let _ = hostile::pause(2);
    report_result("sleeper_kill", &sleeper.kill());
    wait("sleeper", &sleeper);
    0
}
