//! How programs ended, read back from a run's serial output, and what
//! `cargo xtask run --strict` makes of it.
//!
//! The kernel reports every program's end as an `abi::console::Notice`
//! (exit, fault, CPU limit); the console server prints it as
//! `[console] ` followed by the notice's `Display`, and when no one
//! receives notices any more the kernel logs it itself
//! (`[kernel] INFO  ` + the same text). [`parse_line`] reads that text back
//! with the abi's own vocabulary (its fault vector names, the page-fault
//! access and cause words); a test formats notices with the abi and parses
//! them, so the two cannot drift apart. The system tests judge how programs
//! ended by these values, not by the wording.
//!
//! [`unexpected`] compares the endings with each program's `expect` in the
//! manifest (`docs/manifest.md`).

use crate::manifest::{Expect, Manifest};
use abi::fault::PageFaultCode;
use std::fmt;

/// How a program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// It called `exit` with this status (a panic in libsys exits with 101).
    Exited(i64),
    /// The kernel killed it for a CPU exception.
    Faulted { vector: u8, rip: u64, detail: FaultDetail },
    /// The kernel killed it when its `cpu_limit` was used up.
    OverLimit { ticks: u64, rip: u64 },
    /// Another process ended it (`process_kill`): the killer's pid.
    KilledBy { by: u64, rip: u64 },
}

/// What a fault report says besides the vector and the instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultDetail {
    /// Nothing (the CPU pushed no error code, or 0).
    None,
    /// `(error code 0x102)`.
    ErrorCode(u64),
    /// A page fault: `(write of 0x1000, protection violation)`.
    Page(PageFault),
}

/// What a page fault report says: the access, its cause and the address
/// (CR2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageFault {
    pub access: Access,
    pub cause: Cause,
    pub address: u64,
}

/// The access of a page fault, named as `abi::fault::PageFaultCode::access`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Execute,
}

/// The cause of a page fault, named as `abi::fault::PageFaultCode::cause`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    NotPresent,
    ProtectionViolation,
    ReservedBit,
}

impl Access {
    const ALL: [Access; 3] = [Access::Read, Access::Write, Access::Execute];

    /// An error code with this access.
    const fn code(self) -> u64 {
        match self {
            Access::Read => 0,
            Access::Write => 1 << 1,
            Access::Execute => 1 << 4,
        }
    }

    /// The abi's word for it (`write`).
    pub fn name(self) -> &'static str {
        PageFaultCode::decode(self.code()).access()
    }
}

impl Cause {
    const ALL: [Cause; 3] = [Cause::NotPresent, Cause::ProtectionViolation, Cause::ReservedBit];

    /// An error code with this cause.
    const fn code(self) -> u64 {
        match self {
            Cause::NotPresent => 0,
            Cause::ProtectionViolation => 1,
            Cause::ReservedBit => 1 << 3,
        }
    }

    /// The abi's words for it (`protection violation`).
    pub fn name(self) -> &'static str {
        PageFaultCode::decode(self.code()).cause()
    }
}

/// Who printed a program's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reporter {
    /// The console server (`[console] ...`).
    Console,
    /// The kernel, when no one received notices (`[kernel] INFO  ...`).
    Kernel,
}

/// One program's end, as reported on the serial port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ended {
    pub name: String,
    pub pid: u64,
    pub how: Ending,
    pub by: Reporter,
    /// The report, as printed (the notice's text).
    pub text: String,
}

/// The vector whose `abi::fault::vector_name` is `name`.
fn vector_named(name: &str) -> Option<u8> {
    (0..=u8::MAX).find(|&vector| abi::fault::vector_name(vector) == name)
}

/// `0x20154a`, all of it.
fn hex(text: &str) -> Option<u64> {
    let digits = text.strip_prefix("0x")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(digits, 16).ok()
}

