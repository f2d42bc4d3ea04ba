//! The boot manifest: which programs the kernel starts, and with what.
//!
//! `cargo xtask build` turns a user's TOML manifest (see `manifests/`) into
//! this line format and packs it into the initrd as the file [`FILE_NAME`];
//! the kernel parses it at boot with [`Manifest::parse`]. The same parser
//! checks the generated text on the host, so a manifest the kernel would
//! refuse never reaches an image.
//!
//! ```text
//! manifest 1
//! endpoint console notices          # exit and fault notices go here
//! program console file=bin/console priority=6 io=serial
//! # cpu_limit=N: killed after N timer ticks of CPU time (default: no limit)
//! # memory=N: at most N pages of memory (default: abi::memory::DEFAULT_MEMORY_PAGES)
//! # irqs=4,3: interrupt lines granted (handles after the `handle` lines)
//! # cpus=0,1: the CPUs its threads may run on (default: any)
//! handle console rights=recv
//! program hello file=bin/hello priority=2
//! handle console rights=send badge=1
//! ```
//!
//! `handle` lines belong to the `program` above them; the first becomes
//! handle 0 of that program, the next handle 1, and so on. An `args` line
//! gives the program above it its arguments: the rest of the line (at most
//! [`MAX_ARGS`] bytes, no `#`), which the program reads with
//! `libsys::args()`. Everything the
//! kernel is told is bounded by the capacities below, and the parser refuses
//! (never panics on) anything else.

use crate::handle::Rights;
use core::fmt;
use heapless::Vec;

/// Name of the manifest inside the initrd.
pub const FILE_NAME: &str = "manifest";
/// Format version on the first line.
pub const VERSION: u32 = 1;
/// Longest program or endpoint name, in bytes (two message words).
pub const MAX_NAME: usize = 16;
/// Endpoints a manifest may declare.
pub const MAX_ENDPOINTS: usize = 16;
/// Programs a manifest may declare.
pub const MAX_PROGRAMS: usize = 32;
/// Handles one program may start with.
pub const MAX_START_HANDLES: usize = 8;
/// Programs one program may be allowed to spawn.
pub const MAX_SPAWNS: usize = 8;
/// Longest argument string of a program, in bytes.
pub const MAX_ARGS: usize = 128;
/// CPUs a manifest may name in `cpus` (0 to `MAX_CPUS - 1`).
pub const MAX_CPUS: u32 = 8;
/// Interrupt lines (GSIs of the first I/O APIC) a manifest may grant:
/// 1 to `IRQ_LINES - 1` (line 0 is the PIT, which the kernel keeps).
pub const IRQ_LINES: u32 = 24;
/// Priorities run from 0 (lowest) to `PRIORITIES - 1` (highest).
pub const PRIORITIES: u8 = 8;

/// An endpoint the kernel creates at boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EndpointDecl<'a> {
    /// Its name, unique among the endpoints.
    pub name: &'a str,
    /// The kernel sends exit and fault notices to this endpoint.
    pub notices: bool,
}

/// A handle a program starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandleDecl {
    /// Index into [`Manifest::endpoints`].
    pub endpoint: usize,
    /// What the handle allows.
    pub rights: Rights,
    /// The badge receivers see on messages sent through it.
    pub badge: u64,
}

/// When a program starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// At boot.
    Boot,
    /// Only when a program allowed to do so spawns it.
    Spawn,
}

impl Start {
    /// `boot` or `spawn`, as manifests write it.
    pub const fn name(self) -> &'static str {
        match self {
            Start::Boot => "boot",
            Start::Spawn => "spawn",
        }
    }
}

