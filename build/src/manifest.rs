//! User manifests: the TOML files in `manifests/` (or inline TOML from tests),
//! checked and turned into the kernel's boot manifest text
//! (`abi::manifest`), which the kernel's own parser then re-checks.
//!
//! `docs/manifest.md` documents every field, its default and its errors; a
//! test below checks that it names exactly the fields these structs accept.

use crate::Error;
use abi::Rights;
use abi::manifest::{ManifestErrorKind, PRIORITIES, check_name};
use abi::restart::Restart;
use serde::Deserialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use toml::Spanned;

pub use abi::manifest::Start;
pub use restart::{SUPERVISOR_CRATE, SUPERVISOR_NAME, parse_duration_ms};

mod restart;

/// A checked user manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The file stem for manifests read from a file, `inline` otherwise. Used
    /// as the default image directory name.
    pub name: String,
    /// The TOML file it was read from, if any.
    pub file: Option<PathBuf>,
    /// The directory relative `path` and `elf` values are resolved against
    /// (absolute).
    pub base_dir: PathBuf,
    /// `[kernel] cmdline`.
    pub cmdline: String,
    /// `[kernel] cpus`: how many CPUs QEMU gives the machine (the kernel
    /// brings up every one, at most `kernel_core`'s `MAX_CPUS`).
    pub cpus: usize,
    pub endpoints: Vec<Endpoint>,
    pub programs: Vec<Program>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub name: String,
    pub notices: bool,
    /// Line of the TOML text that declared it, for error messages.
    pub line: Option<usize>,
}

/// Where a program's binary comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A package of this workspace.
    Crate(String),
    /// A crate directory outside the workspace (absolute: a relative `path`
    /// is resolved against the manifest's directory when it is read).
    Path(PathBuf),
    /// A file packed as it is, without building anything (prebuilt
    /// programs, and deliberately broken ones in tests).
    Elf(PathBuf),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    pub name: String,
    pub source: Source,
    /// Binary name inside the crate.
    pub bin: String,
    pub priority: u8,
    pub io_serial: bool,
    pub start: Start,
    pub spawns: Vec<String>,
    /// Timer ticks of CPU time before the kernel kills it.
    pub cpu_limit: Option<u32>,
    /// Pages of memory it may use (`memory = "4 MiB"`); `None`: the
    /// kernel's default (`abi::memory::DEFAULT_MEMORY_PAGES`).
    pub memory_pages: Option<u32>,
    /// Interrupt lines it is granted (`irqs = [4]`), in increasing order.
    pub irqs: Vec<u32>,
    /// The CPUs its threads may run on (`cpus = [1]`), in increasing
    /// order; empty: any.
    pub cpus: Vec<u32>,
    /// Threads it may have at once (`threads = 4`); `None`: the kernel's
    /// default (`abi::manifest::DEFAULT_THREADS`).
    pub threads: Option<u8>,
    /// Its argument string (`libsys::args()`).
    pub args: String,
    /// How `cargo xtask run --strict` expects it to end; `None`: an exit
    /// with status 0, if it ends at all.
    pub expect: Option<Expect>,
    pub handles: Vec<HandleSpec>,
    /// How the supervisor server restarts it (`restart = "on-fault"`); it is
    /// then started by the supervisor, not at boot.
    pub restart: Option<Restart>,
    /// Line of its `restart`, if it has one.
    pub restart_line: Option<usize>,
    /// Line of its `name`.
    pub line: Option<usize>,
    /// Line of its `crate`, `path` or `elf`.
    pub source_line: Option<usize>,
    /// Line of its `bin`, if it has one.
    pub bin_line: Option<usize>,
}

/// How a program is expected to end (`expect` and `expect_exit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// `exit` with this status.
    Exit(i64),
    /// Killed by a CPU exception.
    Fault,
    /// Killed when its `cpu_limit` is used up.
    CpuLimit,
    /// However it ends, or never.
    Any,
}

