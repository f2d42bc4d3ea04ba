//! Set-up that never assumes: the pinned toolchain (`rust-toolchain.toml`)
//! must have the bare-metal target before anything is cross-built, and CI
//! also needs the toolchain's components.
//!
//! rustup installs a `rust-toolchain.toml` toolchain with its targets and
//! components only when the toolchain is missing; a toolchain that is
//! already installed (say, with `--profile minimal`) keeps lacking them, and
//! the first cross build dies with "can't find crate for `core`". So before
//! every cross build, [`ensure_target`] asks `rustc --print sysroot` of the
//! pinned toolchain whether `lib/rustlib/x86_64-unknown-none` exists, and
//! runs `rustup target add` when it does not. `cargo xtask setup` does the
//! same, adds missing components, and finds (or installs) QEMU.

use crate::{Error, lock};
use serde::Deserialize;
use std::ffi::OsString;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// `rust-toolchain.toml`'s `[toolchain]` table (the fields this tool uses).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Toolchain {
    pub channel: String,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default)]
    pub targets: Vec<String>,
}

#[derive(Deserialize)]
struct ToolchainFile {
    toolchain: Toolchain,
}

/// The toolchain pinned in `<workspace>/rust-toolchain.toml`.
pub fn toolchain() -> Result<Toolchain, Error> {
    let path = crate::workspace_root().join("rust-toolchain.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let file: ToolchainFile = toml::from_str(&text).map_err(|e| Error::Manifest {
        file: Some(path.clone()),
        line: None,
        message: e.message().trim().replace('\n', " "),
    })?;
    Ok(file.toolchain)
}

/// Whether the standard library of `target` is installed in `sysroot`.
pub fn has_target(sysroot: &Path, target: &str) -> bool {
    sysroot.join("lib").join("rustlib").join(target).is_dir()
}

/// The programs set-up runs: `rustc` (or `$RUSTC`) and `rustup`, for the
/// pinned `channel`. Tests point them at stand-ins.
#[derive(Clone, Debug)]
pub struct Tools {
    pub rustc: PathBuf,
    /// `None` when rustup is not installed: nothing can be added then.
    pub rustup: Option<PathBuf>,
    pub channel: String,
}

impl Tools {
    /// The real tools for the pinned toolchain.
    pub fn pinned() -> Result<Self, Error> {
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
        Ok(Self {
            rustc: rustc.into(),
            rustup: crate::install::find_on_path("rustup"),
            channel: toolchain()?.channel,
        })
    }

