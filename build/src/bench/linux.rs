//! The Linux peer of `cargo xtask bench --compare`: a stock Debian kernel
//! booted under the same QEMU by `build/peers/linux/run.sh`, running
//! `bench.c` as `/init`. Under `--tcg --icount` its `*.cycles` figures are
//! guest instructions, like ours.
//!
//! The script keeps its downloads and results in `PEER_WORK`, which we point
//! at `target/linux-peer/` (its own default too): the kernel is downloaded
//! once and kept there.

use super::figures::IcountFigures;
use super::report::{number, ratio, table};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The script's arguments: the benchmark method (TCG, icount, PVH boot,
/// a fifth of the default iterations). `--verbose` prints the raw
/// `key=value` lines we parse.
pub const ARGUMENTS: &[&str] = &["--tcg", "--icount", "--boot", "pvh", "--scale", "0.2", "--verbose"];

/// The peer's pipe ping-pong round trip on one CPU (the Linux target's
/// yardstick).
pub const PIPE: &str = "pipe_rtt_1cpu";

/// The peer's figures we report (each is `<name>.cycles` in its output).
pub const FIGURES: &[&str] = &[
    "null_syscall",
    "pipe_rtt_1cpu",
    "eventfd_rtt_1cpu",
    "futex_rtt_1cpu",
    "write64",
    "write4096",
];

/// One of our benchmarks beside the Linux operation it compares with.
pub struct Comparison {
    pub ours: &'static str,
    pub linux: &'static str,
    pub what: &'static str,
}

pub const COMPARISONS: &[Comparison] = &[
    Comparison {
        ours: "null_syscall",
        linux: "null_syscall",
        what: "null syscall (getppid)",
    },
    Comparison {
        ours: "ipc_roundtrip.words_0",
        linux: PIPE,
        what: "pipe ping-pong round trip, 1 CPU",
    },
    Comparison {
        ours: "write_64_bytes",
        linux: "write64",
        what: "write of 64 bytes to /dev/null",
    },
];

/// What running the peer gave.
#[derive(Clone, Debug, PartialEq)]
pub enum LinuxPeer {
    /// The script is not where it should be.
    Missing { script: PathBuf },
    /// It ran but gave no usable figures.
    Failed { command: String, message: String },
    /// Its `key=value` lines between `bench.status=begin` and `done`.
    Ran {
        command: String,
        figures: BTreeMap<String, String>,
    },
}

/// `<workspace>/build/peers/linux/run.sh`.
pub fn script() -> PathBuf {
    crate::workspace_root()
        .join("build")
        .join("peers")
        .join("linux")
        .join("run.sh")
}

/// Where the peer keeps its downloads and results: `target/linux-peer/`.
pub fn work_dir() -> PathBuf {
    crate::target_dir().join("linux-peer")
}

/// Runs the peer once. Its progress goes to our stderr when `echo`.
pub fn run(echo: bool) -> LinuxPeer {
    let script = script();
    if !script.is_file() {
        return LinuxPeer::Missing { script };
    }
    let work = work_dir();
    let command = format!(
        "PEER_WORK={} {} {}",
        work.display(),
        script.display(),
        ARGUMENTS.join(" ")
    );
    if let Err(error) = std::fs::create_dir_all(&work) {
        return LinuxPeer::Failed {
            command,
            message: format!("cannot create {}: {error}", work.display()),
        };
    }
    let output = Command::new(&script)
        .args(ARGUMENTS)
        .env("PEER_WORK", &work)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if echo { Stdio::inherit() } else { Stdio::piped() })
        .output();
    let output = match output {
        Ok(output) => output,
        Err(error) => {
            return LinuxPeer::Failed {
                command,
                message: format!("cannot run {}: {error}", script.display()),
            };
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|line| !line.trim().is_empty());
        return LinuxPeer::Failed {
            command,
            message: match last {
                Some(line) => format!("{} ({})", output.status, line.trim()),
                None => format!("{}; its messages above say why", output.status),
            },
        };
    }
    match parse(&stdout) {
        Ok(figures) => LinuxPeer::Ran { command, figures },
        Err(message) => LinuxPeer::Failed { command, message },
    }
}

/// The `key=value` lines of the peer's first run, between
/// `bench.status=begin` and `bench.status=done`.
pub fn parse(stdout: &str) -> Result<BTreeMap<String, String>, String> {
    let mut figures = BTreeMap::new();
    let mut begun = false;
    for line in stdout.lines() {
        let line = line.trim();
        match line {
            "bench.status=begin" => begun = true,
            "bench.status=done" if begun => return Ok(figures),
            _ if begun => {
                if let Some((key, value)) = line.split_once('=') {
                    figures.insert(key.to_string(), value.to_string());
                }
            }
            _ => {}
        }
    }
    Err(if begun {
        "the peer's output has no bench.status=done".into()
    } else {
        "the peer printed no key=value lines (bench.status=begin missing)".into()
    })
}

/// The peer's median for `name` (`<name>.cycles`): guest instructions under
/// icount.
pub fn figure(figures: &BTreeMap<String, String>, name: &str) -> Option<f64> {
    figures
        .get(&format!("{name}.cycles"))?
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
}

