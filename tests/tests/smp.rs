//! Several CPUs: every CPU comes up and reads its own id through GS;
//! threads of one process share memory behind a mutex; message pairs
//! across CPUs lose nothing; a TLB shootdown stops a write on another CPU
//! before `mem_protect` returns; a fault on one CPU leaves the others
//! running. Each boots with the CPUs it names (`[kernel] cpus`), under
//! single-threaded TCG (see `xtask::RunOptions::parallel`).

use systests::*;

/// A program of the `smp` crate: `extra` TOML lines, the console handle
/// first, then `handles`.
fn smp_program(name: &str, bin: &str, priority: u8, handles: &[&str], extra: &str) -> String {
    let mut list = vec![r#"{ endpoint = "console", rights = ["send"] }"#.to_string()];
    list.extend(handles.iter().map(|handle| handle.to_string()));
    format!(
        "\n[[program]]\nname = \"{name}\"\ncrate = \"smp\"\nbin = \"{bin}\"\npriority = {priority}\n{extra}\n\
         handles = [{}]\n",
        list.join(", ")
    )
}

/// The scenario with `cpus` CPUs.
fn on_cpus(cpus: usize, programs: &str) -> String {
    format!("[kernel]\ncpus = {cpus}\n{}", scenario(programs))
}

#[test]
fn every_cpu_comes_up_and_reads_its_id_through_gs() {
    let outcome = boot("smp_four_cpus", &on_cpus(4, &hello(1)), "");
    assert_kernel_alive(&outcome);
    let line = kernel_line(&outcome, "INFO", "cpu 0: boot CPU;");
    assert!(line.contains("GS reads cpu 0,"), "{line}\n{}", report(&outcome));
    for cpu in 1..4 {
        let line = kernel_line(&outcome, "INFO", &format!("cpu {cpu}: up;"));
        assert!(
            line.contains(&format!("GS reads cpu {cpu},")),
            "{line}\n{}",
            report(&outcome)
        );
    }
    let line = kernel_line(&outcome, "INFO", "smp:");
    assert!(line.contains("4 CPUs run threads"), "{line}\n{}", report(&outcome));
    assert_hello_greeted(&outcome);
}

#[test]
fn threads_share_a_counter_behind_a_mutex() {
    let programs = smp_program(
        "threads",
        "threads",
        2,
        &[],
        "threads = 5\nargs = \"threads=4 rounds=2000\"",
    ) + &hello(1);
    let outcome = boot("smp_threads", &on_cpus(2, &programs), "");
    assert_kernel_alive(&outcome);
    let values = assert_checks(&outcome, "threads", &["counter", "joined", "limit"]);
    assert_eq!(value(&outcome, &values, "counter"), "8000");
    assert_exited(&outcome, "threads", 0);
}

#[test]
fn eight_pairs_of_threads_exchange_a_million_messages_across_cpus() {
    // The client's eight threads run on CPU 0, the server's on CPU 1: every
    // call crosses. The supervisor checks every counter comes back.
    let programs = format!(
        "\n[[endpoint]]\nname = \"pairs\"\n{}{}",
        smp_program(
            "pair-server",
            "pair-server",
            3,
            &[r#"{ endpoint = "pairs", rights = ["recv"] }"#],
            "start = \"spawn\"\ncpus = [1]\nthreads = 8\nargs = \"threads=8\"",
        ),
        smp_program(
            "pair-client",
            "pair-client",
            3,
            &[r#"{ endpoint = "pairs", rights = ["send"] }"#],
            "start = \"spawn\"\ncpus = [0]\nthreads = 8\nargs = \"threads=8 messages=1000000\"",
        ),
    );
    let toml = format!(
        "[kernel]\ncpus = 2\n{}",
        supervised(&["pair-server", "pair-client", "hello", "worker"], &programs)
    );
    let outcome = boot("smp_pairs", &toml, "");
    assert_survived(&outcome);
    assert_values(
        &outcome,
        "pair-client",
        &[("messages", "1000000"), ("bad", "0"), ("check.all_answered", "pass")],
    );
    assert_values(
        &outcome,
        "pair-server",
        &[("served", "1000000"), ("check.stopped", "pass")],
    );
    assert_exited(&outcome, "pair-client", 0);
    assert_exited(&outcome, "pair-server", 0);
}

#[test]
fn a_shootdown_stops_a_write_on_the_other_cpu_before_protect_returns() {
    let programs = format!(
        "\n[[endpoint]]\nname = \"tlb\"\n{}{}",
        smp_program(
            "tlb-observer",
            "tlb-observer",
            3,
            &[r#"{ endpoint = "tlb", rights = ["recv"] }"#],
            "",
        ),
        smp_program(
            "tlb-writer",
            "tlb-writer",
            2,
            &[r#"{ endpoint = "tlb", rights = ["send"] }"#],
            "threads = 2",
        ),
    );
    let outcome = boot("smp_shootdown", &on_cpus(2, &(programs + &hello(1))), "");
    assert_kernel_alive(&outcome);
    assert_checks(&outcome, "tlb-observer", &["counter_stopped"]);
    assert_exited(&outcome, "tlb-observer", 0);
    let writer = values(&outcome, "tlb-writer");
    let page = writer.number("page").expect("the writer reports its page");
    // If the main thread lived to look, the counter had stopped already.
    assert_ne!(writer.get("moved_after_protect"), Some("yes"), "{}", report(&outcome));
    assert_page_fault(&outcome, "tlb-writer", Access::Write, page, Cause::ProtectionViolation);
}

#[test]
fn a_fault_on_one_cpu_kills_only_its_process() {
    let programs = format!(
        "{}\n[[program]]\nname = \"faulty\"\ncrate = \"demo\"\nbin = \"faulty\"\npriority = 3\ncpus = [0]\n\
         handles = [{{ endpoint = \"console\", rights = [\"send\"] }}]\n",
        smp_program("counter", "pinned-counter", 3, &[], "cpus = [1]\nargs = \"ticks=30\""),
    ) + &hello(1);
    let outcome = boot("smp_fault_isolation", &on_cpus(2, &programs), "");
    assert_kernel_alive(&outcome);
    let fault = fault(&outcome, "faulty");
    assert_eq!(fault.vector, vector::PAGE_FAULT, "{}", report(&outcome));
    let counter = values(&outcome, "counter");
    assert!(counter.number("ticks").is_some_and(|t| t >= 30), "{}", report(&outcome));
    let (counter_end, _) = ending(&outcome, "counter");
    assert!(
        fault.line < counter_end,
        "the counter ran on after the fault\n{}",
        report(&outcome)
    );
    assert_exited(&outcome, "counter", 0);
}

#[test]
fn a_buffer_unmapped_while_a_receive_into_it_waits_is_refused() {
    // Threads make it possible: one waits to receive into a page, the other
    // unmaps the page and sends.
    let programs = smp_program("unmap-pending", "unmap-pending", 2, &[], "threads = 2") + &hello(1);
    let outcome = boot("smp_unmap_pending", &on_cpus(1, &programs), "");
    assert_kernel_alive(&outcome);
    assert_checks(
        &outcome,
        "unmap-pending",
        &["send_refused", "call_refused", "receiver_waits", "resend_arrives"],
    );
    assert_exited(&outcome, "unmap-pending", 0);
}

/// Client and server pairs, each `(name suffix, server's CPU, client's
/// CPU, messages)`, booted on `cpus` CPUs under multi-threaded TCG (the CPUs
/// really run at once) with the supervisor, `hello` and `worker`. Every
/// reply is checked (`bad=0`), every server thread stops, the supervisor
/// finds every counter back, and the kernel reports that shared mode served
/// at least half of the same-CPU pairs' syscalls (each round trip is two;
/// a timer tick or the lock held elsewhere sends a few to the lock).
/// Returns that count.
fn pairs_at_once(name: &str, cpus: usize, pairs: &[(&str, u8, u8, u64)]) -> u64 {
    let pair = |suffix: &str, server_cpu: u8, client_cpu: u8, messages: u64| {
        format!(
            "\n[[endpoint]]\nname = \"pairs{suffix}\"\n{}{}",
            smp_program(
                &format!("server{suffix}"),
                "pair-server",
                3,
                &[&format!(r#"{{ endpoint = "pairs{suffix}", rights = ["recv"] }}"#)],
                &format!("start = \"spawn\"\ncpus = [{server_cpu}]\nargs = \"threads=1\""),
            ),
            smp_program(
                &format!("client{suffix}"),
                "pair-client",
                3,
                &[&format!(r#"{{ endpoint = "pairs{suffix}", rights = ["send"] }}"#)],
                &format!("start = \"spawn\"\ncpus = [{client_cpu}]\nargs = \"threads=1 messages={messages}\""),
            ),
        )
    };
    let programs: String = pairs
        .iter()
        .map(|&(suffix, server_cpu, client_cpu, messages)| pair(suffix, server_cpu, client_cpu, messages))
        .collect();
    let mut spawn: Vec<String> = pairs
        .iter()
        .flat_map(|(suffix, ..)| [format!("server{suffix}"), format!("client{suffix}")])
        .collect();
    spawn.extend(["hello".to_string(), "worker".to_string()]);
    let spawn: Vec<&str> = spawn.iter().map(String::as_str).collect();
    let toml = format!("[kernel]\ncpus = {cpus}\n{}", supervised(&spawn, &programs));
    let options = RunOptions {
        parallel: true,
        ..options("")
    };
    let outcome = boot_with(name, &toml, options);
    assert_survived(&outcome);
    for &(suffix, _, _, messages) in pairs {
        let messages = messages.to_string();
        assert_values(
            &outcome,
            &format!("client{suffix}"),
            &[
                ("messages", messages.as_str()),
                ("bad", "0"),
                ("check.all_answered", "pass"),
            ],
        );
        assert_values(
            &outcome,
            &format!("server{suffix}"),
            &[("served", messages.as_str()), ("check.stopped", "pass")],
        );
    }
    let line = kernel_line(&outcome, "INFO", "ipc: fast_path.shared_syscalls=");
    let shared: u64 = line
        .rsplit('=')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a count in {line:?}\n{}", report(&outcome)));
    let same_cpu: u64 = pairs
        .iter()
        .filter(|(_, server_cpu, client_cpu, _)| server_cpu == client_cpu)
        .map(|&(.., messages)| 2 * messages)
        .sum();
    println!("{name}: shared mode served {shared} syscalls of the same-CPU pairs' {same_cpu}");
    assert!(
        shared >= same_cpu / 2,
        "only {shared} of {same_cpu} syscalls in shared mode\n{}",
        report(&outcome)
    );
    shared
}

/// One pair on CPU 0, another on CPU 1, and a third split across both: the
/// first two pairs' fast paths run in shared mode on both CPUs at once,
/// while the third's messages and the timer take the kernel lock between
/// them ([`pairs_at_once`]).
#[test]
fn pairs_on_both_cpus_run_the_fast_path_at_once() {
    pairs_at_once(
        "smp_shared_pairs",
        2,
        &[("0", 0, 0, 100_000), ("1", 1, 1, 100_000), ("x", 1, 0, 10_000)],
    );
}

/// Three pairs on CPUs 1, 2 and 3 of four, beside the console and the
/// supervisor on CPU 0: three CPUs in shared mode at once, on a host with
/// fewer cores than that (its threads are preempted in the middle of the
/// fast path, and the others wait for their claims).
#[test]
fn pairs_on_three_of_four_cpus_run_the_fast_path_at_once() {
    pairs_at_once(
        "smp_shared_pairs_4",
        4,
        &[("1", 1, 1, 50_000), ("2", 2, 2, 50_000), ("3", 3, 3, 50_000)],
    );
}
