//! Finds `qemu-system-x86_64` on PATH; as root, installs it with apt-get when
//! it is missing, otherwise says which command would.

use crate::{Error, lock};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The emulator every run uses.
pub const QEMU: &str = "qemu-system-x86_64";
/// The Debian package that provides it.
pub const PACKAGE: &str = "qemu-system-x86";

static FOUND: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The path of `qemu-system-x86_64`, installing it first if it is missing and
/// we are root.
pub fn ensure_qemu() -> Result<PathBuf, Error> {
    let mut found = lock(&FOUND);
    if let Some(path) = found.as_ref() {
        return Ok(path.clone());
    }
    if let Some(path) = find_on_path(QEMU) {
        *found = Some(path.clone());
        return Ok(path);
    }
    if !is_root() {
        return Err(Error::Qemu(format!(
            "{QEMU} is not installed; install it with: sudo apt-get update && sudo apt-get install -y {PACKAGE}"
        )));
    }
    eprintln!("xtask: installing {QEMU} (it is missing): apt-get update && apt-get install -y {PACKAGE}");
    apt_get(&["update"])?;
    apt_get(&["install", "-y", PACKAGE])?;
    let path = find_on_path(QEMU)
        .ok_or_else(|| Error::Qemu(format!("installed {PACKAGE}, but {QEMU} is still not on PATH")))?;
    *found = Some(path.clone());
    Ok(path)
}

fn apt_get(args: &[&str]) -> Result<(), Error> {
    // apt's progress goes to our stderr: stdout carries only guest output.
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .stdout(crate::setup::stderr_as_stdio()?)
        .status()
        .map_err(|e| Error::Qemu(format!("cannot run apt-get to install {QEMU}: {e}")))?;
    if !status.success() {
        return Err(Error::Qemu(format!(
            "`apt-get {}` failed ({status}); install {PACKAGE} by hand",
            args.join(" ")
        )));
    }
    Ok(())
}

/// The first executable file called `name` in the directories of `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether this process runs with effective user id 0 (read from
/// `/proc/self/status`, so no libc binding is needed).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| effective_uid(&status) == Some(0))
}

fn effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    // Real, effective, saved and filesystem user ids.
    line.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_effective_uid() {
        let status = "Name:\txtask\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(effective_uid(status), Some(0));
        assert_eq!(effective_uid("Name: x\n"), None);
    }

    #[test]
    fn finds_programs_on_path() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("surely-no-such-program-xtask").is_none());
    }
}
