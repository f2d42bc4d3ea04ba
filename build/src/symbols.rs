//! Symbolized fault reports: finds the fault reports in a run's serial
//! output and resolves their addresses to functions and source lines with
//! the DWARF debug info of the ELF files the image was built from.
//!
//! Three reports are recognized:
//!
//! - a program killed by a fault (printed by the console server):
//!   `[console] faulty[7] killed: page fault at 0x20154a (...)`;
//! - a kernel fault: `[kernel] ERROR unexpected page fault (vector 14) in
//!   kernel mode` followed by `[kernel] ERROR   rip 0xffffffff80105c3e ...`;
//! - a kernel panic: `[kernel] ERROR PANIC at microkernel/src/x.rs:10:5: msg`,
//!   which already names its line; the function containing it is added.
//!
//! Each report becomes a line naming the innermost frame (the code that
//! faulted), followed by a line for each function it was inlined into:
//!
//! ```text
//! faulty[7] at 0x20154a: core::ptr::read_volatile at /rustc/.../library/core/src/ptr/mod.rs:2091:9
//!     inlined into faulty::main at servers/demo/src/bin/faulty.rs:12:26
//!     inlined into __libsys_main at libsys/src/rt.rs:49:45
//! kernel page fault at 0xffffffff80111155: core::ptr::read_volatile at ...
//!     inlined into microkernel::startup::inject_fault at microkernel/src/startup.rs:209:34
//! kernel panic at microkernel/src/startup.rs:223:26 in microkernel::startup::inject_fault: injected panic
//! ```
//!
//! Addresses are resolved with the `addr2line` crate (pure Rust, DWARF line
//! tables and inlining info); without line information the ELF symbol table
//! names the function.

use crate::endings::Ending;
use crate::image::Image;
use addr2line::Loader;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A fault report found in the serial output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Site {
    /// A program was killed.
    Program {
        name: String,
        pid: u64,
        fault: String,
        rip: u64,
    },
    /// The kernel took an unexpected exception.
    Kernel { fault: String, rip: u64 },
    /// The kernel panicked.
    Panic {
        file: String,
        line: u32,
        column: u32,
        message: String,
    },
}

/// Parses `0x1234` (up to the first non-hex digit).
fn hex_prefix(text: &str) -> Option<u64> {
    let digits = text.strip_prefix("0x")?;
    let end = digits.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(digits.len());
    u64::from_str_radix(&digits[..end], 16).ok()
}

/// The fault reports of a serial log, in order.
pub fn find_sites(serial: &str) -> Vec<Site> {
    let mut sites = Vec::new();
    let mut kernel_fault: Option<String> = None;
    for line in serial.lines() {
        if let Some(ended) = crate::endings::parse_line(line) {
            let (fault, rip) = match ended.how {
                Ending::Faulted { vector, rip, .. } => (abi::fault::vector_name(vector).to_string(), rip),
                Ending::OverLimit { ticks, rip } => (format!("CPU time limit of {ticks} ticks used up"), rip),
                Ending::Exited(_) | Ending::KilledBy { .. } => continue,
            };
            sites.push(Site::Program {
                name: ended.name,
                pid: ended.pid,
                fault,
                rip,
            });
            continue;
        }
        // Only lines that start with the marker: program output never does.
        let Some(message) = line.strip_prefix("[kernel] ERROR") else {
            continue;
        };
        if let Some(fault) = message.trim().strip_prefix("unexpected ")
            && fault.ends_with(" in kernel mode")
        {
            let fault = fault.split(" (vector").next().unwrap_or(fault);
            kernel_fault = Some(fault.trim_end_matches(" in kernel mode").to_string());
        } else if let Some(rip) = message.trim().strip_prefix("rip ")
            && let Some(fault) = kernel_fault.take()
            && let Some(rip) = hex_prefix(rip)
        {
            sites.push(Site::Kernel { fault, rip });
        } else if let Some(panic) = message.trim().strip_prefix("PANIC at ") {
            // `file:line:column: message`; the file name has no `: `.
            let (location, text) = panic.split_once(": ").unwrap_or((panic, ""));
            let mut parts = location.rsplitn(3, ':');
            let (Some(column), Some(line), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let (Ok(line), Ok(column)) = (line.parse(), column.parse()) else {
                continue;
            };
            sites.push(Site::Panic {
                file: file.to_string(),
                line,
                column,
                message: text.to_string(),
            });
        }
    }
    sites
}

/// One frame at an address: a function and its source location.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// Demangled, without the hash.
    pub function: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl Frame {
    /// `faulty::main at servers/demo/src/bin/faulty.rs:12:29`.
    pub fn describe(&self) -> String {
        let mut text = self.function.clone().unwrap_or_else(|| "??".into());
        if let Some(file) = &self.file {
            text.push_str(" at ");
            text.push_str(&short_path(file));
            if let Some(line) = self.line {
                text.push_str(&format!(":{line}"));
                if let Some(column) = self.column.filter(|c| *c > 0) {
                    text.push_str(&format!(":{column}"));
                }
            }
        }
        text
    }
}

/// `file` relative to the workspace when it lies inside it.
pub fn short_path(file: &str) -> String {
    let root = crate::workspace_root();
    Path::new(file)
        .strip_prefix(root)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| file.to_string())
}

