//! Tests of the `xtask` command line as a user sees it: exit statuses,
//! one-line error messages, serial output on stdout. Runs that need no real
//! guest use a stand-in `qemu-system-x86_64` script put first on PATH.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn xtask(args: &[&str]) -> Output {
    xtask_with_path(args, None)
}

fn xtask_with_path(args: &[&str], path_prefix: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.args(args);
    if let Some(prefix) = path_prefix {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![prefix.to_path_buf()];
        dirs.extend(std::env::split_paths(&path));
        command.env("PATH", std::env::join_paths(dirs).unwrap());
    }
    command.output().expect("running xtask")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The `error: ...` lines xtask printed (cargo's warnings are not ours).
fn error_lines(output: &Output) -> Vec<String> {
    stderr(output)
        .lines()
        .filter(|line| line.starts_with("error: "))
        .map(String::from)
        .collect()
}

/// A scratch directory unique to this test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A directory with a fake `qemu-system-x86_64` running `body`.
fn fake_qemu(name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch(name);
    let script = dir.join("qemu-system-x86_64");
    std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn help_and_usage_errors() {
    for args in [&["--help"][..], &["help"], &[]] {
        let output = xtask(args);
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        for command in ["setup", "build", "run", "trace", "abi", "bench", "fuzz", "help"] {
            assert!(
                stdout(&output).lines().any(|l| l.trim_start().starts_with(command)),
                "{args:?}: no {command} in\n{}",
                stdout(&output)
            );
        }
    }
    let output = xtask(&["help", "run"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("--trace-filter <SPEC>"), "{}", stdout(&output));

    let output = xtask(&["run", "--accel", "warp"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        error_lines(&output),
        ["error: invalid value 'warp' for '--accel <ACCEL>'"]
    );
    let output = xtask(&["run", "--icount", "--accel", "kvm"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        error_lines(&output),
        ["error: --icount needs TCG (use --accel tcg or auto)"]
    );
}

#[test]
fn bad_manifests_are_one_line_errors_with_file_and_line() {
    let dir = scratch("bad-manifest");
    let path = dir.join("broken.toml");
    std::fs::write(&path, "[[endpoint]]\nname = \"console\"\nnotice = true\n").unwrap();
    let output = xtask(&["build", "--manifest", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(125));
    assert_eq!(
        error_lines(&output),
        [format!(
            "error: {}:3: unknown field `notice`, expected `name` or `notices`",
            path.display()
        )]
    );
    assert!(!stderr(&output).contains("panicked"));

    let output = xtask(&["build", "--manifest", "no-such-manifest"]);
    assert_eq!(output.status.code(), Some(125));
    assert!(error_lines(&output)[0].contains("no manifest named `no-such-manifest`"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn build_prints_the_image_paths() {
    let output = xtask(&["build"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("target/image/demo/kernel"), "{text}");
    assert!(text.contains("target/image/demo/initrd.cpio"), "{text}");
}

#[test]
fn run_exits_with_the_guest_value() {
    let output = xtask(&["run", "--accel", "tcg", "--timeout", "60"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("[kernel] INFO  microkernel"));

    let output = xtask(&["run", "--accel", "tcg", "--timeout", "60", "--append", "fault=pf"]);
    assert_eq!(output.status.code(), Some(17), "{}", stderr(&output));
    assert!(stdout(&output).contains("unexpected page fault (vector 14) in kernel mode"));
    assert!(stderr(&output).contains("guest exit value 17 (0x11): unexpected exception in the kernel"));
}

#[test]
fn no_guest_status_is_126() {
    let dir = fake_qemu("no-status", "echo 'qemu: something broke' >&2\nexit 0");
    let output = xtask_with_path(&["run", "--accel", "tcg"], Some(&dir));
    assert_eq!(output.status.code(), Some(126), "{}", stderr(&output));
    assert_eq!(
        error_lines(&output),
        ["error: QEMU stopped without a guest exit status (QEMU exit status 0)"]
    );
    assert!(stderr(&output).contains("qemu: something broke"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn odd_qemu_status_maps_to_the_guest_value() {
    let dir = fake_qemu("odd-status", "echo '[kernel] INFO  fake'\nexit 37");
    let output = xtask_with_path(&["run", "--accel", "tcg"], Some(&dir));
    assert_eq!(output.status.code(), Some(18), "{}", stderr(&output));
    assert_eq!(stdout(&output), "[kernel] INFO  fake\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn timeout_kills_qemu_and_exits_124() {
    let dir = fake_qemu("timeout", "echo started\nexec sleep 30");
    let start = Instant::now();
    let output = xtask_with_path(&["run", "--accel", "tcg", "--timeout", "1"], Some(&dir));
    assert_eq!(output.status.code(), Some(124), "{}", stderr(&output));
    assert_eq!(error_lines(&output), ["error: timed out after 1 s"]);
    assert!(stdout(&output).contains("started"));
    assert!(start.elapsed() < Duration::from_secs(25), "took {:?}", start.elapsed());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unstartable_qemu_is_an_error() {
    let dir = scratch("unstartable");
    let script = dir.join("qemu-system-x86_64");
    // Executable bit set, but not a valid executable: spawning fails.
    std::fs::write(&script, [0u8, 1, 2, 3]).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = xtask_with_path(&["run", "--accel", "tcg"], Some(&dir));
    assert_eq!(output.status.code(), Some(125), "{}", stderr(&output));
    let errors = error_lines(&output);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("error: cannot start "), "{errors:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn abi_prints_the_generated_reference() {
    let output = xtask(&["abi", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON on stdout");
    assert_eq!(json, xtask::reference::json());
    let output = xtask(&["abi", "--markdown"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), xtask::reference::markdown());
    let output = xtask(&["abi"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        error_lines(&output),
        ["error: the following required arguments were not provided:"]
    );
    assert!(stderr(&output).contains("<--markdown|--json>"), "{}", stderr(&output));
}

/// A small trace: hello writes a line and exits, with one record lost.
fn synthetic_trace() -> Vec<u8> {
    use abi::trace::{Record, RecordKind};
    let text = b"hi there\n";
    let mut records = Vec::new();
    let mut start = Record::new(RecordKind::Start, 3);
    [start.regs[0], start.regs[1]] = abi::console::pack_name("hello");
    records.push(start);
    let mut enter = Record::new(RecordKind::Enter, 3);
    enter.number = abi::Syscall::Write as u64;
    enter.regs[..3].copy_from_slice(&[1, 0x2000, text.len() as u64]);
    records.push(enter);
    let mut data = Record::new(RecordKind::Data, 3);
    data.number = abi::Syscall::Write as u64;
    data.set_data(text);
    records.push(data);
    let mut exit = Record::new(RecordKind::Exit, 3);
    exit.number = abi::Syscall::Write as u64;
    exit.result = text.len() as u64;
    records.push(exit);
    let mut end = Record::new(RecordKind::End, 3);
    end.result = 0;
    records.push(end);
    let mut bytes = Vec::new();
    for (i, record) in records.iter_mut().enumerate() {
        record.sequence = if i == 4 { 5 } else { i as u64 };
        record.timestamp = 1000 * i as u64;
        bytes.extend_from_slice(&record.to_bytes());
    }
    bytes
}

#[test]
fn trace_decode_prints_strace_lines() {
    let dir = scratch("trace-decode");
    let file = dir.join("t.bin");
    std::fs::write(&file, synthetic_trace()).unwrap();
    let output = xtask(&["trace", "decode", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "+++ hello[3] started +++\n\
         hello[3] write(fd=1, buf=0x2000 \"hi there\\n\", len=9) = 9\n\
         warning: 1 trace record lost (sequence 4)\n\
         +++ hello[3] killed +++\n"
    );

    let lines = dir.join("out/lines.txt");
    let timeline = dir.join("out/timeline.json");
    let output = xtask(&[
        "trace",
        "decode",
        file.to_str().unwrap(),
        "--filter",
        "syscall=write",
        "--out",
        lines.to_str().unwrap(),
        "--timeline",
        timeline.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert!(std::fs::read_to_string(&lines).unwrap().contains("hello[3] write("));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&timeline).unwrap()).unwrap();
    assert!(
        json["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "write" && e["ph"] == "X")
    );
    assert!(stderr(&output).contains("timeline written to"));

    let output = xtask(&["trace", "decode", file.to_str().unwrap(), "--filter", "syscall=nope"]);
    assert_eq!(output.status.code(), Some(2));
    let errors = error_lines(&output);
    assert!(
        errors[0].starts_with("error: invalid value 'syscall=nope' for '--filter <SPEC>': unknown syscall `nope`"),
        "{errors:?}"
    );
    let output = xtask(&["trace", "decode", dir.join("missing.bin").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(125));
    assert!(error_lines(&output)[0].starts_with("error: cannot read trace "));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn traced_run_decodes_and_symbolizes() {
    let dir = scratch("traced-run");
    let file = dir.join("demo.bin");
    let lines = dir.join("lines.txt");
    let timeline = dir.join("timeline.json");
    let output = xtask(&[
        "run",
        "--accel",
        "tcg",
        "--timeout",
        "60",
        "--trace",
        file.to_str().unwrap(),
        "--trace-filter",
        "faulty",
        "--trace-out",
        lines.to_str().unwrap(),
        "--timeline",
        timeline.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let decoded = std::fs::read_to_string(&lines).unwrap();
    assert!(decoded.contains("faulty["), "{decoded}");
    assert!(decoded.contains("--- page fault at 0x"), "{decoded}");
    assert!(
        decoded
            .lines()
            .all(|l| l.contains("faulty[") || l.starts_with("warning:")),
        "{decoded}"
    );
    assert!(std::fs::metadata(&timeline).unwrap().len() > 0);
    let errors = stderr(&output);
    assert!(errors.contains("xtask: faulty["), "{errors}");
    assert!(
        errors.contains("faulty::main at servers/demo/src/bin/faulty.rs:"),
        "{errors}"
    );
    // The serial output is unchanged on stdout.
    assert!(stdout(&output).contains("[console] faulty["));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A freestanding crate with one binary and no dependencies, in `dir`.
fn tiny_crate(dir: &Path, name: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        "#![no_std]\n#![no_main]\n\n#[panic_handler]\nfn panic(_: &core::panic::PanicInfo) -> ! {\n    loop {}\n}\n\n\
         #[unsafe(no_mangle)]\npub extern \"C\" fn _start() -> ! {\n    loop {}\n}\n",
    )
    .unwrap();
}

fn xtask_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("running xtask")
}

/// The tool finds its workspace wherever it runs, and a manifest given by a
/// relative path resolves its crate paths against the manifest's directory,
/// once.
#[test]
fn runs_from_any_directory_with_a_relative_manifest() {
    let dir = scratch("elsewhere");
    tiny_crate(&dir.join("sub/tiny"), "tiny");
    std::fs::write(
        dir.join("sub/elsewhere.toml"),
        "[[endpoint]]\nname = \"console\"\nnotices = true\n\n\
         [[program]]\nname = \"tiny\"\npath = \"tiny\"\npriority = 1\n",
    )
    .unwrap();
    let output = xtask_in(&dir, &["build", "--manifest", "sub/elsewhere.toml"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let kernel = xtask::target_dir().join("image/elsewhere/kernel");
    assert!(
        stdout(&output).contains(&kernel.display().to_string()),
        "{}",
        stdout(&output)
    );

    let output = xtask_in(&dir, &["build"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("target/image/demo/kernel"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `crate = NAME` for a crate outside the workspace is a manifest error on
/// its line that says how to name it instead, not cargo's own message.
#[test]
fn a_crate_outside_the_workspace_is_named_by_path() {
    let dir = scratch("outside");
    tiny_crate(&dir.join("kvx"), "kvx");
    let manifest = dir.join("kv-demo.toml");
    std::fs::write(
        &manifest,
        "[[endpoint]]\nname = \"console\"\nnotices = true\n\n[[program]]\nname = \"kvx\"\ncrate = \"kvx\"\npriority = 1\n",
    )
    .unwrap();
    let output = xtask(&["build", "--manifest", manifest.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(125), "{}", stderr(&output));
    assert_eq!(
        error_lines(&output),
        [format!(
            "error: {}:7: program `kvx`: `crate = \"kvx\"` names no package of this workspace; \
             give a crate outside it by its directory: `path = \"kvx\"`",
            manifest.display()
        )]
    );
    std::fs::write(
        &manifest,
        "[[program]]\nname = \"kvx\"\npath = \"kvx\"\nbin = \"kv-server\"\npriority = 1\n",
    )
    .unwrap();
    let output = xtask(&["build", "--manifest", manifest.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(125), "{}", stderr(&output));
    assert_eq!(
        error_lines(&output),
        [format!(
            "error: {}:4: program `kvx`: crate {} has no binary `kv-server` (its binaries: kvx)",
            manifest.display(),
            dir.join("kvx").display()
        )]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `cargo xtask new` writes the crate and lists its files; it never
/// overwrites.
#[test]
fn new_writes_a_crate_once() {
    let dir = scratch("new");
    let output = xtask_in(&dir, &["new", "kv"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    for file in [
        "kv/Cargo.toml",
        "kv/.cargo/config.toml",
        "kv/kv.toml",
        "kv/src/bin/kv-client.rs",
    ] {
        assert!(
            stdout(&output).lines().any(|line| line == file),
            "{file}: {}",
            stdout(&output)
        );
        assert!(dir.join(file).is_file(), "{file}");
    }
    let output = xtask_in(&dir, &["new", "kv"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(
        error_lines(&output),
        ["error: kv exists and is not empty; give another with --path"]
    );
    let output = xtask_in(&dir, &["new", "Bad"]);
    assert_eq!(output.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `run --strict` passes the demo, whose faulting program is expected to
/// fault, and fails (status 1, one error line per program) the same system
/// without that expectation.
#[test]
fn strict_runs_fail_on_unexpected_endings() {
    let output = xtask(&["run", "--accel", "tcg", "--timeout", "60", "--strict"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("[console] faulty["), "{}", stdout(&output));

    let dir = scratch("strict");
    let demo = std::fs::read_to_string(xtask::workspace_root().join("manifests/demo.toml")).unwrap();
    let lax: String = demo
        .lines()
        .filter(|line| !line.starts_with("expect = "))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_ne!(lax, demo);
    let manifest = dir.join("lax-demo.toml");
    std::fs::write(&manifest, lax).unwrap();
    let output = xtask(&[
        "run",
        "--accel",
        "tcg",
        "--timeout",
        "60",
        "--strict",
        "--manifest",
        manifest.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let errors = error_lines(&output);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("error: --strict: faulty[")
            && errors[0].contains("] killed: page fault at 0x")
            && errors[0].ends_with(", but its manifest entry expects an exit with status 0"),
        "{errors:?}"
    );
    // Without --strict the same run is a success.
    let output = xtask(&[
        "run",
        "--accel",
        "tcg",
        "--timeout",
        "60",
        "--manifest",
        manifest.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    std::fs::remove_dir_all(&dir).unwrap();
}