impl Default for Expect {
    fn default() -> Self {
        Self::Exit(0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandleSpec {
    pub endpoint: String,
    pub rights: Rights,
    pub badge: u64,
    pub line: Option<usize>,
}

// The TOML schema. Unknown keys are errors everywhere.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    kernel: KernelToml,
    #[serde(default)]
    endpoint: Vec<Spanned<EndpointToml>>,
    #[serde(default)]
    program: Vec<Spanned<ProgramToml>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KernelToml {
    #[serde(default)]
    cmdline: String,
    cpus: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointToml {
    name: Spanned<String>,
    #[serde(default)]
    notices: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgramToml {
    name: Spanned<String>,
    #[serde(rename = "crate")]
    krate: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    elf: Option<Spanned<String>>,
    args: Option<Spanned<String>>,
    bin: Option<Spanned<String>>,
    priority: Spanned<i64>,
    #[serde(default)]
    io: Vec<Spanned<String>>,
    start: Option<Spanned<String>>,
    #[serde(default)]
    spawns: Vec<Spanned<String>>,
    cpu_limit: Option<Spanned<i64>>,
    memory: Option<Spanned<String>>,
    #[serde(default)]
    irqs: Vec<Spanned<i64>>,
    #[serde(default)]
    cpus: Vec<Spanned<i64>>,
    threads: Option<Spanned<i64>>,
    #[serde(default)]
    handles: Vec<Spanned<HandleToml>>,
    expect: Option<Spanned<String>>,
    expect_exit: Option<Spanned<i64>>,
    restart: Option<Spanned<String>>,
    restart_backoff: Option<Spanned<String>>,
    restart_backoff_max: Option<Spanned<String>>,
    restart_stable: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HandleToml {
    endpoint: Spanned<String>,
    rights: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    badge: u64,
}

/// Turns byte offsets of the TOML text into errors with a line number.
struct Context<'a> {
    text: &'a str,
    file: Option<&'a Path>,
}

impl Context<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1
    }

    fn error_at(&self, offset: Option<usize>, message: String) -> Error {
        Error::Manifest {
            file: self.file.map(Path::to_path_buf),
            line: offset.map(|offset| self.line_of(offset)),
            message,
        }
    }

    fn error<T>(&self, spanned: &Spanned<T>, message: String) -> Error {
        self.error_at(Some(spanned.span().start), message)
    }
}

impl Manifest {
    /// Reads a manifest chosen by name (`demo` is `manifests/demo.toml` of
    /// this workspace) or by path (anything with a `/` or ending in `.toml`).
    pub fn load(spec: &str) -> Result<Self, Error> {
        if spec.contains('/') || spec.ends_with(".toml") {
            return Self::from_file(Path::new(spec));
        }
        let path = crate::workspace_root().join("manifests").join(format!("{spec}.toml"));
        if !path.is_file() {
            return Err(Error::Manifest {
                file: None,
                line: None,
                message: format!(
                    "no manifest named `{spec}` (looked for {}; available: {})",
                    path.display(),
                    available_manifests().join(", ")
                ),
            });
        }
        Self::from_file(&path)
    }

    /// Reads a manifest file. Relative crate paths in it are relative to the
    /// file's directory.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| Error::io(format!("cannot read manifest {}", path.display()), error))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let name = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "manifest".into());
        Self::parse(&text, base, Some(path), name)
    }

    /// Parses manifest TOML that did not come from a file (tests build their
    /// scenarios this way). Relative crate paths are relative to `base_dir`.
    pub fn from_toml_str(text: &str, base_dir: &Path) -> Result<Self, Error> {
        Self::parse(text, base_dir, None, "inline".into())
    }

    fn parse(text: &str, base_dir: &Path, file: Option<&Path>, name: String) -> Result<Self, Error> {
        // Crate paths are made absolute now: cargo later runs in the crate's
        // own directory, where a relative path would be resolved again.
        let base_dir = &absolute(base_dir)?;
        let cx = Context { text, file };
        let raw: FileToml = toml::from_str(text).map_err(|error| {
            let offset = error.span().map(|span| span.start);
            cx.error_at(offset, error.message().trim().replace('\n', " "))
        })?;

        let mut endpoints: Vec<Endpoint> = Vec::new();
        for endpoint in &raw.endpoint {
            let endpoint = endpoint.get_ref();
            let name = checked_name(&cx, &endpoint.name, "endpoint")?;
            if endpoints.iter().any(|e| e.name == name) {
                return Err(cx.error(&endpoint.name, format!("endpoint `{name}` is declared twice")));
            }
            endpoints.push(Endpoint {
                name,
                notices: endpoint.notices,
                line: Some(cx.line_of(endpoint.name.span().start)),
            });
        }

        let mut programs: Vec<Program> = Vec::new();
        for spanned in &raw.program {
            let program = spanned.get_ref();
            let name = checked_name(&cx, &program.name, "program")?;
            if programs.iter().any(|p| p.name == name) {
                return Err(cx.error(&program.name, format!("program `{name}` is declared twice")));
            }
            let source = match (&program.krate, &program.path, &program.elf) {
                (Some(_), Some(other), _) | (Some(_), None, Some(other)) | (None, Some(_), Some(other)) => {
                    return Err(cx.error(
                        other,
                        format!("program `{name}`: give one of `crate`, `path` and `elf`, not several"),
                    ));
                }
                (None, None, None) => {
                    return Err(cx.error(
                        &program.name,
                        format!(
                            "program `{name}`: missing `crate` (a workspace package), `path` (a crate directory) \
                             or `elf` (a prebuilt file)"
                        ),
                    ));
                }
                (None, None, Some(elf)) => {
                    if elf.get_ref().is_empty() {
                        return Err(cx.error(elf, format!("program `{name}`: empty elf path")));
                    }
                    Source::Elf(base_dir.join(elf.get_ref()))
                }
                (Some(krate), None, None) => {
                    let package = krate.get_ref().trim();
                    if package.is_empty() || package.contains(char::is_whitespace) {
                        return Err(cx.error(krate, format!("program `{name}`: bad crate name")));
                    }
                    Source::Crate(package.to_string())
                }
                (None, Some(path), None) => {
                    if path.get_ref().is_empty() {
                        return Err(cx.error(path, format!("program `{name}`: empty path")));
                    }
                    Source::Path(base_dir.join(path.get_ref()))
                }
            };
            let bin = match &program.bin {
                Some(bin) => {
                    let value = bin.get_ref();
                    if value.is_empty() || value.contains(['/', '\\']) || value.contains(char::is_whitespace) {
                        return Err(cx.error(bin, format!("program `{name}`: bad binary name `{value}`")));
                    }
                    value.clone()
                }
                None => name.clone(),
            };
            let priority = *program.priority.get_ref();
            let priority = u8::try_from(priority).ok().filter(|p| *p < PRIORITIES).ok_or_else(|| {
                cx.error(
                    &program.priority,
                    format!(
                        "program `{name}`: priority must be 0 to {}, not {priority}",
                        PRIORITIES - 1
                    ),
                )
            })?;
            let mut io_serial = false;
            for io in &program.io {
                match io.get_ref().as_str() {
                    "serial" => io_serial = true,
                    other => {
                        return Err(cx.error(
                            io,
                            format!("program `{name}`: unknown io `{other}` (expected \"serial\")"),
                        ));
                    }
                }
            }
            let start = match program.start.as_ref().map(|s| (s, s.get_ref().as_str())) {
                None | Some((_, "boot")) => Start::Boot,
                Some((_, "spawn")) => Start::Spawn,
                Some((spanned, other)) => {
                    return Err(cx.error(
                        spanned,
                        format!("program `{name}`: start must be \"boot\" or \"spawn\", not \"{other}\""),
                    ));
                }
            };
            let args = match &program.args {
                None => String::new(),
                Some(args) => {
                    let text = args.get_ref().trim();
                    if text.len() > abi::manifest::MAX_ARGS || text.contains(['#', '\n', '\r']) {
                        return Err(cx.error(
                            args,
                            format!(
                                "program `{name}`: args must be at most {} bytes on one line, without `#`",
                                abi::manifest::MAX_ARGS
                            ),
                        ));
                    }
                    text.to_string()
                }
            };
            let cpu_limit = match &program.cpu_limit {
                None => None,
                Some(limit) => match u32::try_from(*limit.get_ref()) {
                    Ok(ticks) if ticks > 0 => Some(ticks),
                    _ => {
                        return Err(cx.error(
                            limit,
                            format!("program `{name}`: cpu_limit must be a positive number of timer ticks"),
                        ));
                    }
                },
            };
            let memory_pages = match &program.memory {
                None => None,
                Some(memory) => match parse_memory(memory.get_ref()) {
                    Some(pages) => Some(pages),
                    None => {
                        return Err(cx.error(
                            memory,
                            format!(
                                "program `{name}`: memory must be a size like \"4 MiB\", \"512 KiB\" or \"1 GiB\" \
                                 (a whole number of 4 KiB pages, at least one)"
                            ),
                        ));
                    }
                },
            };
            let mut irqs = Vec::new();
            for irq in &program.irqs {
                let line = u32::try_from(*irq.get_ref())
                    .ok()
                    .filter(|line| (1..abi::manifest::IRQ_LINES).contains(line) && !irqs.contains(line));
                let Some(line) = line else {
                    return Err(cx.error(
                        irq,
                        format!(
                            "program `{name}`: irqs are interrupt lines 1 to {}, each once",
                            abi::manifest::IRQ_LINES - 1
                        ),
                    ));
                };
                if let Some(other) = programs.iter().find(|p: &&Program| p.irqs.contains(&line)) {
                    return Err(cx.error(
                        irq,
                        format!(
                            "program `{name}`: interrupt line {line} is granted to `{}` already",
                            other.name
                        ),
                    ));
                }
                irqs.push(line);
            }
            irqs.sort_unstable();
            let mut cpus = Vec::new();
            for cpu in &program.cpus {
                let index = u32::try_from(*cpu.get_ref())
                    .ok()
                    .filter(|c| *c < abi::manifest::MAX_CPUS && !cpus.contains(c));
                let Some(index) = index else {
                    return Err(cx.error(
                        cpu,
                        format!(
                            "program `{name}`: cpus are CPU numbers 0 to {}, each once",
                            abi::manifest::MAX_CPUS - 1
                        ),
                    ));
                };
                cpus.push(index);
            }
            cpus.sort_unstable();
            let threads = match &program.threads {
                None => None,
                Some(threads) => match u8::try_from(*threads.get_ref()) {
                    Ok(n) if (1..=abi::manifest::MAX_THREADS_PER_PROCESS).contains(&n) => Some(n),
                    _ => {
                        return Err(cx.error(
                            threads,
                            format!(
                                "program `{name}`: threads must be 1 to {}",
                                abi::manifest::MAX_THREADS_PER_PROCESS
                            ),
                        ));
                    }
                },
            };
            let expect = match (&program.expect, &program.expect_exit) {
                (None, None) => None,
                (None, Some(status)) => Some(Expect::Exit(*status.get_ref())),
                (Some(expect), status) => match (expect.get_ref().as_str(), status) {
                    ("exit", status) => Some(Expect::Exit(status.as_ref().map_or(0, |s| *s.get_ref()))),
                    (_, Some(status)) => {
                        return Err(cx.error(
                            status,
                            format!("program `{name}`: expect_exit goes with expect = \"exit\" (or alone)"),
                        ));
                    }
                    ("fault", None) => Some(Expect::Fault),
                    ("cpu_limit", None) => Some(Expect::CpuLimit),
                    ("any", None) => Some(Expect::Any),
                    (other, None) => {
                        return Err(cx.error(
                            expect,
                            format!(
                                "program `{name}`: expect must be \"exit\", \"fault\", \"cpu_limit\" or \"any\", \
                                 not \"{other}\""
                            ),
                        ));
                    }
                },
            };
            if expect == Some(Expect::CpuLimit) && cpu_limit.is_none() {
                return Err(cx.error(
                    program.expect.as_ref().unwrap_or(&program.name),
                    format!("program `{name}`: expect = \"cpu_limit\" needs a cpu_limit"),
                ));
            }
            let restart = restart::parse(&cx, &name, program)?;
            let mut handles = Vec::new();
            for handle in &program.handles {
                let handle_toml = handle.get_ref();
                let endpoint = handle_toml.endpoint.get_ref();
                if !endpoints.iter().any(|e| &e.name == endpoint) {
                    return Err(cx.error(
                        &handle_toml.endpoint,
                        format!("program `{name}`: handle names undeclared endpoint `{endpoint}`"),
                    ));
                }
                let mut rights = Rights::empty();
                for right in handle_toml.rights.get_ref() {
                    let found = Rights::NAMES.iter().find(|(n, _)| n == right.get_ref());
                    match found {
                        Some((_, r)) => rights |= *r,
                        None => {
                            return Err(cx.error(
                                right,
                                format!(
                                    "program `{name}`: unknown right `{}` (expected send, recv or transfer)",
                                    right.get_ref()
                                ),
                            ));
                        }
                    }
                }
                if rights.is_empty() {
                    return Err(cx.error(
                        &handle_toml.rights,
                        format!("program `{name}`: a handle needs at least one right (send, recv, transfer)"),
                    ));
                }
                handles.push(HandleSpec {
                    endpoint: endpoint.clone(),
                    rights,
                    badge: handle_toml.badge,
                    line: Some(cx.line_of(handle.span().start)),
                });
            }
            programs.push(Program {
                name,
                source,
                bin,
                priority,
                io_serial,
                start,
                spawns: program.spawns.iter().map(|s| s.get_ref().clone()).collect(),
                cpu_limit,
                memory_pages,
                irqs,
                cpus,
                threads,
                args,
                expect,
                handles,
                restart,
                restart_line: program.restart.as_ref().map(|r| cx.line_of(r.span().start)),
                line: Some(cx.line_of(program.name.span().start)),
                source_line: [&program.krate, &program.path, &program.elf]
                    .into_iter()
                    .flatten()
                    .next()
                    .map(|source| cx.line_of(source.span().start)),
                bin_line: program.bin.as_ref().map(|bin| cx.line_of(bin.span().start)),
            });
        }

        // Spawn targets may be declared after the program that spawns them.
        for spanned in &raw.program {
            let program = spanned.get_ref();
            for target in &program.spawns {
                if !programs.iter().any(|p| &p.name == target.get_ref()) {
                    return Err(cx.error(
                        target,
                        format!(
                            "program `{}`: spawns undeclared program `{}`",
                            program.name.get_ref(),
                            target.get_ref()
                        ),
                    ));
                }
            }
        }

        // The supervisor's entry is completed (or written) once every
        // program is known.
        restart::supervise(&cx, &raw, &endpoints, &mut programs)?;

        let cpus = match &raw.kernel.cpus {
            None => 1,
            Some(cpus) => match usize::try_from(*cpus.get_ref()) {
                Ok(n) if (1..=abi::manifest::MAX_CPUS as usize).contains(&n) => n,
                _ => {
                    return Err(cx.error(cpus, format!("[kernel] cpus must be 1 to {}", abi::manifest::MAX_CPUS)));
                }
            },
        };
        let manifest = Manifest {
            name,
            file: file.map(Path::to_path_buf),
            base_dir: base_dir.clone(),
            cmdline: raw.kernel.cmdline.trim().to_string(),
            cpus,
            endpoints,
            programs,
        };
        // Whatever the checks above missed (capacities, several notice
        // endpoints), the kernel's parser finds now, not at boot.
        manifest.kernel_text()?;
        Ok(manifest)
    }

    /// An error about line `line` of this manifest (its file named when it
    /// came from one).
    pub fn error_at(&self, line: Option<usize>, message: String) -> Error {
        Error::Manifest {
            file: self.file.clone(),
            line,
            message,
        }
    }

    /// The boot manifest text the kernel reads (`abi::manifest` format),
    /// checked with the kernel's own parser.
    pub fn kernel_text(&self) -> Result<String, Error> {
        let (text, origins) = self.render();
        if let Err(error) = abi::manifest::Manifest::parse(text.as_bytes()) {
            let generated = text.lines().nth(error.line.saturating_sub(1)).unwrap_or("");
            let line = origins.get(error.line.saturating_sub(1)).copied().flatten();
            return Err(Error::Manifest {
                file: self.file.clone(),
                line,
                message: format!(
                    "the kernel would refuse this manifest: {}{} (generated line: `{generated}`)",
                    error,
                    explain(error.kind)
                ),
            });
        }
        Ok(text)
    }

    /// Renders the kernel text, with the TOML line each generated line came
    /// from.
    fn render(&self) -> (String, Vec<Option<usize>>) {
        let mut text = String::from("manifest 1\n");
        let mut origins = vec![None];
        for endpoint in &self.endpoints {
            text.push_str("endpoint ");
            text.push_str(&endpoint.name);
            if endpoint.notices {
                text.push_str(" notices");
            }
            text.push('\n');
            origins.push(endpoint.line);
        }
        for program in &self.programs {
            let _ = write!(
                text,
                "program {} file={} priority={}",
                program.name,
                program.file_in_initrd(),
                program.priority
            );
            if program.io_serial {
                text.push_str(" io=serial");
            }
            if program.start == Start::Spawn {
                text.push_str(" start=spawn");
            }
            if !program.spawns.is_empty() {
                let _ = write!(text, " spawns={}", program.spawns.join(","));
            }
            if let Some(ticks) = program.cpu_limit {
                let _ = write!(text, " cpu_limit={ticks}");
            }
            if let Some(pages) = program.memory_pages {
                let _ = write!(text, " memory={pages}");
            }
            if !program.irqs.is_empty() {
                let lines: Vec<String> = program.irqs.iter().map(u32::to_string).collect();
                let _ = write!(text, " irqs={}", lines.join(","));
            }
            if !program.cpus.is_empty() {
                let cpus: Vec<String> = program.cpus.iter().map(u32::to_string).collect();
                let _ = write!(text, " cpus={}", cpus.join(","));
            }
            if let Some(threads) = program.threads {
                let _ = write!(text, " threads={threads}");
            }
            text.push('\n');
            origins.push(program.line);
            if !program.args.is_empty() {
                let _ = writeln!(text, "args {}", program.args);
                origins.push(program.line);
            }
            for handle in &program.handles {
                let rights: Vec<&str> = Rights::NAMES
                    .iter()
                    .filter(|(_, right)| handle.rights.contains(*right))
                    .map(|(name, _)| *name)
                    .collect();
                let _ = writeln!(
                    text,
                    "handle {} rights={} badge={}",
                    handle.endpoint,
                    rights.join(","),
                    handle.badge
                );
                origins.push(handle.line.or(program.line));
            }
        }
        (text, origins)
    }

    /// The workspace packages the programs come from, without duplicates.
    pub fn workspace_packages(&self) -> Vec<&str> {
        let mut packages: Vec<&str> = Vec::new();
        for program in &self.programs {
            if let Source::Crate(package) = &program.source
                && !packages.contains(&package.as_str())
            {
                packages.push(package);
            }
        }
        packages
    }
}

impl Program {
    /// Path of the program's ELF file inside the initrd.
    pub fn file_in_initrd(&self) -> String {
        format!("bin/{}", self.name)
    }
}

/// `dir` made absolute against the current directory (`.` for an empty
/// path), without resolving symbolic links.
fn absolute(dir: &Path) -> Result<PathBuf, Error> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::path::absolute(dir).map_err(|e| Error::io(format!("cannot resolve {}", dir.display()), e))
}

fn checked_name(cx: &Context<'_>, name: &Spanned<String>, what: &str) -> Result<String, Error> {
    check_name(name.get_ref()).map(str::to_string).map_err(|_| {
        cx.error(
            name,
            format!(
                "bad {what} name `{}`: names are 1 to {} characters of a-z, 0-9, - and _",
                name.get_ref(),
                abi::manifest::MAX_NAME
            ),
        )
    })
}

/// Limits worth spelling out next to the kernel parser's terse message.
fn explain(kind: ManifestErrorKind) -> String {
    use abi::manifest::*;
    match kind {
        ManifestErrorKind::TooMany("endpoints") => format!(" (at most {MAX_ENDPOINTS})"),
        ManifestErrorKind::TooMany("programs") => format!(" (at most {MAX_PROGRAMS})"),
        ManifestErrorKind::TooMany("handles") => {
            format!(" (at most {MAX_START_HANDLES} per program)")
        }
        ManifestErrorKind::TooMany("spawns") => format!(" (at most {MAX_SPAWNS} per program)"),
        _ => String::new(),
    }
}

/// Names of the manifests in `manifests/`, sorted.
pub fn available_manifests() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(crate::workspace_root().join("manifests"))
        .map(|dir| {
            dir.filter_map(|entry| {
                let path = entry.ok()?.path();
                if path.extension()? != "toml" {
                    return None;
                }
                Some(path.file_stem()?.to_string_lossy().into_owned())
            })
            .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A memory size (`"4 MiB"`, `"512 KiB"`, `"1 GiB"`, or bytes: `"65536"`)
/// as a number of 4 KiB pages: `None` unless it is a whole, positive number
/// of pages that fits the kernel-format manifest.
pub fn parse_memory(text: &str) -> Option<u32> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => (&text[..at], text[at..].trim()),
        None => (text, ""),
    };
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KiB" | "K" => 1 << 10,
        "MiB" | "M" => 1 << 20,
        "GiB" | "G" => 1 << 30,
        _ => return None,
    };
    let bytes = number.parse::<u64>().ok()?.checked_mul(scale)?;
    if bytes == 0 || !bytes.is_multiple_of(abi::PAGE_SIZE) {
        return None;
    }
    u32::try_from(bytes / abi::PAGE_SIZE).ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// The field names a struct with a derived `Deserialize` accepts: serde's
    /// derive hands them to `deserialize_struct`, where this deserializer
    /// catches them.
    fn fields_of<T: for<'de> Deserialize<'de>>() -> BTreeSet<&'static str> {
        #[derive(Debug)]
        struct Fields(&'static [&'static str]);
        impl std::fmt::Display for Fields {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }
        impl std::error::Error for Fields {}
        impl serde::de::Error for Fields {
            fn custom<M: std::fmt::Display>(_: M) -> Self {
                Fields(&[])
            }
        }
        struct Catch;
        impl<'de> serde::Deserializer<'de> for Catch {
            type Error = Fields;
            fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Fields> {
                Err(Fields(&[]))
            }
            fn deserialize_struct<V: serde::de::Visitor<'de>>(
                self,
                _name: &'static str,
                fields: &'static [&'static str],
                _: V,
            ) -> Result<V::Value, Fields> {
                Err(Fields(fields))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
                option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
            }
        }
        match T::deserialize(Catch) {
            Err(Fields(fields)) => fields.iter().copied().collect(),
            Ok(_) => unreachable!("nothing can be deserialized from Catch"),
        }
    }

    /// The fields in the tables of `docs/manifest.md`, by section heading:
    /// rows whose first cell is `` `name` ``.
    fn documented_fields(doc: &str) -> BTreeMap<String, BTreeSet<String>> {
        let mut sections: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut heading = String::new();
        for line in doc.lines() {
            if let Some(title) = line.strip_prefix("## ") {
                heading = title.trim().to_string();
            } else if let Some(row) = line.strip_prefix("| `")
                && let Some((field, _)) = row.split_once("` |")
            {
                sections.entry(heading.clone()).or_default().insert(field.to_string());
            }
        }
        sections
    }

    #[test]
    fn the_manifest_doc_names_exactly_the_accepted_fields() {
        let path = crate::workspace_root().join("docs/manifest.md");
        let doc = std::fs::read_to_string(&path).unwrap();
        let documented = documented_fields(&doc);
        let accepted = [
            ("The file", fields_of::<FileToml>()),
            ("`[kernel]`", fields_of::<KernelToml>()),
            ("`[[endpoint]]`", fields_of::<EndpointToml>()),
            ("`[[program]]`", fields_of::<ProgramToml>()),
            ("`handles` entries", fields_of::<HandleToml>()),
        ];
        assert!(accepted[3].1.contains("crate") && accepted[3].1.contains("priority"));
        for (heading, fields) in &accepted {
            let fields: BTreeSet<String> = fields.iter().map(|f| f.to_string()).collect();
            assert_eq!(
                documented.get(*heading),
                Some(&fields),
                "{}: section `## {heading}` must list exactly the fields the parser accepts",
                path.display()
            );
        }
        assert_eq!(documented.len(), accepted.len(), "{documented:?}");
    }

    #[test]
    fn the_manifest_doc_states_the_kernel_limits() {
        let doc = std::fs::read_to_string(crate::workspace_root().join("docs/manifest.md")).unwrap();
        use abi::manifest::*;
        for (limit, value) in [
            ("name length (bytes)", MAX_NAME),
            ("endpoints", MAX_ENDPOINTS),
            ("programs", MAX_PROGRAMS),
            ("handles per program", MAX_START_HANDLES),
            ("spawns per program", MAX_SPAWNS),
            ("args (bytes)", MAX_ARGS),
            ("priorities", usize::from(PRIORITIES)),
        ] {
            let row = format!("| {limit} | {value} |");
            assert!(
                doc.lines().any(|line| line == row),
                "docs/manifest.md has no row `{row}`"
            );
        }
    }

    /// `text` read as a manifest in `/base`.
    pub(crate) fn parse(text: &str) -> Result<Manifest, Error> {
        Manifest::from_toml_str(text, Path::new("/base"))
    }

    /// The line and message of the manifest error `text` makes.
    pub(crate) fn error(text: &str) -> (Option<usize>, String) {
        match parse(text) {
            Err(Error::Manifest { line, message, .. }) => (line, message),
            other => panic!("expected a manifest error, got {other:?}"),
        }
    }

    const FULL: &str = r#"