/// Reads what follows a fault's address: nothing, `(error code 0x..)`, or
/// for a page fault `(ACCESS of 0x.., CAUSE)`.
fn fault_detail(vector: u8, rest: &str) -> Option<FaultDetail> {
    let rest = rest.trim();
    if rest.is_empty() {
        return Some(FaultDetail::None);
    }
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    if let Some(code) = inner.strip_prefix("error code ") {
        return Some(FaultDetail::ErrorCode(hex(code)?));
    }
    if vector != 14 {
        return None;
    }
    let (access, rest) = inner.split_once(" of ")?;
    let (address, cause) = rest.split_once(", ")?;
    Some(FaultDetail::Page(PageFault {
        access: Access::ALL.into_iter().find(|a| a.name() == access)?,
        cause: Cause::ALL.into_iter().find(|c| c.name() == cause)?,
        address: hex(address)?,
    }))
}

/// Reads a notice's text: `hello[3] exited with status 0`,
/// `faulty[7] killed: page fault at 0x20154a (...)`,
/// `hog[8] killed: CPU time limit of 50 ticks used up at 0x201000` or
/// `spin[9] killed by process 2 at 0x201004`.
/// The reporter is [`Reporter::Console`]; [`parse_line`] tells.
pub fn parse_notice(text: &str) -> Option<Ended> {
    let (who, what) = text.split_once("] ")?;
    let (name, pid) = who.rsplit_once('[')?;
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let pid = pid.parse().ok()?;
    let how = if let Some(status) = what.strip_prefix("exited with status ") {
        Ending::Exited(status.trim().parse().ok()?)
    } else if let Some(rest) = what.strip_prefix("killed by process ") {
        let (by, rip) = rest.split_once(" at 0x")?;
        Ending::KilledBy {
            by: by.parse().ok()?,
            rip: u64::from_str_radix(rip.trim(), 16).ok()?,
        }
    } else {
        let killed = what.strip_prefix("killed: ")?;
        let (cause, at) = killed.split_once(" at 0x")?;
        let digits = at.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(at.len());
        let rip = u64::from_str_radix(&at[..digits], 16).ok()?;
        let rest = &at[digits..];
        match cause
            .strip_prefix("CPU time limit of ")
            .and_then(|rest| rest.strip_suffix(" ticks used up"))
        {
            Some(ticks) if rest.trim().is_empty() => Ending::OverLimit {
                ticks: ticks.parse().ok()?,
                rip,
            },
            Some(_) => return None,
            None => {
                let vector = vector_named(cause)?;
                Ending::Faulted {
                    vector,
                    rip,
                    detail: fault_detail(vector, rest)?,
                }
            }
        }
    };
    Some(Ended {
        name: name.to_string(),
        pid,
        how,
        by: Reporter::Console,
        text: text.trim_end().to_string(),
    })
}

/// The program end a serial line reports, if it reports one: from the
/// console server (`[console] ...`) or from the kernel (`[kernel] INFO  ...`).
/// Only a line that starts with the marker is a report: the console shows
/// program text after a `name[pid]: ` prefix and never shows a marker in it,
/// so no program can make such a line.
pub fn parse_line(line: &str) -> Option<Ended> {
    if let Some(notice) = line.strip_prefix("[console] ") {
        return parse_notice(notice);
    }
    let rest = line.strip_prefix("[kernel] INFO ")?;
    let ended = parse_notice(rest.trim_start())?;
    Some(Ended {
        by: Reporter::Kernel,
        ..ended
    })
}

/// Every program end reported in `serial`, in order.
pub fn find(serial: &str) -> Vec<Ended> {
    serial.lines().filter_map(parse_line).collect()
}

/// Every program end reported in `serial`, with the index of its line
/// (from 0): for the order of events.
pub fn find_with_lines(serial: &str) -> Vec<(usize, Ended)> {
    serial
        .lines()
        .enumerate()
        .filter_map(|(index, line)| Some((index, parse_line(line)?)))
        .collect()
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Exit(status) => write!(f, "an exit with status {status}"),
            Expect::Fault => f.write_str("a fault"),
            Expect::CpuLimit => f.write_str("a kill at its cpu_limit"),
            Expect::Any => f.write_str("any end"),
        }
    }
}

