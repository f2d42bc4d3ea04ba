//! Cross builds: runs cargo for `x86_64-unknown-none` and reports which
//! executables it produced.
//!
//! Builds use their own target directories (`target/cross` for this
//! workspace, `target/cross-external` for crates outside it), so a build
//! started from inside `cargo test` never waits on the outer cargo's lock on
//! `target/`.

use crate::Error;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The target every kernel and program binary is built for.
pub const TARGET: &str = "x86_64-unknown-none";
/// Same flags as `.cargo/config.toml`, passed by environment so crates outside
/// this workspace get them too.
pub const RUSTFLAGS: &str = "-C relocation-model=static";

/// Executables a build produced: binary name → ELF path.
pub type Executables = BTreeMap<String, PathBuf>;

/// How much of cargo's output to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Cargo's progress and diagnostics go to our stderr as they happen.
    Stream,
    /// Cargo's stderr is kept and printed (with `eprint!`, so a test harness
    /// captures it) only if the build fails.
    OnFailure,
}

/// `<workspace>/target/cross`: where workspace crates are cross-built.
pub fn cross_dir() -> PathBuf {
    crate::target_dir().join("cross")
}

/// `<workspace>/target/cross-external`: where crates given by path are built.
pub fn external_dir() -> PathBuf {
    crate::target_dir().join("cross-external")
}

/// The toolchain channel pinned in `<workspace>/rust-toolchain.toml`.
pub fn toolchain_channel() -> Result<String, Error> {
    Ok(crate::setup::toolchain()?.channel)
}

/// Builds the binaries `bins` of the workspace `packages` in one cargo
/// invocation (nothing else of those packages but their libraries).
pub fn build_workspace(packages: &[&str], bins: &[&str], output: Output) -> Result<Executables, Error> {
    let mut command = cargo_command(&cross_dir())?;
    command.current_dir(crate::workspace_root());
    for package in packages {
        command.arg("-p").arg(package);
    }
    for bin in bins {
        command.arg("--bin").arg(bin);
    }
    run(command, &format!("packages {}", packages.join(", ")), output)
}

/// Builds the binaries `bins` of the crate in `dir` (outside this
/// workspace): a broken binary the manifest does not name cannot stop
/// the build.
pub fn build_external(dir: &Path, bins: &[&str], output: Output) -> Result<Executables, Error> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(Error::Build(format!("{} has no Cargo.toml", dir.display())));
    }
    let mut command = cargo_command(&external_dir())?;
    command.current_dir(dir).arg("--manifest-path").arg(&manifest);
    for bin in bins {
        command.arg("--bin").arg(bin);
    }
    run(command, &format!("crate {}", dir.display()), output)
}

/// A package and its binaries, as `cargo metadata` lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub binaries: Vec<String>,
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<MetadataPackage>,
}

#[derive(Deserialize)]
struct MetadataPackage {
    name: String,
    targets: Vec<MetadataTarget>,
}

#[derive(Deserialize)]
struct MetadataTarget {
    name: String,
    kind: Vec<String>,
}

/// The packages of the crate or workspace whose `Cargo.toml` is in `dir`
/// (`cargo metadata --no-deps`: nothing is resolved or downloaded).
pub fn packages(dir: &Path) -> Result<Vec<Package>, Error> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(Error::Build(format!("{} has no Cargo.toml", dir.display())));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--manifest-path"])
        .arg(&manifest)
        .current_dir(dir)
        .env("RUSTUP_TOOLCHAIN", toolchain_channel()?)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Build(format!("cannot run cargo ({e}); is it installed and on PATH?")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr
            .lines()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("no message");
        return Err(Error::Build(format!(
            "cannot read {}: {}",
            manifest.display(),
            reason.trim().trim_start_matches("error: ")
        )));
    }
    let metadata: Metadata = serde_json::from_slice(&output.stdout)
        .map_err(|e| Error::Build(format!("cannot read cargo metadata of {}: {e}", manifest.display())))?;
    Ok(metadata
        .packages
        .into_iter()
        .map(|package| Package {
            name: package.name,
            binaries: package
                .targets
                .into_iter()
                .filter(|target| target.kind.iter().any(|kind| kind == "bin"))
                .map(|target| target.name)
                .collect(),
        })
        .collect())
}

/// This workspace's packages (asked once per process).
pub fn workspace_packages() -> Result<Vec<Package>, Error> {
    static PACKAGES: Mutex<Option<Vec<Package>>> = Mutex::new(None);
    let mut cached = crate::lock(&PACKAGES);
    if let Some(packages) = cached.as_ref() {
        return Ok(packages.clone());
    }
    let packages = packages(crate::workspace_root())?;
    *cached = Some(packages.clone());
    Ok(packages)
}

fn cargo_command(target_dir: &Path) -> Result<Command, Error> {
    // A toolchain installed without the target cannot build `core` for it.
    crate::setup::ensure_target()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args([
            "build",
            "--release",
            "--target",
            TARGET,
            "--message-format=json-render-diagnostics",
        ])
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_TARGET_X86_64_UNKNOWN_NONE_RUSTFLAGS", RUSTFLAGS)
        .env("RUSTUP_TOOLCHAIN", toolchain_channel()?)
        // Line tables for every program, wherever its crate lives (this
        // workspace's profile says the same): fault reports name the line.
        .env("CARGO_PROFILE_RELEASE_DEBUG", "limited")
        // RUSTFLAGS from the environment would replace the target's flags
        // (and with them the static relocation model the kernel needs).
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    Ok(command)
}