impl LinuxPeer {
    /// `ok`, `missing` or `failed` (the `linux.status` key).
    pub fn status(&self) -> &'static str {
        match self {
            Self::Missing { .. } => "missing",
            Self::Failed { .. } => "failed",
            Self::Ran { .. } => "ok",
        }
    }

    /// The comparison table (or why there is none).
    pub fn text(&self, icount: Option<&IcountFigures>) -> String {
        let (command, figures) = match self {
            Self::Missing { script } => {
                return format!("Linux peer: not found at {}; comparison skipped\n", script.display());
            }
            Self::Failed { command, message } => {
                return format!("Linux peer failed: {message}; comparison skipped\n  command: {command}\n");
            }
            Self::Ran { command, figures } => (command, figures),
        };
        let kernel = figures.get("sys.kernel").map_or("Linux", String::as_str);
        let mut out =
            format!("Linux peer ({kernel} under the same QEMU, TCG icount, mitigations=auto; guest instructions)\n");
        let rows: Vec<Vec<String>> = COMPARISONS
            .iter()
            .map(|comparison| {
                let ours = icount.and_then(|icount| icount.median(comparison.ours));
                let theirs = figure(figures, comparison.linux);
                vec![
                    comparison.ours.to_string(),
                    ours.map_or("-".into(), number),
                    comparison.what.to_string(),
                    theirs.map_or("-".into(), number),
                    match (ours, theirs) {
                        (Some(ours), Some(theirs)) => ratio(ours, theirs),
                        _ => "-".into(),
                    },
                ]
            })
            .collect();
        out.push_str(&table(
            &["ours", "instructions", "Linux", "instructions", "ours/Linux"],
            &rows,
        ));
        let others: Vec<String> = [
            ("eventfd_rtt_1cpu", "eventfd ping-pong round trip"),
            ("futex_rtt_1cpu", "futex ping-pong round trip"),
            ("write4096", "write of 4096 bytes to /dev/null"),
        ]
        .iter()
        .filter_map(|(key, what)| figure(figures, key).map(|value| format!("{what} {}", number(value))))
        .collect();
        if !others.is_empty() {
            out.push_str(&format!("  also on Linux: {}\n", others.join("; ")));
        }
        out.push_str(&format!("  command: {command}\n"));
        out
    }

    pub fn json(&self) -> Value {
        match self {
            Self::Missing { script } => json!({"status": "missing", "script": script.display().to_string()}),
            Self::Failed { command, message } => json!({"status": "failed", "command": command, "message": message}),
            Self::Ran { command, figures } => {
                let instructions: serde_json::Map<String, Value> = FIGURES
                    .iter()
                    .filter_map(|key| figure(figures, key).map(|value| (key.to_string(), json!(value))))
                    .collect();
                json!({
                    "status": "ok",
                    "command": command,
                    "kernel": figures.get("sys.kernel"),
                    "instructions": instructions,
                    "comparisons": COMPARISONS.iter().map(|c| json!({"ours": c.ours, "linux": c.linux, "what": c.what})).collect::<Vec<_>>(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
bench.status=begin
sys.kernel=Linux 6.1.0-56-amd64
null_syscall.cycles=338.3
null_syscall.ns=338.3
pipe_rtt_1cpu.cycles=12985.2
write64.cycles=592.4
bench.status=done
# linux peer: tcg-mitauto, runs=1
key                                 min       median          max
null_syscall.cycles               338.3        338.3        338.3
";

    #[test]
    fn figures_are_parsed() {
        let figures = parse(OUTPUT).unwrap();
        assert_eq!(figure(&figures, "null_syscall"), Some(338.3));
        assert_eq!(figure(&figures, PIPE), Some(12985.2));
        assert_eq!(figure(&figures, "futex_rtt_1cpu"), None);
        assert_eq!(figures["sys.kernel"], "Linux 6.1.0-56-amd64");
        assert!(parse("nothing\n").is_err());
        assert!(parse("bench.status=begin\nx=1\n").is_err());
    }

    #[test]
    fn the_script_is_in_the_repository() {
        use std::os::unix::fs::PermissionsExt;
        let script = script();
        assert!(script.starts_with(crate::workspace_root()), "{}", script.display());
        let mode = std::fs::metadata(&script).unwrap().permissions().mode();
        assert!(mode & 0o111 != 0, "{} is not executable", script.display());
        // Its own default work directory is the one we give it.
        let text = std::fs::read_to_string(&script).unwrap();
        let default = text
            .lines()
            .find_map(|line| line.strip_prefix("W=\"${PEER_WORK:-")?.split_once('}'))
            .map(|(dir, _)| script.parent().unwrap().join(dir))
            .expect("run.sh sets W from PEER_WORK");
        assert_eq!(normalize(&default), work_dir());
    }

    /// `path` without `..` components.
    fn normalize(path: &std::path::Path) -> PathBuf {
        let mut out = PathBuf::new();
        for component in path.components() {
            match component {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        out
    }

    #[test]
    fn missing_and_failed_peers_say_so() {
        let missing = LinuxPeer::Missing {
            script: "/x/run.sh".into(),
        };
        assert_eq!(missing.status(), "missing");
        assert_eq!(
            missing.text(None),
            "Linux peer: not found at /x/run.sh; comparison skipped\n"
        );
        let ran = LinuxPeer::Ran {
            command: "run.sh".into(),
            figures: parse(OUTPUT).unwrap(),
        };
        let text = ran.text(None);
        assert!(text.contains("pipe ping-pong round trip, 1 CPU"), "{text}");
        assert!(text.contains("12985.2"), "{text}");
    }
}