    /// `rustc --print sysroot` of the pinned toolchain.
    pub fn sysroot(&self) -> Result<PathBuf, Error> {
        let output = Command::new(&self.rustc)
            .args(["--print", "sysroot"])
            .env("RUSTUP_TOOLCHAIN", &self.channel)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::Build(format!("cannot run {} ({e}); is Rust installed?", self.rustc.display())))?;
        let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
        if !output.status.success() || text.is_empty() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let reason = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("no output");
            return Err(Error::Build(format!(
                "`rustc --print sysroot` of toolchain {} failed: {}",
                self.channel,
                reason.trim()
            )));
        }
        Ok(PathBuf::from(text))
    }

    /// Runs `rustup ARGS` with its output on our stderr (stdout carries
    /// only results).
    fn rustup(&self, args: &[&str]) -> Result<(), Error> {
        let Some(rustup) = &self.rustup else {
            return Err(Error::Build("rustup is not installed".into()));
        };
        let status = Command::new(rustup)
            .args(args)
            .stdin(Stdio::null())
            .stdout(stderr_as_stdio()?)
            .status()
            .map_err(|e| Error::Build(format!("cannot run rustup: {e}")))?;
        if !status.success() {
            return Err(Error::Build(format!("`rustup {}` failed ({status})", args.join(" "))));
        }
        Ok(())
    }

    /// Adds `target` to the toolchain if its sysroot lacks it, saying so in
    /// one line. Returns the sysroot.
    pub fn ensure_target(&self, target: &str) -> Result<PathBuf, Error> {
        let sysroot = self.sysroot()?;
        if has_target(&sysroot, target) {
            return Ok(sysroot);
        }
        let args = ["target", "add", "--toolchain", &self.channel, target];
        if self.rustup.is_none() {
            return Err(Error::Build(format!(
                "the toolchain at {} lacks the {target} target, and rustup is not installed to add it \
                 (with rustup: rustup {})",
                sysroot.display(),
                args.join(" ")
            )));
        }
        eprintln!(
            "xtask: installing the {target} target into toolchain {}: rustup {}",
            self.channel,
            args.join(" ")
        );
        self.rustup(&args)?;
        let sysroot = self.sysroot()?;
        if !has_target(&sysroot, target) {
            return Err(Error::Build(format!(
                "rustup added {target}, but {} still lacks lib/rustlib/{target}",
                sysroot.display()
            )));
        }
        Ok(sysroot)
    }

    /// Adds the `components` the toolchain lacks (as `rustup component list
    /// --installed` tells), in one rustup call announced in one line.
    /// Without rustup there is nothing to ask: returns without a word.
    pub fn ensure_components(&self, components: &[String]) -> Result<(), Error> {
        let Some(rustup) = &self.rustup else {
            return Ok(());
        };
        let output = Command::new(rustup)
            .args(["component", "list", "--installed", "--toolchain", &self.channel])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|e| Error::Build(format!("cannot run rustup: {e}")))?;
        let installed = String::from_utf8_lossy(&output.stdout);
        let missing: Vec<&str> = components
            .iter()
            .map(String::as_str)
            .filter(|component| !is_listed(&installed, component))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut args = vec!["component", "add", "--toolchain", &self.channel];
        args.extend(&missing);
        eprintln!(
            "xtask: installing {} into toolchain {}: rustup {}",
            missing.join(", "),
            self.channel,
            args.join(" ")
        );
        self.rustup(&args)
    }
}

/// Whether `rustup component list --installed` output lists `component`
/// (as `rustfmt` or `rustfmt-x86_64-unknown-linux-gnu`).
fn is_listed(installed: &str, component: &str) -> bool {
    installed.lines().map(str::trim).any(|line| {
        line == component
            || line
                .strip_prefix(component)
                .is_some_and(|rest| rest.starts_with('-') && rest[1..].contains("-unknown-"))
    })
}

/// Our stderr, as the stdout of a child (installers' progress must not mix
/// with results on stdout).
pub(crate) fn stderr_as_stdio() -> Result<Stdio, Error> {
    let stderr = std::io::stderr();
    let fd = stderr
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| Error::io("cannot duplicate stderr", e))?;
    Ok(Stdio::from(fd))
}