fn run(mut command: Command, what: &str, output: Output) -> Result<Executables, Error> {
    // Cargo's stderr comes through a pipe (see `relay`); keep its colours
    // when ours is a terminal.
    if output == Output::Stream && std::io::stderr().is_terminal() {
        command.arg("--color=always");
    }
    command.stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| Error::Build(format!("cannot run cargo ({e}); is it installed and on PATH?")))?;
    let (Some(mut stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(Error::Build("cargo's output pipes are missing".into()));
    };
    let (messages, diagnostics) = std::thread::scope(|scope| {
        let relayed = scope.spawn(move || relay(stderr, output == Output::Stream));
        let mut messages = Vec::new();
        let _ = stdout.read_to_end(&mut messages);
        (messages, relayed.join().unwrap_or_default())
    });
    let status = child
        .wait()
        .map_err(|e| Error::Build(format!("cannot wait for cargo: {e}")))?;
    if !status.success() {
        if output == Output::OnFailure {
            eprint!("{diagnostics}");
        }
        let status = match status.code() {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".into(),
        };
        return Err(Error::Build(format!(
            "cargo build failed for {what} ({status}); cargo's messages above say why"
        )));
    }
    Ok(executables(&String::from_utf8_lossy(&messages)))
}

/// Reads cargo's stderr (its progress and diagnostics) to the end and
/// returns it. With `echo`, copies each line to our stderr as it arrives,
/// except the `Finished` line of a build that did nothing else: an
/// up-to-date build stays silent.
fn relay(stderr: impl Read, echo: bool) -> String {
    let mut all = String::new();
    let mut said_something = false;
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        let finished = without_colours(&line).trim_start().starts_with("Finished ");
        if echo && (said_something || !finished) {
            eprintln!("{line}");
            said_something = true;
        }
        all.push_str(&line);
        all.push('\n');
    }
    all
}

/// `line` without ANSI escape sequences (`\x1b[1m` ...).
fn without_colours(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// The part of one of cargo's JSON messages (`--message-format=json`) we
/// read.
#[derive(Deserialize)]
struct Message {
    reason: String,
    /// Set on `compiler-artifact` messages of binaries.
    #[serde(default)]
    executable: Option<PathBuf>,
}

/// Collects the `executable` paths of cargo's `compiler-artifact` messages.
pub fn executables(json_lines: &str) -> Executables {
    let mut found = Executables::new();
    for line in json_lines.lines() {
        let Ok(message) = serde_json::from_str::<Message>(line) else {
            continue;
        };
        if message.reason != "compiler-artifact" {
            continue;
        }
        if let Some(path) = message.executable
            && let Some(name) = path.file_name()
        {
            found.insert(name.to_string_lossy().into_owned(), path.clone());
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_executables_in_cargo_messages() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","package_id":"x","target":{"kind":["lib"],"name":"abi"},"executable":null,"fresh":true}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"microkernel"},"executable":"/w/target/cross/x86_64-unknown-none/release/microkernel","fresh":false}"#,
            "\n",
            r#"{"reason":"compiler-artifact","executable":"/odd \"dir\\/hello"}"#,
            "\n",
            r#"{"reason":"compiler-message","executable":"/not/an/artifact"}"#,
            "\n",
            "not json at all\n",
            r#"{"reason":"build-finished","success":true}"#,
            "\n"
        );
        let found = executables(messages);
        assert_eq!(found.len(), 2);
        assert_eq!(
            found["microkernel"],
            PathBuf::from("/w/target/cross/x86_64-unknown-none/release/microkernel")
        );
        assert_eq!(found["hello"], PathBuf::from("/odd \"dir\\/hello"));
    }

    #[test]
    fn an_up_to_date_build_says_nothing() {
        let quiet = "\x1b[1m\x1b[92m    Finished\x1b[0m `release` profile [optimized] target(s) in 0.35s\n";
        assert_eq!(
            without_colours(quiet).trim(),
            "Finished `release` profile [optimized] target(s) in 0.35s"
        );
        assert_eq!(relay(quiet.as_bytes(), false), quiet);
        let busy = "   Compiling abi v0.1.0\n    Finished `release` profile\n";
        assert_eq!(relay(busy.as_bytes(), false), busy);
    }

    #[test]
    fn lists_the_workspace_packages_and_their_binaries() {
        let packages = workspace_packages().unwrap();
        let demo = packages.iter().find(|p| p.name == "demo").expect("the demo package");
        assert!(demo.binaries.iter().any(|bin| bin == "faulty"), "{demo:?}");
        let libsys = packages.iter().find(|p| p.name == "libsys").unwrap();
        assert!(libsys.binaries.is_empty());
        let error = super::packages(Path::new("/no/such/dir")).unwrap_err();
        assert!(error.to_string().contains("has no Cargo.toml"), "{error}");
    }

    #[test]
    fn reads_the_pinned_channel() {
        let channel = toolchain_channel().unwrap();
        assert!(!channel.is_empty());
    }
}
