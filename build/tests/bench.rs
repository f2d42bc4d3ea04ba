//! `cargo xtask bench` as a user sees it, with a stand-in
//! `qemu-system-x86_64` (first on PATH) that prints what the benchmark
//! coordinator would: the key=value output, the tables, the JSON report,
//! and a clear error when the guest never finishes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch directory with a fake QEMU that prints `serial` and exits
/// with `status` (odd: the guest wrote `status >> 1`).
fn fake_qemu(name: &str, serial: &str, status: i32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("xtask-bench-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("qemu-system-x86_64");
    std::fs::write(&script, format!("#!/bin/sh\ncat <<'EOF'\n{serial}EOF\nexit {status}\n")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn xtask(args: &[&str], path_prefix: &Path) -> Output {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![path_prefix.to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("PATH", std::env::join_paths(dirs).unwrap())
        .output()
        .expect("running xtask")
}

const SERIAL: &str = "\
[kernel] INFO  timer: 100 Hz, 624957 APIC counts per tick
bench[6]: bench.status=begin
bench[6]: loop.empty=2.00
bench[6]: null_syscall=47.00
bench[6]: ipc_roundtrip.words_0=395.00
bench[6]: write_64_bytes=1186.01
bench[6]: bench.tsc_per_tick=20000000
bench[6]: bench.status=done
";

#[test]
fn figures_tables_and_json() {
    let dir = fake_qemu("good", SERIAL, 1);
    let json = dir.join("report.json");
    let output = xtask(
        &["bench", "--no-smp", "--runs", "2", "--json-out", json.to_str().unwrap()],
        &dir,
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for line in [
        "null_syscall.instructions=47",
        "null_syscall.instructions_min=47",
        "write_64_bytes.instructions=1186.01",
        "bench.instructions_identical=yes",
        "bench.wall_accel=tcg",
        // 20e6 TSC units per 10 ms tick: 2 per ns.
        "null_syscall.ns=23.5",
        "sel4.ipc_roundtrip.words_0.instructions=425",
        "ratio.ipc_roundtrip.words_0.sel4=0.93",
        "target.null_syscall=pass",
        "target.ipc_roundtrip=miss",
    ] {
        assert!(stdout.lines().any(|l| l == line), "no line {line}:\n{stdout}");
    }
    assert!(stdout.contains("seL4_ReplyRecv, one way"), "{stdout}");
    assert!(stdout.contains("identical in all 2 runs"), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["icount"]["instructions"]["null_syscall"]["median"], 47.0);
    assert_eq!(report["icount"]["identical"], true);
    assert_eq!(report["wall"]["accel"], "tcg");
    assert_eq!(report["sel4"]["ipc_roundtrip.words_0"], 425);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What the two-CPU coordinator prints (`manifests/bench-smp.toml`).
const SMP_SERIAL: &str = "\
[kernel] INFO  timer: 100 Hz, 624957 APIC counts per tick
smpbench[7]: bench.status=begin
smpbench[7]: smp.ipc_roundtrip.same_cpu=569.00
smpbench[7]: smp.ipc_roundtrip.cross_cpu=3352.18
smpbench[7]: smp.ipc_pairs.cpus_1=566.00
smpbench[7]: smp.ipc_pairs.cpus_2=566.00
smpbench[7]: smp.shootdown.unmap_local=2470.00
smpbench[7]: smp.shootdown.unmap_remote=2650.00
smpbench[7]: bench.tsc_per_tick=20000000
smpbench[7]: bench.status=done
";

#[test]
fn two_cpu_figures() {
    use std::os::unix::fs::PermissionsExt;
    // One fake QEMU for both images: the two-CPU one is the boot whose
    // kernel lies under target/image/bench-smp/.
    let dir = fake_qemu("smp", SERIAL, 1);
    let script = dir.join("qemu-system-x86_64");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$*\" in\n*bench-smp*) cat <<'EOF'\n{SMP_SERIAL}EOF\n;;\n*) cat <<'EOF'\n{SERIAL}EOF\n;;\nesac\nexit 1\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = xtask(&["bench"], &dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for line in [
        "null_syscall.instructions=47",
        "smp.ipc_roundtrip.cross_cpu.instructions=3352.18",
        "smp.instructions_identical=yes",
        "smp.wall_accel=tcg-multi",
        // 20e6 TSC units per 10 ms tick: 2 per ns.
        "smp.ipc_roundtrip.same_cpu.ns=284.5",
        "smp.shootdown.cost.instructions=180",
        "smp.ipc_pairs.scaling_icount=2.00",
        "smp.ipc_pairs.scaling_wall=1.00",
    ] {
        assert!(stdout.lines().any(|l| l == line), "no line {line}:\n{stdout}");
    }
    assert!(stdout.contains("On two CPUs"), "{stdout}");
    let output = xtask(&["bench", "--no-smp"], &dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0));
    assert!(!stdout.contains("smp."), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_guest_that_never_finishes_is_an_error() {
    let cut = SERIAL.split("bench[6]: bench.tsc").next().unwrap();
    let dir = fake_qemu("unfinished", cut, 1);
    let output = xtask(&["bench", "--no-icount"], &dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("the wall-time boot of bench: the guest never printed `bench.status=done`"),
        "{stderr}"
    );
    assert!(stderr.contains("    bench[6]: write_64_bytes=1186.01"), "{stderr}");
    assert!(output.stdout.is_empty());

    let dir_failed = fake_qemu("failed", SERIAL.split("bench[6]: loop").next().unwrap(), 33);
    let output = xtask(&["bench"], &dir_failed);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(125), "{stderr}");
    assert!(
        stderr.contains("the icount boot of bench: guest exit value 16 (0x10)"),
        "{stderr}"
    );
    assert!(stderr.contains("before `bench.status=done`"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_dir_all(&dir_failed).unwrap();
}

#[test]
fn usage_errors() {
    let dir = fake_qemu("usage", SERIAL, 1);
    for args in [&["bench", "--runs", "0"][..], &["bench", "--no-icount", "--compare"]] {
        let output = xtask(args, &dir);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