/// The sysroot once the target was found in this process.
static TARGET_READY: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Makes sure the pinned toolchain has [`crate::cargo::TARGET`] (adding it
/// with rustup when missing); checked once per process. Returns the sysroot.
pub fn ensure_target() -> Result<PathBuf, Error> {
    let mut ready = lock(&TARGET_READY);
    if let Some(sysroot) = ready.as_ref() {
        return Ok(sysroot.clone());
    }
    let sysroot = Tools::pinned()?.ensure_target(crate::cargo::TARGET)?;
    *ready = Some(sysroot.clone());
    Ok(sysroot)
}

/// What `cargo xtask setup` found or installed.
#[derive(Clone, Debug)]
pub struct Setup {
    pub toolchain: Toolchain,
    pub sysroot: PathBuf,
    pub qemu: PathBuf,
}

/// `cargo xtask setup`: the pinned toolchain's targets and components, and
/// QEMU, each installed when missing.
pub fn setup() -> Result<Setup, Error> {
    let toolchain = toolchain()?;
    let tools = Tools::pinned()?;
    let mut sysroot = ensure_target()?;
    for target in toolchain.targets.iter().filter(|t| *t != crate::cargo::TARGET) {
        sysroot = tools.ensure_target(target)?;
    }
    tools.ensure_components(&toolchain.components)?;
    let qemu = crate::install::ensure_qemu()?;
    Ok(Setup {
        toolchain,
        sysroot,
        qemu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-setup-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn script(path: &Path, body: &str) {
        std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn detects_the_target_in_a_sysroot() {
        let sysroot = scratch("detect");
        assert!(!has_target(&sysroot, "x86_64-unknown-none"));
        std::fs::create_dir_all(sysroot.join("lib/rustlib/x86_64-unknown-linux-gnu")).unwrap();
        assert!(!has_target(&sysroot, "x86_64-unknown-none"));
        std::fs::create_dir_all(sysroot.join("lib/rustlib/x86_64-unknown-none/lib")).unwrap();
        assert!(has_target(&sysroot, "x86_64-unknown-none"));
        std::fs::remove_dir_all(&sysroot).unwrap();
    }

    #[test]
    fn the_real_toolchain_has_the_target() {
        let sysroot = ensure_target().unwrap();
        assert!(has_target(&sysroot, crate::cargo::TARGET));
        let toolchain = toolchain().unwrap();
        assert!(toolchain.targets.iter().any(|t| t == crate::cargo::TARGET));
        assert!(!toolchain.channel.is_empty());
    }

    /// A stand-in rustc whose sysroot is `dir/sysroot`, and a stand-in
    /// rustup that records its arguments and adds what `target add` asks.
    fn fake_tools(dir: &Path) -> Tools {
        let sysroot = dir.join("sysroot");
        std::fs::create_dir_all(&sysroot).unwrap();
        let rustc = dir.join("rustc");
        script(
            &rustc,
            &format!(
                "[ \"$RUSTUP_TOOLCHAIN\" = 9.9.9 ] || exit 3\necho {}",
                sysroot.display()
            ),
        );
        let rustup = dir.join("rustup");
        script(
            &rustup,
            &format!(
                "echo \"$@\" >> {log}\n\
                 if [ \"$1 $2\" = \"target add\" ]; then mkdir -p {sysroot}/lib/rustlib/$5; fi\n\
                 if [ \"$1 $2\" = \"component list\" ]; then echo rustfmt-x86_64-unknown-linux-gnu; fi",
                log = dir.join("log").display(),
                sysroot = sysroot.display()
            ),
        );
        Tools {
            rustc,
            rustup: Some(rustup),
            channel: "9.9.9".into(),
        }
    }

    #[test]
    fn a_missing_target_is_added_with_rustup_once() {
        let dir = scratch("add");
        let tools = fake_tools(&dir);
        let sysroot = tools.ensure_target("x86_64-unknown-none").unwrap();
        assert!(has_target(&sysroot, "x86_64-unknown-none"));
        tools.ensure_target("x86_64-unknown-none").unwrap();
        let log = std::fs::read_to_string(dir.join("log")).unwrap();
        assert_eq!(log, "target add --toolchain 9.9.9 x86_64-unknown-none\n");

        tools
            .ensure_components(&["rustfmt".to_string(), "clippy".to_string()])
            .unwrap();
        let log = std::fs::read_to_string(dir.join("log")).unwrap();
        assert!(
            log.ends_with("component list --installed --toolchain 9.9.9\ncomponent add --toolchain 9.9.9 clippy\n"),
            "{log}"
        );

        let bare = scratch("no-rustup");
        let without_rustup = Tools {
            rustup: None,
            ..fake_tools(&bare)
        };
        let error = without_rustup.ensure_target("x86_64-unknown-none").unwrap_err();
        assert!(error.to_string().contains("rustup is not installed"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_dir_all(&bare).unwrap();
    }

    #[test]
    fn components_are_matched_by_name() {
        let list = "cargo-x86_64-unknown-linux-gnu\nrust-std-x86_64-unknown-none\nrustfmt-x86_64-unknown-linux-gnu\n";
        assert!(is_listed(list, "rustfmt"));
        assert!(is_listed(list, "cargo"));
        assert!(!is_listed(list, "clippy"));
        assert!(is_listed(list, "rust-std"));
        assert!(!is_listed(list, "rust-src"));
        assert!(is_listed("clippy\n", "clippy"));
    }
}