/// `boot` or `spawn`.
impl fmt::Display for Start {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// A program and the resources it starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramDecl<'a> {
    /// Its name, unique among the programs (the process name).
    pub name: &'a str,
    /// Path of its ELF file inside the initrd.
    pub file: &'a str,
    /// Its scheduling priority, 0 to `PRIORITIES - 1`.
    pub priority: u8,
    /// May use the serial port's I/O ports.
    pub io_serial: bool,
    /// When it starts.
    pub start: Start,
    /// Timer ticks of CPU time before the kernel kills it; `None`: no limit.
    pub cpu_limit: Option<u32>,
    /// Pages of memory it may use (image, stack, mappings, memory objects);
    /// `None`: `abi::memory::DEFAULT_MEMORY_PAGES`.
    pub memory_pages: Option<u32>,
    /// Its argument string (`libsys::args()`), empty if none.
    pub args: &'a str,
    /// The interrupt lines it is granted, one bit per line. It starts with
    /// a handle (WAIT and TRANSFER) to each, after its endpoint handles, in
    /// line order.
    pub irqs: u32,
    /// The CPUs its threads may run on, one bit each; 0: any.
    pub cpus: u8,
    /// The endpoint handles it starts with, in order: handle `i` is
    /// `handles[i]`.
    pub handles: Vec<HandleDecl, MAX_START_HANDLES>,
    /// Indices into [`Manifest::programs`] this program may spawn.
    pub spawns: Vec<usize, MAX_SPAWNS>,
}

/// A parsed and cross-checked manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest<'a> {
    /// The endpoints, in the order declared.
    pub endpoints: Vec<EndpointDecl<'a>, MAX_ENDPOINTS>,
    /// The programs, in the order declared.
    pub programs: Vec<ProgramDecl<'a>, MAX_PROGRAMS>,
}

/// Why a manifest was refused, with the 1-based line it was found on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ManifestError {
    /// The 1-based line.
    pub line: usize,
    /// What is wrong with it.
    pub kind: ManifestErrorKind,
}

/// What is wrong with a manifest line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestErrorKind {
    /// The manifest is not UTF-8.
    NotUtf8,
    /// The first line is not `manifest VERSION`.
    MissingHeader,
    /// The manifest has a version this kernel does not read.
    UnsupportedVersion,
    /// A line starts with a word that is not `endpoint`, `program` or `handle`.
    UnknownDirective,
    /// A `key=value` with a key the directive does not have.
    UnknownKey,
    /// The directive lacks this key.
    MissingKey(&'static str),
    /// This key's value is not valid.
    BadValue(&'static str),
    /// A name has characters other than a-z, 0-9, - and _, or is too long.
    BadName,
    /// Two endpoints or two programs have the same name.
    DuplicateName,
    /// A handle names an endpoint that is not declared.
    UnknownEndpoint,
    /// `spawns` names a program that is not declared.
    UnknownProgram,
    /// A `handle` or `args` line before any `program`.
    HandleOutsideProgram,
    /// More of these than the kernel's tables hold.
    TooMany(&'static str),
    /// More than one endpoint has `notices`.
    SeveralNoticeEndpoints,
    /// Two programs are granted the same interrupt line.
    IrqGrantedTwice,
}

/// `manifest line 3: unknown key`.
impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "manifest line {}: {}", self.line, self.kind)
    }
}

/// What is wrong, without the line: `unknown key`.
impl fmt::Display for ManifestErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ManifestErrorKind::*;
        match *self {
            NotUtf8 => f.write_str("not UTF-8"),
            MissingHeader => f.write_str("first line must be `manifest 1`"),
            UnsupportedVersion => write!(f, "unsupported manifest version (this kernel reads {VERSION})"),
            UnknownDirective => f.write_str("unknown directive (expected endpoint, program or handle)"),
            UnknownKey => f.write_str("unknown key"),
            MissingKey(key) => write!(f, "missing `{key}=`"),
            BadValue(key) => write!(f, "bad value for `{key}`"),
            BadName => write!(f, "names are 1 to {MAX_NAME} characters of a-z, 0-9, - and _"),
            DuplicateName => f.write_str("name declared twice"),
            UnknownEndpoint => f.write_str("handle names an undeclared endpoint"),
            UnknownProgram => f.write_str("spawns names an undeclared program"),
            HandleOutsideProgram => f.write_str("handle or args before any program"),
            TooMany(what) => write!(f, "too many {what}"),
            SeveralNoticeEndpoints => f.write_str("only one endpoint may receive notices"),
            IrqGrantedTwice => f.write_str("an interrupt line is granted to two programs"),
        }
    }
}

