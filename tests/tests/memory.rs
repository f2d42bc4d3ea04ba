//! Memory for programs, booted: a server on `alloc` collections driven by
//! its client, the refusals of the memory calls, a stack unmapped from under
//! a program, memory shared between two processes when one of them dies,
//! and a heap that grows into its memory limit. Each runs beside the
//! well-behaved bystanders, and the supervisor proves every frame, slot and
//! handle came back.

use systests::*;

const SHARE_SEND: &str = r#"{ endpoint = "share", rights = ["send", "transfer"] }"#;
const SHARE_RECV: &str = r#"{ endpoint = "share", rights = ["recv"] }"#;

/// A key-value server on `BTreeMap<String, String>` and its client, which
/// stores 300 entries of a few hundred bytes (more than the server's first
/// 64 KiB of heap), reads them back, replaces and removes some.
#[test]
fn a_server_on_alloc_collections_serves_its_client() {
    let toml = scenario(&format!(
        r#"
[[endpoint]]
name = "kv"

[[program]]
name = "kv"
crate = "kv"
priority = 4
handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "kv", rights = ["recv"] }},
]

[[program]]
name = "kv-client"
crate = "kv"
bin = "kv-client"
priority = 2
args = "entries=300"
handles = [
    {{ endpoint = "console", rights = ["send"] }},
    {{ endpoint = "kv", rights = ["send"] }},
]
{}"#,
        hello(1)
    ));
    let outcome = boot("memory_kv", &toml, "");
    assert_kernel_alive(&outcome);
    assert_exited(&outcome, "kv-client", 0);
    assert_values(
        &outcome,
        "kv-client",
        &[
            ("check.put", "pass"),
            ("check.size_after_put", "pass"),
            ("check.get", "pass"),
            ("check.replace", "pass"),
            ("check.remove", "pass"),
            ("check.removed_is_gone", "pass"),
            ("check.bad_utf8_is_einval", "pass"),
            ("check.no_separator_is_einval", "pass"),
            ("entries", "300"),
            ("keys_left", "150"),
        ],
    );
}

#[test]
fn memory_calls_refuse_what_they_must() {
    let programs = hostile("mem-abuse", "mem-abuse", BYSTANDER_PRIORITY, &[], "");
    let outcome = boot(
        "memory_abuse",
        &supervised(&["mem-abuse", "hello", "worker"], &programs),
        "",
    );
    assert_survived(&outcome);
    assert_exited(&outcome, "mem-abuse", 0);
    let values = assert_checks(&outcome, "mem-abuse", &[]);
    assert!(values.checks().len() >= 17, "{values}\n{}", report(&outcome));
}

#[test]
fn a_program_that_unmaps_its_stack_dies_alone() {
    let programs = hostile("mem-unmap-stack", "mem-unmap-stack", BYSTANDER_PRIORITY, &[], "");
    let outcome = boot(
        "memory_unmap_stack",
        &supervised(&["mem-unmap-stack", "hello", "worker"], &programs),
        "",
    );
    assert_survived(&outcome);
    // The first touch of the stack after the unmap (a pop or a push), of
    // a page that is no longer there.
    let fault = fault(&outcome, "mem-unmap-stack");
    let FaultDetail::Page(page) = fault.detail else {
        panic!("not a page fault: {fault:?}\n{}", report(&outcome));
    };
    assert_eq!(page.cause, Cause::NotPresent, "{}", report(&outcome));
    assert!(page.address >> 32 == 0x7fff, "{page:?}\n{}", report(&outcome));
    assert_only_keys(&outcome, "mem-unmap-stack", &["unmapping_stack"]);
}

/// The owner of a shared object ends (by `end`) while the peer writes to it.
fn shared_object_outlives(end: &str) {
    let mut programs = String::from("\n[[endpoint]]\nname = \"share\"\n");
    programs += &hostile(
        "mem-owner",
        "mem-share",
        BYSTANDER_PRIORITY,
        &[SHARE_SEND],
        &format!("args = \"role=owner end={end}\""),
    );
    programs += &hostile(
        "mem-peer",
        "mem-share",
        BYSTANDER_PRIORITY,
        &[SHARE_RECV],
        "args = \"role=peer\"",
    );
    let outcome = boot(
        &format!("memory_share_{end}"),
        &supervised(&["mem-peer", "mem-owner", "hello", "worker"], &programs),
        "",
    );
    assert_survived(&outcome);
    assert_values(
        &outcome,
        "mem-peer",
        &[
            ("check.peer_sees_the_owners_writes", "pass"),
            ("check.peer_writes_after_the_owner_died", "pass"),
            ("check.peer_closes", "pass"),
            ("check.peer_unmaps", "pass"),
        ],
    );
    assert_exited(&outcome, "mem-peer", 0);
    // The owner ended before the peer finished writing.
    assert!(
        line_of(&outcome, "mem-owner", "owner_ending")
            < line_of(&outcome, "mem-peer", "check.peer_writes_after_the_owner_died"),
        "{}",
        report(&outcome)
    );
    match end {
        "fault" => {
            assert_eq!(fault(&outcome, "mem-owner").vector, 14);
        }
        _ => {
            assert_exited(&outcome, "mem-owner", 0);
        }
    }
}

#[test]
fn a_shared_object_outlives_an_owner_that_exits() {
    shared_object_outlives("exit");
}

#[test]
fn a_shared_object_outlives_an_owner_that_faults() {
    shared_object_outlives("fault");
}

#[test]
fn an_object_passed_to_a_process_that_exits_is_freed() {
    let mut programs = String::from("\n[[endpoint]]\nname = \"share\"\n");
    programs += &hostile(
        "mem-owner",
        "mem-share",
        BYSTANDER_PRIORITY,
        &[SHARE_SEND],
        "args = \"role=owner end=exit\"",
    );
    programs += &hostile(
        "mem-drop",
        "mem-share",
        BYSTANDER_PRIORITY,
        &[SHARE_RECV],
        "args = \"role=drop\"",
    );
    let outcome = boot(
        "memory_drop",
        &supervised(&["mem-drop", "mem-owner", "hello", "worker"], &programs),
        "",
    );
    assert_survived(&outcome);
    assert_exited(&outcome, "mem-drop", 0);
    assert_exited(&outcome, "mem-owner", 0);
    assert_values(&outcome, "mem-drop", &[("dropping", "handle")]);
}

/// A heap that grows without end stops at the program's memory limit (here
/// 2 MiB) with Rust's allocation-failure panic; the bystanders go on and
/// every frame comes back.
#[test]
fn a_heap_stops_at_the_memory_limit_with_a_clean_panic() {
    let programs = hostile("mem-hog", "mem-hog", BYSTANDER_PRIORITY, &[], "memory = \"2 MiB\"");
    let outcome = boot(
        "memory_hog",
        &supervised(&["mem-hog", "hello", "worker"], &programs),
        "",
    );
    assert_survived(&outcome);
    assert_line_with_all(&outcome, &["mem-hog[", "memory allocation of ", " bytes failed"]);
    assert_exited(&outcome, "mem-hog", 101);
    let reached: u64 = values(&outcome, "mem-hog")
        .get("heap_kib")
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0);
    assert!(
        (1024..2048).contains(&reached),
        "the heap reached {reached} KiB of a 2 MiB limit\n{}",
        report(&outcome)
    );
}
