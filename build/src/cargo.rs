//! Cross builds: runs cargo for `x86_64-unknown-none` and reports which
//! executables it produced.
//!
//! Builds use their own target directories (`target/cross` for this
//! workspace, `target/cross-external` for crates outside it), so a build
//! started from inside `cargo test` never waits on the outer cargo's lock on
//! `target/`.

use crate::Error;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

/// Builds `packages` of this workspace in one cargo invocation.
pub fn build_workspace(packages: &[&str], output: Output) -> Result<Executables, Error> {
    let mut command = cargo_command(&cross_dir())?;
    command.current_dir(crate::workspace_root());
    for package in packages {
        command.arg("-p").arg(package);
    }
    run(command, &format!("packages {}", packages.join(", ")), output)
}

/// Builds the crate in `dir` (outside this workspace).
pub fn build_external(dir: &Path, output: Output) -> Result<Executables, Error> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(Error::Build(format!("{} has no Cargo.toml", dir.display())));
    }
    let mut command = cargo_command(&external_dir())?;
    command.current_dir(dir).arg("--manifest-path").arg(&manifest);
    run(command, &format!("crate {}", dir.display()), output)
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
        // RUSTFLAGS from the environment would replace the target's flags
        // (and with them the static relocation model the kernel needs).
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    Ok(command)
}

fn run(mut command: Command, what: &str, output: Output) -> Result<Executables, Error> {
    command.stderr(match output {
        Output::Stream => Stdio::inherit(),
        Output::OnFailure => Stdio::piped(),
    });
    let result = command
        .output()
        .map_err(|e| Error::Build(format!("cannot run cargo ({e}); is it installed and on PATH?")))?;
    if !result.status.success() {
        if output == Output::OnFailure {
            eprint!("{}", String::from_utf8_lossy(&result.stderr));
        }
        let status = match result.status.code() {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".into(),
        };
        return Err(Error::Build(format!(
            "cargo build failed for {what} ({status}); cargo's messages above say why"
        )));
    }
    Ok(executables(&String::from_utf8_lossy(&result.stdout)))
}

/// Collects the `executable` paths of cargo's `compiler-artifact` messages.
pub fn executables(json_lines: &str) -> Executables {
    let mut found = Executables::new();
    for line in json_lines.lines() {
        if !line.contains(r#""reason":"compiler-artifact""#) {
            continue;
        }
        if let Some(path) = json_string_field(line, "executable") {
            let path = PathBuf::from(path);
            if let Some(name) = path.file_name() {
                found.insert(name.to_string_lossy().into_owned(), path.clone());
            }
        }
    }
    found
}

/// The string value of the first `"key":"..."` in a line of compact JSON
/// (cargo's messages), unescaped; `None` if absent or `null`.
fn json_string_field(line: &str, key: &str) -> Option<String> {
    let pattern = format!("\"{key}\":");
    let start = line.find(&pattern)? + pattern.len();
    let rest = line[start..].trim_start().strip_prefix('"')?;
    let mut value = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'r' => value.push('\r'),
                'b' => value.push('\u{8}'),
                'f' => value.push('\u{c}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
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
    fn reads_the_pinned_channel() {
        let channel = toolchain_channel().unwrap();
        assert!(!channel.is_empty());
    }
}