/// Debug info of ELF files, each loaded once.
#[derive(Default)]
pub struct Symbolizer {
    loaded: BTreeMap<PathBuf, Result<Loader, String>>,
}

impl Symbolizer {
    fn loader(&mut self, elf: &Path) -> Result<&Loader, String> {
        self.loaded
            .entry(elf.to_path_buf())
            .or_insert_with(|| {
                Loader::new(elf).map_err(|e| format!("cannot read debug info of {}: {e}", elf.display()))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The frames at `address` in `elf`, innermost (the inlined code) first;
    /// falls back to the symbol table when there is no line information.
    pub fn frames(&mut self, elf: &Path, address: u64) -> Result<Vec<Frame>, String> {
        let loader = self.loader(elf)?;
        let mut frames = Vec::new();
        let mut iter = loader
            .find_frames(address)
            .map_err(|e| format!("{}: {e}", elf.display()))?;
        while let Some(frame) = iter.next().map_err(|e| format!("{}: {e}", elf.display()))? {
            let function = frame
                .function
                .as_ref()
                .and_then(|name| name.demangle().ok().map(|n| n.into_owned()));
            let (file, line, column) = match frame.location {
                Some(location) => (location.file.map(str::to_string), location.line, location.column),
                None => (None, None, None),
            };
            frames.push(Frame {
                function,
                file,
                line,
                column,
            });
        }
        if frames.iter().all(|f| f.function.is_none())
            && let Some(symbol) = loader.find_symbol(address)
        {
            let function = addr2line::demangle_auto(symbol.into(), None).into_owned();
            match frames.first_mut() {
                Some(frame) => frame.function = Some(function),
                None => frames.push(Frame {
                    function: Some(function),
                    ..Frame::default()
                }),
            }
        }
        Ok(frames)
    }

    /// The innermost function containing code of `file:line` (the file
    /// matched by its path's end).
    pub fn function_at_line(&mut self, elf: &Path, file: &str, line: u32) -> Result<Option<Frame>, String> {
        let loader = self.loader(elf)?;
        let address = loader
            .find_location_range(0, u64::MAX)
            .map_err(|e| format!("{}: {e}", elf.display()))?
            .find(|(_, _, location)| {
                location.line == Some(line) && location.file.is_some_and(|f| f.ends_with(file) || file.ends_with(f))
            })
            .map(|(address, _, _)| address);
        let Some(address) = address else {
            return Ok(None);
        };
        Ok(self.frames(elf, address)?.into_iter().next())
    }
}

/// The report lines for `site`; `elf` is the file the faulting code came
/// from, if known.
pub fn describe(symbolizer: &mut Symbolizer, site: &Site, elf: Option<&Path>) -> Vec<String> {
    let (head, address) = match site {
        Site::Program { name, pid, rip, .. } => (format!("{name}[{pid}] at {rip:#x}"), *rip),
        Site::Kernel { fault, rip } => (format!("kernel {fault} at {rip:#x}"), *rip),
        Site::Panic {
            file,
            line,
            column,
            message,
        } => {
            let function = elf
                .and_then(|elf| symbolizer.function_at_line(elf, file, *line).ok().flatten())
                .and_then(|frame| frame.function)
                .map(|f| format!(" in {f}"))
                .unwrap_or_default();
            return vec![format!("kernel panic at {file}:{line}:{column}{function}: {message}")];
        }
    };
    let Some(elf) = elf else {
        return vec![format!("{head}: no ELF file for it in this image")];
    };
    match symbolizer.frames(elf, address) {
        Ok(frames) if !frames.is_empty() => {
            let mut lines = vec![format!("{head}: {}", frames[0].describe())];
            lines.extend(frames[1..].iter().map(|f| format!("    inlined into {}", f.describe())));
            lines
        }
        Ok(_) => vec![format!("{head}: no symbol or line information in {}", elf.display())],
        Err(error) => vec![format!("{head}: {error}")],
    }
}

/// The report lines for every fault report in `serial`, resolved with the
/// ELF files `image` was built from.
pub fn symbolize(serial: &str, image: &Image) -> Vec<String> {
    let sites = find_sites(serial);
    let mut symbolizer = Symbolizer::default();
    let mut lines = Vec::new();
    for site in &sites {
        let elf = match site {
            Site::Program { name, .. } => image.programs.get(name).map(PathBuf::as_path),
            Site::Kernel { .. } | Site::Panic { .. } => Some(image.kernel.as_path()),
        };
        lines.extend(describe(&mut symbolizer, site, elf));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERIAL: &str = "\
faulty[7]: about to read address 0
[console] faulty[7] killed: page fault at 0x20154a (read of 0x0, not present)
[console] hog[8] killed: CPU time limit of 50 ticks used up at 0x201000
[console] hello[3] exited with status 0
[kernel] ERROR unexpected page fault (vector 14) in kernel mode
[kernel] ERROR   error code 0x0
[kernel] ERROR   rip 0xffffffff80105c3e  cs 0x8  rflags 0x10006
[kernel] ERROR   rsp 0xffffffff80190f08  ss 0x0
[kernel] ERROR PANIC at microkernel/src/startup.rs:222:26: injected panic: a: b
[kernel] ERROR PANIC: no location
";

    #[test]
    fn reports_are_found() {
        assert_eq!(
            find_sites(SERIAL),
            [
                Site::Program {
                    name: "faulty".into(),
                    pid: 7,
                    fault: "page fault".into(),
                    rip: 0x20_154a
                },
                Site::Program {
                    name: "hog".into(),
                    pid: 8,
                    fault: "CPU time limit of 50 ticks used up".into(),
                    rip: 0x20_1000
                },
                Site::Kernel {
                    fault: "page fault".into(),
                    rip: 0xffff_ffff_8010_5c3e
                },
                Site::Panic {
                    file: "microkernel/src/startup.rs".into(),
                    line: 222,
                    column: 26,
                    message: "injected panic: a: b".into()
                },
            ]
        );
        assert!(
            find_sites("[kernel] ERROR   rip 0x1234\n").is_empty(),
            "a rip needs a fault before it"
        );
        // Reports that do not start their line are program text.
        let forged = SERIAL
            .lines()
            .map(|line| format!("forger[4]: {line}\n"))
            .collect::<String>();
        assert!(find_sites(&forged).is_empty(), "{forged}");
    }

    #[test]
    fn frames_describe_themselves() {
        let root = crate::workspace_root().display().to_string();
        let frame = Frame {
            function: Some("faulty::main".into()),
            file: Some(format!("{root}/servers/demo/src/bin/faulty.rs")),
            line: Some(12),
            column: Some(29),
        };
        assert_eq!(frame.describe(), "faulty::main at servers/demo/src/bin/faulty.rs:12:29");
        assert_eq!(Frame::default().describe(), "??");
    }

    #[test]
    fn missing_elf_files_are_reported() {
        let mut symbolizer = Symbolizer::default();
        let site = Site::Program {
            name: "ghost".into(),
            pid: 2,
            fault: "page fault".into(),
            rip: 0x1000,
        };
        assert_eq!(
            describe(&mut symbolizer, &site, None),
            ["ghost[2] at 0x1000: no ELF file for it in this image"]
        );
        let lines = describe(&mut symbolizer, &site, Some(Path::new("/no/such/elf")));
        assert!(
            lines[0].starts_with("ghost[2] at 0x1000: cannot read debug info of /no/such/elf"),
            "{lines:?}"
        );
    }

    #[test]
    fn resolves_a_function_of_this_test_binary() {
        // The test executable itself has DWARF: find a function we know.
        let exe = std::env::current_exe().unwrap();
        let mut symbolizer = Symbolizer::default();
        let frame = symbolizer
            .function_at_line(&exe, "build/src/symbols.rs", line!())
            .unwrap()
            .expect("this line has code");
        let function = frame.function.unwrap();
        assert!(
            function.contains("resolves_a_function_of_this_test_binary"),
            "{function}"
        );
    }
}
