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
    let output = xtask(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("cargo xtask run"));
    let output = xtask(&["run", "--accel", "warp"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        error_lines(&output),
        ["error: --accel must be tcg, kvm or auto, not `warp`"]
    );
    let output = xtask(&["run", "--icount", "--accel", "kvm"]);
    assert_eq!(output.status.code(), Some(2));
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