[kernel]
cmdline = "log=debug"

[[endpoint]]
name = "console"
notices = true

[[endpoint]]
name = "echo"

[[program]]
name = "console"
crate = "console"
priority = 6
io = ["serial"]
handles = [ { endpoint = "console", rights = ["recv"] } ]

[[program]]
name = "hello"
path = "../hello"
bin = "hello-bin"
priority = 2
spawns = ["child"]
handles = [
    { endpoint = "console", rights = ["send"], badge = 16 },
    { endpoint = "echo", rights = ["transfer", "send"], badge = 7 },
]

[[program]]
name = "child"
crate = "console"
bin = "child"
priority = 1
start = "spawn"
cpu_limit = 300
"#;

    #[test]
    fn converts_a_full_manifest() {
        let manifest = parse(FULL).unwrap();
        assert_eq!(manifest.cmdline, "log=debug");
        assert_eq!(manifest.name, "inline");
        assert_eq!(
            manifest.programs[1].source,
            Source::Path(PathBuf::from("/base/../hello"))
        );
        assert_eq!(manifest.programs[1].bin, "hello-bin");
        assert_eq!(manifest.programs[0].bin, "console");
        assert_eq!(manifest.workspace_packages(), vec!["console"]);
        assert_eq!(
            manifest.kernel_text().unwrap(),
            "manifest 1\n\
             endpoint console notices\n\
             endpoint echo\n\
             program console file=bin/console priority=6 io=serial\n\
             handle console rights=recv badge=0\n\
             program hello file=bin/hello priority=2 spawns=child\n\
             handle console rights=send badge=16\n\
             handle echo rights=send,transfer badge=7\n\
             program child file=bin/child priority=1 start=spawn cpu_limit=300\n"
        );
        let text = manifest.kernel_text().unwrap();
        let parsed = abi::manifest::Manifest::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.programs[1].spawns.as_slice(), &[2]);
        assert_eq!(parsed.programs[2].cpu_limit, Some(300));
    }

    #[test]
    fn args_and_prebuilt_elf() {
        let text = "[[endpoint]]\nname = \"e\"\n[[program]]\nname = \"a\"\nelf = \"bin/a.elf\"\npriority = 1\n\
                    args = \" seed=1 calls=2 \"\nhandles = [{ endpoint = \"e\", rights = [\"send\"] }]\n";
        let manifest = parse(text).unwrap();
        assert_eq!(
            manifest.programs[0].source,
            Source::Elf(PathBuf::from("/base/bin/a.elf"))
        );
        assert_eq!(
            manifest.kernel_text().unwrap(),
            "manifest 1\nendpoint e\nprogram a file=bin/a priority=1\nargs seed=1 calls=2\nhandle e rights=send badge=0\n"
        );
        let parsed_text = manifest.kernel_text().unwrap();
        let parsed = abi::manifest::Manifest::parse(parsed_text.as_bytes()).unwrap();
        assert_eq!(parsed.programs[0].args, "seed=1 calls=2");
        assert_eq!(parsed.programs[0].handles.len(), 1);
        for bad in ["\"a # comment\"", "\"two\\nlines\""] {
            let text = format!("[[program]]\nname = \"a\"\ncrate = \"a\"\npriority = 1\nargs = {bad}\n");
            assert!(parse(&text).unwrap_err().to_string().contains("args must be"), "{bad}");
        }
        let both = "[[program]]\nname = \"a\"\ncrate = \"a\"\nelf = \"x\"\npriority = 1\n";
        assert!(parse(both).unwrap_err().to_string().contains("not several"));
    }

    #[test]
    fn memory_sizes_are_pages() {
        assert_eq!(parse_memory("4 MiB"), Some(1024));
        assert_eq!(parse_memory("512KiB"), Some(128));
        assert_eq!(parse_memory("1 GiB"), Some(262_144));
        assert_eq!(parse_memory("8192"), Some(2));
        for bad in ["0 MiB", "1000", "4 MB", "", "-1 MiB", "x", "99999999999 GiB"] {
            assert_eq!(parse_memory(bad), None, "{bad}");
        }
        let text = "[[program]]\nname = \"a\"\ncrate = \"a\"\npriority = 1\nmemory = \"3 MiB\"\n";
        let parsed = Manifest::from_toml_str(text, std::path::Path::new("/")).unwrap();
        assert_eq!(parsed.programs[0].memory_pages, Some(768));
        let text = text.replace("3 MiB", "3 MB");
        let message = Manifest::from_toml_str(&text, std::path::Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(message.contains("memory must be a size"), "{message}");
    }

    #[test]
    fn cpu_limit_must_be_positive() {
        for bad in ["0", "-5", "99999999999"] {
            let text = format!("[[program]]\nname = \"a\"\ncrate = \"a\"\npriority = 1\ncpu_limit = {bad}\n");
            let message = parse(&text).unwrap_err().to_string();
            assert!(message.contains("cpu_limit must be a positive"), "{bad}: {message}");
        }
    }

    #[test]
    fn expectations() {
        let program = |extra: &str| format!("[[program]]\nname = \"a\"\ncrate = \"a\"\npriority = 1\n{extra}\n");
        let expect = |extra: &str| parse(&program(extra)).unwrap().programs[0].expect;
        assert_eq!(expect(""), None);
        assert_eq!(expect("expect = \"fault\""), Some(Expect::Fault));
        assert_eq!(expect("expect = \"exit\""), Some(Expect::Exit(0)));
        assert_eq!(expect("expect = \"exit\"\nexpect_exit = 3"), Some(Expect::Exit(3)));
        assert_eq!(expect("expect_exit = -1"), Some(Expect::Exit(-1)));
        assert_eq!(expect("expect = \"any\""), Some(Expect::Any));
        assert_eq!(expect("cpu_limit = 5\nexpect = \"cpu_limit\""), Some(Expect::CpuLimit));
        for (bad, at, message) in [
            ("expect = \"crash\"", 5, "expect must be"),
            (
                "expect = \"fault\"\nexpect_exit = 1",
                6,
                "expect_exit goes with expect = \"exit\"",
            ),
            ("expect = \"cpu_limit\"", 5, "needs a cpu_limit"),
        ] {
            let (line, text) = error(&program(bad));
            assert_eq!(line, Some(at), "{bad}");
            assert!(text.contains(message), "{bad}: {text}");
        }
    }

    #[test]
    fn empty_manifest_is_just_the_header() {
        let manifest = parse("").unwrap();
        assert_eq!(manifest.kernel_text().unwrap(), "manifest 1\n");
        assert_eq!(manifest.cmdline, "");
    }

    #[test]
    fn the_demo_manifest_is_valid() {
        let manifest = Manifest::load("demo").unwrap();
        assert_eq!(manifest.name, "demo");
        assert!(manifest.kernel_text().unwrap().starts_with("manifest 1\n"));
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let (line, message) = error("[[endpoint]]\nname = \"a\"\ncolour = \"red\"\n");
        assert_eq!(line, Some(3));
        assert!(message.contains("unknown field `colour`"), "{message}");
        let (line, message) = error("[kernel]\ncmdline = \"\"\n\n[kernal]\n");
        assert_eq!(line, Some(4));
        assert!(message.contains("kernal"), "{message}");
        let (_, message) = error(
            "[[program]]\nname = \"a\"\ncrate = \"a\"\npriority = 1\nhandles = [{ endpoint = \"x\", rights = [\"send\"], colour = 1 }]\n",
        );
        assert!(message.contains("colour"), "{message}");
    }

    #[test]
    fn bad_rights_are_refused() {
        let text = "[[endpoint]]\nname = \"e\"\n[[program]]\nname = \"a\"\ncrate = \"a\"\npriority = 1\nhandles = [{ endpoint = \"e\", rights = [\"send\", \"fly\"] }]\n";
        let (line, message) = error(text);
        assert_eq!(line, Some(7));
        assert!(message.contains("unknown right `fly`"), "{message}");
        let text = "[[endpoint]]\nname = \"e\"\n[[program]]\nname = \"a\"\ncrate = \"a\"\npriority = 1\nhandles = [{ endpoint = \"e\", rights = [] }]\n";
        assert!(error(text).1.contains("at least one right"));
    }

    #[test]
    fn unknown_endpoints_and_programs_are_refused() {
        let text = "[[program]]\nname = \"a\"\ncrate = \"a\"\npriority = 1\n\nhandles = [{ endpoint = \"nope\", rights = [\"send\"] }]\n";
        let (line, message) = error(text);
        assert_eq!(line, Some(6));
        assert!(message.contains("undeclared endpoint `nope`"), "{message}");
        let text = "[[program]]\nname = \"a\"\ncrate = \"a\"\npriority = 1\nspawns = [\"ghost\"]\n";
        let (line, message) = error(text);
        assert_eq!(line, Some(5));
        assert!(message.contains("undeclared program `ghost`"), "{message}");
    }

    #[test]
    fn crate_and_path_are_exclusive_and_one_is_required() {
        let (line, message) = error("[[program]]\nname = \"a\"\ncrate = \"a\"\npath = \"../a\"\npriority = 1\n");
        assert_eq!(line, Some(4));
        assert!(
            message.contains("give one of `crate`, `path` and `elf`, not several"),
            "{message}"
        );
        let (line, message) = error("\n[[program]]\nname = \"a\"\npriority = 1\n");
        assert_eq!(line, Some(3));
        assert!(message.contains("missing `crate`"), "{message}");
    }

    #[test]
    fn bad_names_values_and_duplicates_are_refused() {
        let (line, message) = error("[[endpoint]]\nname = \"Console\"\n");
        assert_eq!(line, Some(2));
        assert!(message.contains("bad endpoint name `Console`"), "{message}");
        let long = "[[program]]\nname = \"abcdefghijklmnopq\"\ncrate = \"a\"\npriority = 1\n";
        assert!(error(long).1.contains("bad program name"));
        assert!(
            error("[[program]]\nname = \"a\"\ncrate = \"a\"\npriority = 8\n")
                .1
                .contains("priority must be 0 to 7")
        );
        assert!(
            error("[[program]]\nname = \"a\"\ncrate = \"a\"\npriority = -1\n")
                .1
                .contains("priority")
        );
        assert!(
            error("[[program]]\nname = \"a\"\ncrate = \"a\"\npriority = 1\nio = [\"disk\"]\n")
                .1
                .contains("unknown io")
        );
        assert!(
            error("[[program]]\nname = \"a\"\ncrate = \"a\"\npriority = 1\nstart = \"later\"\n")
                .1
                .contains("start must be")
        );
        assert!(
            error("[[program]]\nname = \"a\"\ncrate = \"a\"\n")
                .1
                .contains("priority")
        );
        assert!(
            error("[[endpoint]]\nname = \"e\"\n[[endpoint]]\nname = \"e\"\n")
                .1
                .contains("declared twice")
        );
        let (line, message) = error("[kernel]\ncmdline = 3\n");
        assert_eq!(line, Some(2));
        assert!(!message.contains('\n'));
    }

    #[test]
    fn kernel_parser_errors_point_at_the_toml_line() {
        let (line, message) =
            error("[[endpoint]]\nname = \"a\"\nnotices = true\n\n[[endpoint]]\nname = \"b\"\nnotices = true\n");
        assert_eq!(line, Some(6));
        assert!(message.contains("only one endpoint may receive notices"), "{message}");
        let mut text = String::from(
            "[[endpoint]]\nname = \"e\"\n[[program]]\nname = \"a\"\ncrate = \"a\"\npriority = 1\nhandles = [\n",
        );
        for _ in 0..=abi::manifest::MAX_START_HANDLES {
            text.push_str("  { endpoint = \"e\", rights = [\"send\"] },\n");
        }
        text.push_str("]\n");
        let (line, message) = error(&text);
        assert_eq!(line, Some(8 + abi::manifest::MAX_START_HANDLES));
        assert!(
            message.contains("too many handles (at most 8 per program)"),
            "{message}"
        );
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("xtask-manifest-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("broken.toml");
        std::fs::write(&path, "[[endpoint]]\nname = \"ok\"\nbogus = 1\n").unwrap();
        let error = Manifest::from_file(&path).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}:3: unknown field `bogus`, expected `name` or `notices`",
                path.display()
            )
        );
        std::fs::write(
            dir.join("good.toml"),
            "[[program]]\nname = \"p\"\npath = \"crate\"\npriority = 0\n",
        )
        .unwrap();
        let manifest = Manifest::from_file(&dir.join("good.toml")).unwrap();
        assert_eq!(manifest.name, "good");
        assert_eq!(manifest.programs[0].source, Source::Path(dir.join("crate")));
        // Given relative to the current directory (the package's, for unit
        // tests), the crate path comes out absolute all the same.
        let cwd = std::env::current_dir().unwrap();
        let relative = relative_to_cwd(&dir.join("good.toml"));
        assert!(relative.is_relative());
        let manifest = Manifest::from_file(&relative).unwrap();
        assert_eq!(
            manifest.programs[0].source,
            Source::Path(cwd.join(relative.parent().unwrap()).join("crate"))
        );
        let Source::Path(crate_dir) = &manifest.programs[0].source else {
            unreachable!()
        };
        assert!(crate_dir.is_absolute());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            Manifest::load("no-such-manifest")
                .unwrap_err()
                .to_string()
                .contains("no manifest named")
        );
    }

    /// `absolute` as a path relative to the current directory (up to the
    /// root, then down).
    fn relative_to_cwd(absolute: &Path) -> PathBuf {
        let up: PathBuf = std::env::current_dir()
            .unwrap()
            .components()
            .skip(1)
            .map(|_| std::path::Component::ParentDir)
            .collect();
        let relative = up.join(absolute.strip_prefix("/").unwrap());
        assert!(relative.is_relative());
        relative
    }

    #[test]
    fn a_relative_manifest_path_resolves_path_dot_once() {
        // `cargo xtask run --manifest sub/m.toml` of a crate whose manifest
        // sits in the crate (`path = "."`, as `cargo xtask new` writes it):
        // the crate is the manifest's directory, made absolute once, so
        // cargo, run inside it, finds its Cargo.toml (issue 16: a relative
        // path used to be resolved again from the crate's directory).
        let dir = std::env::temp_dir().join(format!("xtask-manifest-dot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"dot\"\n").unwrap();
        std::fs::write(
            dir.join("m.toml"),
            "[[program]]\nname = \"p\"\npath = \".\"\npriority = 0\n",
        )
        .unwrap();
        let relative = relative_to_cwd(&dir.join("m.toml"));
        assert!(relative.is_relative());
        for manifest in [
            Manifest::load(relative.to_str().unwrap()).unwrap(),
            Manifest::from_file(&dir.join("m.toml")).unwrap(),
        ] {
            let Source::Path(crate_dir) = &manifest.programs[0].source else {
                panic!("{:?}", manifest.programs[0].source)
            };
            assert!(crate_dir.is_absolute(), "{}", crate_dir.display());
            assert_eq!(
                std::fs::canonicalize(crate_dir).unwrap(),
                std::fs::canonicalize(&dir).unwrap()
            );
            // From inside the crate (where cargo runs), its Cargo.toml.
            assert!(crate_dir.join("Cargo.toml").is_file(), "{}", crate_dir.display());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
