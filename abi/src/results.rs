//! Results programs report for tests and tools to read: one `key=value` per
//! line.
//!
//! A program that checks something prints `check.NAME=pass` or
//! `check.NAME=fail` ([`CHECK`], [`verdict`]); a count or an observed value
//! is `KEY=VALUE` (`copies=58`, `call.1=ETIMEDOUT`, `at=0x201010`). The
//! console server prefixes every line a program writes with `name[pid]: `,
//! so the serial line `worker[5]: rounds=300` is program `worker`, pid 5,
//! key `rounds`, value `300`.
//!
//! A key is ASCII letters, digits, `_`, `.` and `-` ([`is_key`]); the value
//! is the rest of the line without surrounding whitespace. It may be empty
//! and may hold spaces and `=`. A test compares parsed values, never the
//! wording of a sentence, so a program's prose can change freely and a
//! check that is renamed fails loudly instead of passing silently.
//!
//! [`parse`] reads the text of one line and [`Output::parse`] a serial line
//! with its program prefix; both work without `std`. With the `std` feature,
//! `Values` collects everything one program reported in a run's serial
//! output (the benchmark image's figures and the system tests read them
//! so).

/// The prefix of a check's key: `check.NAME`.
pub const CHECK: &str = "check.";
/// The value of a check that passed.
pub const PASS: &str = "pass";
/// The value of a check that failed.
pub const FAIL: &str = "fail";

/// [`PASS`] or [`FAIL`].
pub const fn verdict(passed: bool) -> &'static str {
    if passed { PASS } else { FAIL }
}

/// Whether `key` can be a key: not empty, only ASCII letters, digits, `_`,
/// `.` and `-`.
pub fn is_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// The key and value of `key=value` (the value without surrounding
/// whitespace), or `None` if `text` is not such a line.
pub fn parse(text: &str) -> Option<(&str, &str)> {
    let (key, value) = text.trim_start().split_once('=')?;
    is_key(key).then_some((key, value.trim()))
}

/// The name of the check `key` reports (`check.NAME` → `NAME`).
pub fn check_name(key: &str) -> Option<&str> {
    key.strip_prefix(CHECK).filter(|name| !name.is_empty())
}

/// A value as a number: decimal, or hexadecimal with `0x`.
pub fn number(value: &str) -> Option<u64> {
    match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => value.parse().ok(),
    }
}

/// A line a program wrote, as the console prints it: `name[pid]: text`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Output<'a> {
    /// The program's name (its manifest entry's).
    pub program: &'a str,
    /// Its process id.
    pub pid: u64,
    /// What it wrote (without the newline).
    pub text: &'a str,
}

impl<'a> Output<'a> {
    /// Reads a serial line; `None` for lines no program wrote (the
    /// kernel's `[kernel] ...`, the console's `[console] ...`).
    pub fn parse(line: &'a str) -> Option<Output<'a>> {
        let (prefix, text) = line.split_once("]: ")?;
        let (program, pid) = prefix.split_once('[')?;
        let valid_name = !program.is_empty() && !program.contains(|c: char| c.is_whitespace() || c == '[');
        let valid_pid = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
        if !valid_name || !valid_pid {
            return None;
        }
        Some(Output {
            program,
            pid: pid.parse().ok()?,
            text: text.trim_end_matches(['\r', '\n']),
        })
    }

    /// The key and value the line reports, if it is `key=value`.
    pub fn value(&self) -> Option<(&'a str, &'a str)> {
        parse(self.text)
    }
}

#[cfg(feature = "std")]
pub use collect::{Reported, Values};

#[cfg(feature = "std")]
mod collect {
    use super::{Output, check_name, number};
    use std::collections::BTreeMap;
    use std::fmt;
    use std::string::{String, ToString};
    use std::vec::Vec;

    /// One value a program reported.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Reported {
        /// Index of its line in the serial output (from 0).
        pub line: usize,
        /// The process that printed it.
        pub pid: u64,
        /// Its key.
        pub key: String,
        /// Its value, without surrounding whitespace.
        pub value: String,
    }