impl<'a> Manifest<'a> {
    /// Parses and cross-checks a manifest.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ManifestError> {
        let mut manifest = Manifest::default();
        manifest.parse_into(bytes)?;
        Ok(manifest)
    }

    /// Parses into `self` (which must be empty), building every entry in
    /// place: the kernel runs this on a small stack.
    pub fn parse_into(&mut self, bytes: &'a [u8]) -> Result<(), ManifestError> {
        let text = core::str::from_utf8(bytes).map_err(|_| ManifestError {
            line: 1,
            kind: ManifestErrorKind::NotUtf8,
        })?;
        let mut saw_header = false;
        for (line_number, line) in lines(text) {
            if !saw_header {
                check_header(line_number, line)?;
                saw_header = true;
                continue;
            }
            self.parse_line(line_number, line)?;
        }
        if !saw_header {
            return Err(ManifestError {
                line: 1,
                kind: ManifestErrorKind::MissingHeader,
            });
        }
        // Spawn lists may name programs declared further down: resolve them
        // in a second pass, once every program is known.
        let mut program = 0;
        for (line_number, line) in lines(text).skip(1) {
            let mut words = line.split_ascii_whitespace();
            if words.next() != Some("program") {
                continue;
            }
            for word in words {
                if let Some(list) = word.strip_prefix("spawns=") {
                    for target in list.split(',') {
                        let fail = |kind| ManifestError {
                            line: line_number,
                            kind,
                        };
                        let target = self.program(target).ok_or(fail(ManifestErrorKind::UnknownProgram))?;
                        self.programs[program]
                            .spawns
                            .push(target)
                            .map_err(|_| fail(ManifestErrorKind::TooMany("spawns")))?;
                    }
                }
            }
            program += 1;
        }
        Ok(())
    }

    fn parse_line(&mut self, line_number: usize, line: &'a str) -> Result<(), ManifestError> {
        let fail = |kind| ManifestError {
            line: line_number,
            kind,
        };
        let mut words = line.split_ascii_whitespace();
        match words.next().unwrap_or("") {
            "endpoint" => {
                let name = check_name(words.next().unwrap_or("")).map_err(fail)?;
                if self.endpoints.iter().any(|e| e.name == name) {
                    return Err(fail(ManifestErrorKind::DuplicateName));
                }
                let mut notices = false;
                for word in words {
                    match word {
                        "notices" => notices = true,
                        _ => return Err(fail(ManifestErrorKind::UnknownKey)),
                    }
                }
                if notices && self.endpoints.iter().any(|e| e.notices) {
                    return Err(fail(ManifestErrorKind::SeveralNoticeEndpoints));
                }
                self.endpoints
                    .push(EndpointDecl { name, notices })
                    .map_err(|_| fail(ManifestErrorKind::TooMany("endpoints")))?;
            }
            "program" => {
                let name = check_name(words.next().unwrap_or("")).map_err(fail)?;
                if self.programs.iter().any(|p| p.name == name) {
                    return Err(fail(ManifestErrorKind::DuplicateName));
                }
                let empty = ProgramDecl {
                    name,
                    file: "",
                    priority: PRIORITIES,
                    io_serial: false,
                    start: Start::Boot,
                    cpu_limit: None,
                    memory_pages: None,
                    args: "",
                    irqs: 0,
                    cpus: 0,
                    handles: Vec::new(),
                    spawns: Vec::new(),
                };
                self.programs
                    .push(empty)
                    .map_err(|_| fail(ManifestErrorKind::TooMany("programs")))?;
                let program = self.programs.last_mut().expect("just pushed");
                for word in words {
                    let (key, value) = word.split_once('=').unwrap_or((word, ""));
                    match key {
                        "file" if !value.is_empty() => program.file = value,
                        "file" => return Err(fail(ManifestErrorKind::BadValue("file"))),
                        "priority" => {
                            program.priority = value
                                .parse::<u8>()
                                .ok()
                                .filter(|p| *p < PRIORITIES)
                                .ok_or(fail(ManifestErrorKind::BadValue("priority")))?;
                        }
                        "io" if value == "serial" => program.io_serial = true,
                        "cpu_limit" => {
                            let ticks = value.parse::<u32>().ok().filter(|t| *t > 0);
                            program.cpu_limit = Some(ticks.ok_or(fail(ManifestErrorKind::BadValue("cpu_limit")))?);
                        }
                        "memory" => {
                            let pages = value.parse::<u32>().ok().filter(|p| *p > 0);
                            program.memory_pages = Some(pages.ok_or(fail(ManifestErrorKind::BadValue("memory")))?);
                        }
                        "io" => return Err(fail(ManifestErrorKind::BadValue("io"))),
                        "cpus" => {
                            for cpu in value.split(',') {
                                let cpu = cpu
                                    .parse::<u32>()
                                    .ok()
                                    .filter(|c| *c < MAX_CPUS && program.cpus & 1 << c == 0)
                                    .ok_or(fail(ManifestErrorKind::BadValue("cpus")))?;
                                program.cpus |= 1 << cpu;
                            }
                        }
                        "irqs" => {
                            for line in value.split(',') {
                                let line = line
                                    .parse::<u32>()
                                    .ok()
                                    .filter(|l| (1..IRQ_LINES).contains(l) && program.irqs & 1 << l == 0)
                                    .ok_or(fail(ManifestErrorKind::BadValue("irqs")))?;
                                program.irqs |= 1 << line;
                            }
                        }
                        "start" => {
                            program.start = match value {
                                "boot" => Start::Boot,
                                "spawn" => Start::Spawn,
                                _ => return Err(fail(ManifestErrorKind::BadValue("start"))),
                            }
                        }
                        // Names are checked here, resolved in the second pass.
                        "spawns" => {
                            for target in value.split(',') {
                                check_name(target).map_err(fail)?;
                            }
                        }
                        _ => return Err(fail(ManifestErrorKind::UnknownKey)),
                    }
                }
                if program.file.is_empty() {
                    return Err(fail(ManifestErrorKind::MissingKey("file")));
                }
                if program.priority == PRIORITIES {
                    return Err(fail(ManifestErrorKind::MissingKey("priority")));
                }
                let irqs = program.irqs;
                if irqs.count_ones() as usize > MAX_START_HANDLES {
                    return Err(fail(ManifestErrorKind::TooMany("handles")));
                }
                let others = &self.programs[..self.programs.len() - 1];
                if others.iter().any(|p| p.irqs & irqs != 0) {
                    return Err(fail(ManifestErrorKind::IrqGrantedTwice));
                }
            }
            "args" => {
                let args = line["args".len()..].trim();
                if args.len() > MAX_ARGS {
                    return Err(fail(ManifestErrorKind::BadValue("args")));
                }
                let program = self
                    .programs
                    .last_mut()
                    .ok_or(fail(ManifestErrorKind::HandleOutsideProgram))?;
                program.args = args;
            }
            "handle" => {
                let endpoint_name = words.next().unwrap_or("");
                let endpoint = self
                    .endpoints
                    .iter()
                    .position(|e| e.name == endpoint_name)
                    .ok_or(fail(ManifestErrorKind::UnknownEndpoint))?;
                let mut rights = None;
                let mut badge = 0;
                for word in words {
                    let (key, value) = word.split_once('=').unwrap_or((word, ""));
                    match key {
                        "rights" => {
                            rights = Some(Rights::parse_list(value).ok_or(fail(ManifestErrorKind::BadValue("rights")))?)
                        }
                        "badge" => badge = parse_u64(value).ok_or(fail(ManifestErrorKind::BadValue("badge")))?,
                        _ => return Err(fail(ManifestErrorKind::UnknownKey)),
                    }
                }
                let rights = rights.ok_or(fail(ManifestErrorKind::MissingKey("rights")))?;
                let program = self
                    .programs
                    .last_mut()
                    .ok_or(fail(ManifestErrorKind::HandleOutsideProgram))?;
                if program.handles.len() + program.irqs.count_ones() as usize >= MAX_START_HANDLES {
                    return Err(fail(ManifestErrorKind::TooMany("handles")));
                }
                program
                    .handles
                    .push(HandleDecl {
                        endpoint,
                        rights,
                        badge,
                    })
                    .map_err(|_| fail(ManifestErrorKind::TooMany("handles")))?;
            }
            _ => return Err(fail(ManifestErrorKind::UnknownDirective)),
        }
        Ok(())
    }

    /// The endpoint that receives exit and fault notices, if any.
    pub fn notice_endpoint(&self) -> Option<usize> {
        self.endpoints.iter().position(|e| e.notices)
    }

    /// Finds a program by name.
    pub fn program(&self, name: &str) -> Option<usize> {
        self.programs.iter().position(|p| p.name == name)
    }
}