/// Whether `how` is what `expect` allows.
pub fn allows(expect: Expect, how: Ending) -> bool {
    match (expect, how) {
        (Expect::Any, _) => true,
        (Expect::Exit(wanted), Ending::Exited(status)) => wanted == status,
        (Expect::Fault, Ending::Faulted { .. }) => true,
        (Expect::CpuLimit, Ending::OverLimit { .. }) => true,
        _ => false,
    }
}

/// What `--strict` refuses in a run of `manifest`: every program that ended
/// other than its `expect` says (an exit with status 0 unless it says
/// otherwise), and every program with an explicit `expect` (other than
/// "any") that never ended. Empty when the run is as expected. Programs
/// that never end without an `expect` (servers waiting for work) are fine.
pub fn unexpected(manifest: &Manifest, serial: &str) -> Vec<String> {
    let endings = find(serial);
    let mut problems = Vec::new();
    for ended in &endings {
        let program = manifest.programs.iter().find(|p| p.name == ended.name);
        let expect = program.and_then(|p| p.expect).unwrap_or_default();
        if !allows(expect, ended.how) {
            problems.push(format!("{}, but its manifest entry expects {expect}", ended.text));
        }
    }
    for program in &manifest.programs {
        if let Some(expect) = program.expect
            && expect != Expect::Any
            && !endings.iter().any(|ended| ended.name == program.name)
        {
            problems.push(format!(
                "{} never ended, but its manifest entry expects {expect}",
                program.name
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi::console::{EXIT, FAULT, LIMIT, Notice};

    /// The text the console prints for a notice, as the abi formats it.
    fn printed(label: u32, words: [u64; 6]) -> String {
        Notice::decode(label, &words).unwrap().to_string()
    }

    #[test]
    fn notices_formatted_by_the_abi_are_read_back() {
        let cases = [
            (
                printed(EXIT, Notice::exit_words(3, "hello", 0)),
                "hello",
                3,
                Ending::Exited(0),
            ),
            (
                printed(EXIT, Notice::exit_words(4, "oops", -1)),
                "oops",
                4,
                Ending::Exited(-1),
            ),
            (
                printed(
                    FAULT,
                    Notice::fault_words(5, "kread", 14, 0b101, 0x40_1020, 0xffff_8000_0000_0000),
                ),
                "kread",
                5,
                Ending::Faulted {
                    vector: 14,
                    rip: 0x40_1020,
                    detail: FaultDetail::Page(PageFault {
                        access: Access::Read,
                        cause: Cause::ProtectionViolation,
                        address: 0xffff_8000_0000_0000,
                    }),
                },
            ),
            (
                printed(FAULT, Notice::fault_words(6, "gp", 13, 0x18, 0x40_1000, 0)),
                "gp",
                6,
                Ending::Faulted {
                    vector: 13,
                    rip: 0x40_1000,
                    detail: FaultDetail::ErrorCode(0x18),
                },
            ),
            (
                printed(FAULT, Notice::fault_words(8, "ud", 6, 0, 0x40_2000, 0)),
                "ud",
                8,
                Ending::Faulted {
                    vector: 6,
                    rip: 0x40_2000,
                    detail: FaultDetail::None,
                },
            ),
            (
                printed(LIMIT, Notice::limit_words(7, "hog", 50, 0x20_1000)),
                "hog",
                7,
                Ending::OverLimit {
                    ticks: 50,
                    rip: 0x20_1000,
                },
            ),
        ];
        for (text, name, pid, how) in cases {
            let ended = parse_line(&format!("[console] {text}")).unwrap_or_else(|| panic!("{text}"));
            assert_eq!((ended.name.as_str(), ended.pid, ended.how), (name, pid, how), "{text}");
            assert_eq!((ended.text.as_str(), ended.by), (text.as_str(), Reporter::Console));
            let logged = parse_line(&format!("[kernel] INFO  {text}")).unwrap();
            assert_eq!((logged.how, logged.by), (how, Reporter::Kernel));
        }
        // Every page fault's access, cause and address are read back.
        for code in 0..32 {
            let words = Notice::fault_words(2, "pf", 14, code, 0x1000, 0x7fff_ffff_e000 + code);
            let text = printed(FAULT, words);
            let Some(Ending::Faulted {
                detail: FaultDetail::Page(fault),
                ..
            }) = parse_notice(&text).map(|e| e.how)
            else {
                panic!("{text}");
            };
            let expected = PageFaultCode::decode(code);
            assert_eq!(
                (fault.access.name(), fault.cause.name(), fault.address),
                (expected.access(), expected.cause(), 0x7fff_ffff_e000 + code),
                "{text}"
            );
        }
        // Every vector is read back (as one of the same name: the abi calls
        // several "reserved exception").
        for vector in 0..32u8 {
            let text = printed(FAULT, Notice::fault_words(2, "v", vector, 0, 0x1000, 0));
            let Some(Ending::Faulted { vector: read, rip, .. }) = parse_notice(&text).map(|e| e.how) else {
                panic!("{text}");
            };
            assert_eq!(rip, 0x1000);
            assert_eq!(abi::fault::vector_name(read), abi::fault::vector_name(vector), "{text}");
        }
    }

    #[test]
    fn other_lines_are_not_endings() {
        for line in [
            "hello[3]: Hello from ring 3!",
            "[console] hello[3]: exited with status 0",
            "[kernel] INFO  boot: started 8 programs",
            "[kernel] ERROR unexpected page fault (vector 14) in kernel mode",
            "[console] x[y] exited with status 0",
            "[console] hog[8] killed: warp drive failure at 0x1",
            "[console] pf[8] killed: page fault at 0x1 (fetch of 0x2, not present)",
            "[console] pf[8] killed: page fault at 0x1 (read of 0x2, gone)",
            "[console] gp[8] killed: general protection fault at 0x1 (error code x)",
            // Markers that do not start the line: program text.
            "forger[4]: [console] hello[3] exited with status 0",
            "forger[4]: \\x0d[console] hog[8] killed: CPU time limit of 50 ticks used up at 0x201000",
            " [console] hello[3] exited with status 0",
            "x[kernel] INFO  hello[3] exited with status 0",
        ] {
            assert_eq!(parse_line(line), None, "{line}");
        }
    }

    fn manifest(programs: &str) -> Manifest {
        Manifest::from_toml_str(programs, std::path::Path::new("/")).unwrap()
    }

    const SERIAL: &str = "\
[console] hello[3] exited with status 0
[console] faulty[7] killed: page fault at 0x20177a (read of 0x0, not present)
[console] hog[8] killed: CPU time limit of 50 ticks used up at 0x201000
[console] sad[9] exited with status 1
";

    fn program(name: &str, extra: &str) -> String {
        format!("[[program]]\nname = \"{name}\"\ncrate = \"demo\"\npriority = 1\n{extra}\n")
    }

    #[test]
    fn strict_wants_what_the_manifest_expects() {
        let lax = manifest(
            &[
                program("hello", ""),
                program("faulty", ""),
                program("hog", ""),
                program("sad", ""),
            ]
            .concat(),
        );
        let problems = unexpected(&lax, SERIAL);
        assert_eq!(
            problems,
            [
                "faulty[7] killed: page fault at 0x20177a (read of 0x0, not present), \
                 but its manifest entry expects an exit with status 0",
                "hog[8] killed: CPU time limit of 50 ticks used up at 0x201000, \
                 but its manifest entry expects an exit with status 0",
                "sad[9] exited with status 1, but its manifest entry expects an exit with status 0",
            ]
        );
        let expected = manifest(
            &[
                program("hello", ""),
                program("faulty", "expect = \"fault\""),
                program("hog", "cpu_limit = 50\nexpect = \"cpu_limit\""),
                program("sad", "expect_exit = 1"),
                program("server", ""),
                program("maybe", "expect = \"any\""),
            ]
            .concat(),
        );
        assert_eq!(unexpected(&expected, SERIAL), Vec::<String>::new());
        let missing = manifest(
            &[
                program("faulty", "expect = \"fault\""),
                program("late", "expect_exit = 0"),
            ]
            .concat(),
        );
        assert_eq!(
            unexpected(&missing, "[console] faulty[7] exited with status 0\n"),
            [
                "faulty[7] exited with status 0, but its manifest entry expects a fault",
                "late never ended, but its manifest entry expects an exit with status 0",
            ]
        );
    }
}