    /// Everything one program printed in a run's serial output: its
    /// `key=value` lines in order, and the lines that are not (prose,
    /// diagnostics). Every process of that name counts.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct Values {
        program: String,
        reported: Vec<Reported>,
        /// Lines of the program that are not `key=value`: (line index, text).
        other: Vec<(usize, String)>,
    }

    impl Values {
        /// Reads what `program` printed in `serial`.
        pub fn read(serial: &str, program: &str) -> Values {
            let mut values = Values {
                program: program.to_string(),
                ..Values::default()
            };
            for (index, line) in serial.lines().enumerate() {
                let Some(output) = Output::parse(line).filter(|output| output.program == program) else {
                    continue;
                };
                match output.value() {
                    Some((key, value)) => values.reported.push(Reported {
                        line: index,
                        pid: output.pid,
                        key: key.to_string(),
                        value: value.to_string(),
                    }),
                    None => values.other.push((index, output.text.to_string())),
                }
            }
            values
        }

        /// The program's name.
        pub fn program(&self) -> &str {
            &self.program
        }

        /// Every value, in the order printed.
        pub fn reported(&self) -> &[Reported] {
            &self.reported
        }

        /// The lines it printed that are not `key=value`.
        pub fn other_lines(&self) -> impl Iterator<Item = &str> {
            self.other.iter().map(|(_, text)| text.as_str())
        }

        /// Whether it printed nothing at all.
        pub fn is_empty(&self) -> bool {
            self.reported.is_empty() && self.other.is_empty()
        }

        fn last(&self, key: &str) -> Option<&Reported> {
            self.reported.iter().rev().find(|reported| reported.key == key)
        }

        /// The value of `key` (the last one, if it was printed more than
        /// once).
        pub fn get(&self, key: &str) -> Option<&str> {
            self.last(key).map(|reported| reported.value.as_str())
        }

        /// Every value of `key`, in the order printed.
        pub fn all(&self, key: &str) -> Vec<&str> {
            self.reported
                .iter()
                .filter(|reported| reported.key == key)
                .map(|reported| reported.value.as_str())
                .collect()
        }

        /// The value of `key` as a number (decimal, or hexadecimal with
        /// `0x`).
        pub fn number(&self, key: &str) -> Option<u64> {
            number(self.get(key)?)
        }

        /// The serial line index of `key`'s value (the one [`Values::get`]
        /// returns): for the order of events.
        pub fn line(&self, key: &str) -> Option<usize> {
            self.last(key).map(|reported| reported.line)
        }

        /// The keys printed, each once, sorted.
        pub fn keys(&self) -> Vec<&str> {
            let mut keys: Vec<&str> = self.reported.iter().map(|reported| reported.key.as_str()).collect();
            keys.sort_unstable();
            keys.dedup();
            keys
        }

        /// The keys starting with `prefix`, each once, sorted.
        pub fn keys_with_prefix(&self, prefix: &str) -> Vec<&str> {
            self.keys().into_iter().filter(|key| key.starts_with(prefix)).collect()
        }

        /// Every check (`check.NAME=VALUE`) as (NAME, VALUE), by name (the
        /// last value of each).
        pub fn checks(&self) -> BTreeMap<&str, &str> {
            self.reported
                .iter()
                .filter_map(|reported| Some((check_name(&reported.key)?, reported.value.as_str())))
                .collect()
        }

        /// The values by key (the last of each).
        pub fn map(&self) -> BTreeMap<&str, &str> {
            self.reported
                .iter()
                .map(|reported| (reported.key.as_str(), reported.value.as_str()))
                .collect()
        }
    }

    /// `program: {key: value, ...}`, for failure messages.
    impl fmt::Display for Values {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{}: {:?}", self.program, self.map())?;
            if !self.other.is_empty() {
                write!(f, " and other lines {:?}", self.other_lines().collect::<Vec<_>>())?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_as_key_and_value() {
        assert_eq!(parse("rounds=300"), Some(("rounds", "300")));
        assert_eq!(parse("check.echo_intact=pass\r"), Some(("check.echo_intact", "pass")));
        assert_eq!(parse("args=seed=42 calls=10"), Some(("args", "seed=42 calls=10")));
        assert_eq!(parse("args="), Some(("args", "")));
        assert_eq!(parse("call.1.reply-word=0x2a"), Some(("call.1.reply-word", "0x2a")));
        for prose in ["", "no value here", "=value", "two words=1", "spun 100 rounds", "a:b=1"] {
            assert_eq!(parse(prose), None, "{prose}");
        }
        assert_eq!(check_name("check.x"), Some("x"));
        assert_eq!(check_name("check."), None);
        assert_eq!(check_name("checks.x"), None);
        assert_eq!((verdict(true), verdict(false)), (PASS, FAIL));
        assert_eq!(number("0x7ffffffffffe"), Some(0x7fff_ffff_fffe));
        assert_eq!(number("58"), Some(58));
        assert_eq!(number("ETABLEFULL"), None);
    }

    #[test]
    fn the_console_prefix_names_the_program() {
        let output = Output::parse("hoarder-first[12]: created=30\r").unwrap();
        assert_eq!(
            (output.program, output.pid, output.text),
            ("hoarder-first", 12, "created=30")
        );
        assert_eq!(output.value(), Some(("created", "30")));
        let prose = Output::parse("hello[3]: Hello from ring 3! I am process 3.").unwrap();
        assert_eq!(prose.value(), None);
        for line in [
            "[kernel] INFO  boot: started 8 programs",
            "[console] hello[3] exited with status 0",
            "[console] faulty[7] killed: page fault at 0x20177a (read of 0x0, not present)",
            "[console] hello[3]: x=1",
            "hello[x]: a=1",
            "hello[]: a=1",
            "[3]: a=1",
        ] {
            assert_eq!(Output::parse(line), None, "{line}");
        }
    }

    #[test]
    fn values_of_one_program() {
        let serial = "\
[kernel] INFO  boot: started 3 programs
worker[4]: rounds=300
hello[3]: Hello from ring 3! I am process 3.
worker[4]: check.replies_intact=pass
other[5]: rounds=7
[console] worker[4] exited with status 0
worker[9]: rounds=301
worker[9]: check.odd=fail
";
        let values = Values::read(serial, "worker");
        assert_eq!(values.get("rounds"), Some("301"));
        assert_eq!(values.all("rounds"), ["300", "301"]);
        assert_eq!(values.number("rounds"), Some(301));
        assert_eq!(values.line("rounds"), Some(6));
        assert_eq!(values.keys(), ["check.odd", "check.replies_intact", "rounds"]);
        assert_eq!(values.keys_with_prefix("check."), ["check.odd", "check.replies_intact"]);
        let checks: Vec<(&str, &str)> = values.checks().into_iter().collect();
        assert_eq!(checks, [("odd", "fail"), ("replies_intact", "pass")]);
        assert_eq!(values.reported()[0].pid, 4);
        assert_eq!(values.other_lines().count(), 0);
        let hello = Values::read(serial, "hello");
        assert!(hello.keys().is_empty() && !hello.is_empty());
        assert_eq!(
            hello.other_lines().collect::<Vec<_>>(),
            ["Hello from ring 3! I am process 3."]
        );
        assert!(Values::read(serial, "nobody").is_empty());
        assert!(values.to_string().starts_with("worker: {"));
    }
}