/// The non-empty lines with comments removed, numbered from 1.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, raw)| (index + 1, raw.split('#').next().unwrap_or("").trim()))
        .filter(|(_, line)| !line.is_empty())
}

fn check_header(line_number: usize, line: &str) -> Result<(), ManifestError> {
    let fail = |kind| ManifestError {
        line: line_number,
        kind,
    };
    let mut words = line.split_ascii_whitespace();
    if words.next() != Some("manifest") {
        return Err(fail(ManifestErrorKind::MissingHeader));
    }
    let version = words.next().and_then(|v| v.parse::<u32>().ok());
    if version != Some(VERSION) || words.next().is_some() {
        return Err(fail(ManifestErrorKind::UnsupportedVersion));
    }
    Ok(())
}

/// Accepts names of 1 to [`MAX_NAME`] bytes of `a-z0-9-_`.
pub fn check_name(name: &str) -> Result<&str, ManifestErrorKind> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if valid {
        Ok(name)
    } else {
        Err(ManifestErrorKind::BadName)
    }
}

fn parse_u64(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
manifest 1
# comment
endpoint console notices
endpoint echo
program console file=bin/console priority=6 io=serial irqs=4,3
handle console rights=recv
program hello file=bin/hello priority=2 spawns=child
handle console rights=send badge=0x10   # trailing comment
handle echo rights=send,transfer badge=7
program child file=bin/child priority=1 start=spawn cpu_limit=300
args seed=7  calls=1000
";

    #[test]
    fn parses_a_full_manifest() {
        let m = Manifest::parse(GOOD.as_bytes()).unwrap();
        assert_eq!(m.endpoints.len(), 2);
        assert_eq!(m.notice_endpoint(), Some(0));
        assert_eq!(m.programs.len(), 3);
        let console = &m.programs[0];
        assert!(console.io_serial);
        assert_eq!(console.priority, 6);
        assert_eq!(console.irqs, 1 << 4 | 1 << 3);
        assert_eq!(console.cpus, 0);
        assert_eq!(m.programs[1].irqs, 0);
        assert_eq!(
            console.handles[0],
            HandleDecl {
                endpoint: 0,
                rights: Rights::RECEIVE,
                badge: 0
            }
        );
        let hello = &m.programs[1];
        assert_eq!(hello.handles[0].badge, 0x10);
        assert_eq!(hello.handles[1].rights, Rights::SEND | Rights::TRANSFER);
        assert_eq!(hello.spawns.as_slice(), &[2]);
        assert_eq!(m.programs[2].start, Start::Spawn);
        assert_eq!(m.programs[2].cpu_limit, Some(300));
        assert_eq!(m.programs[2].args, "seed=7  calls=1000");
        assert_eq!(m.programs[1].args, "");
        assert_eq!(m.programs[0].cpu_limit, None);
        assert_eq!(m.program("child"), Some(2));
    }

    fn error(text: &str) -> ManifestError {
        Manifest::parse(text.as_bytes()).unwrap_err()
    }

    #[test]
    fn refuses_bad_manifests_with_a_line_number() {
        use ManifestErrorKind::*;
        assert_eq!(error("").kind, MissingHeader);
        assert_eq!(error("manifest 2\n").kind, UnsupportedVersion);
        assert_eq!(
            error("manifest 1\nfrobnicate\n"),
            ManifestError {
                line: 2,
                kind: UnknownDirective
            }
        );
        assert_eq!(error("manifest 1\nprogram a priority=1\n").kind, MissingKey("file"));
        assert_eq!(
            error("manifest 1\nprogram a file=x priority=8\n").kind,
            BadValue("priority")
        );
        assert_eq!(
            error("manifest 1\nprogram a file=x priority=1 cpu_limit=0\n").kind,
            BadValue("cpu_limit")
        );
        assert_eq!(error("manifest 1\nprogram A file=x priority=1\n").kind, BadName);
        assert_eq!(
            error("manifest 1\nprogram aaaaaaaaaaaaaaaaa file=x priority=1\n").kind,
            BadName
        );
        assert_eq!(error("manifest 1\nhandle e rights=send\n").kind, UnknownEndpoint);
        assert_eq!(
            error("manifest 1\nendpoint e\nhandle e rights=send\n").kind,
            HandleOutsideProgram
        );
        assert_eq!(error("manifest 1\nargs x\n").kind, HandleOutsideProgram);
        let long = std::format!(
            "manifest 1\nprogram a file=x priority=1\nargs {}\n",
            "x".repeat(MAX_ARGS + 1)
        );
        assert_eq!(error(&long).kind, BadValue("args"));
        assert_eq!(
            error("manifest 1\nendpoint e\nprogram a file=x priority=1\nhandle e rights=fly\n").kind,
            BadValue("rights")
        );
        assert_eq!(error("manifest 1\nendpoint e\nendpoint e\n").kind, DuplicateName);
        assert_eq!(
            error("manifest 1\nendpoint a notices\nendpoint b notices\n").kind,
            SeveralNoticeEndpoints
        );
        assert_eq!(
            error("manifest 1\nprogram a file=x priority=1 spawns=b\n").kind,
            UnknownProgram
        );
        for bad in ["8", "1,1", "x", ""] {
            assert_eq!(
                error(&std::format!("manifest 1\nprogram a file=x priority=1 cpus={bad}\n")).kind,
                BadValue("cpus"),
                "cpus={bad}"
            );
        }
        let m = Manifest::parse(b"manifest 1\nprogram a file=x priority=1 cpus=1,3\n").unwrap();
        assert_eq!(m.programs[0].cpus, 0b1010);
        for bad in ["0", "24", "4,4", "x", ""] {
            assert_eq!(
                error(&std::format!("manifest 1\nprogram a file=x priority=1 irqs={bad}\n")).kind,
                BadValue("irqs"),
                "irqs={bad}"
            );
        }
        assert_eq!(
            error("manifest 1\nprogram a file=x priority=1 irqs=4\nprogram b file=x priority=1 irqs=3,4\n").kind,
            IrqGrantedTwice
        );
        assert_eq!(error("manifest 1\n\u{0}\u{ff}").kind, UnknownDirective);
        assert_eq!(Manifest::parse(&[b'm', 0xff]).unwrap_err().kind, NotUtf8);
    }

    #[test]
    fn capacities_are_errors_not_panics() {
        let mut text = std::string::String::from("manifest 1\nendpoint e\nprogram a file=x priority=1\n");
        for _ in 0..=MAX_START_HANDLES {
            text.push_str("handle e rights=send\n");
        }
        assert_eq!(error(&text).kind, ManifestErrorKind::TooMany("handles"));
        let mut text = std::string::String::from("manifest 1\nendpoint e\nprogram a file=x priority=1 irqs=1,2\n");
        for _ in 0..MAX_START_HANDLES - 2 {
            text.push_str("handle e rights=send\n");
        }
        Manifest::parse(text.as_bytes()).unwrap();
        text.push_str("handle e rights=send\n");
        assert_eq!(error(&text).kind, ManifestErrorKind::TooMany("handles"));
    }
}
