//! Restartable programs: the policies of a manifest's `restart` field, the
//! back-off between restarts, and the argument words through which the
//! build tool tells the supervisor server (`servers/supervisor`) what to
//! start and how to restart it.
//!
//! The kernel keeps no policy: a program whose manifest entry says
//! `restart = "on-fault"` or `"always"` is started by the supervisor (it is
//! `start = "spawn"` and in the supervisor's `spawns`), which watches it and
//! starts it again when it ends as its [`Policy`] says, after a delay that
//! doubles with every restart up to a cap and starts over once an instance
//! has run for a stable period ([`Backoff`]). The build tool writes one
//! argument word per program ([`Entry`]):
//!
//! ```text
//! NAME=POLICY[,BACKOFF[,BACKOFF_MAX[,STABLE]]]
//! ```
//!
//! `POLICY` is `f` (on-fault) or `a` (always); the times are milliseconds;
//! trailing fields left out take the defaults ([`DEFAULT_BACKOFF_MS`],
//! [`DEFAULT_BACKOFF_MAX_MS`], [`DEFAULT_STABLE_MS`]). So `kv=f` restarts
//! `kv` when it faults with the default back-off, and `log=a,0` restarts
//! `log` however it ends, at once every time.

use crate::process::Ending;
use core::fmt;

/// The first delay unless the manifest says `restart_backoff`: 10 ms, one
/// timer tick.
pub const DEFAULT_BACKOFF_MS: u32 = 10;
/// The longest delay unless the manifest says `restart_backoff_max` (or the
/// first delay is longer).
pub const DEFAULT_BACKOFF_MAX_MS: u32 = 1000;
/// How long an instance must run for the delay to start over unless the
/// manifest says `restart_stable`.
pub const DEFAULT_STABLE_MS: u32 = 1000;

/// When a program is started again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// When it faulted, used up its CPU limit or was killed; not when it
    /// exited (a libsys panic is an exit, with status 101).
    OnFault,
    /// However it ended, an exit included.
    Always,
}

impl Policy {
    /// Every policy.
    pub const ALL: [Policy; 2] = [Policy::OnFault, Policy::Always];

    /// The manifest's name: `on-fault` or `always`.
    pub const fn name(self) -> &'static str {
        match self {
            Policy::OnFault => "on-fault",
            Policy::Always => "always",
        }
    }

    /// The policy a manifest names.
    pub fn from_name(name: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|policy| policy.name() == name)
    }

    /// Its letter in an argument word: `f` or `a`.
    const fn code(self) -> char {
        match self {
            Policy::OnFault => 'f',
            Policy::Always => 'a',
        }
    }

    fn from_code(code: &str) -> Option<Policy> {
        Policy::ALL
            .into_iter()
            .find(|policy| code.len() == 1 && code.starts_with(policy.code()))
    }

    /// Whether a program that ended so is started again.
    pub const fn restarts(self, ending: Ending) -> bool {
        match (self, ending) {
            (Policy::Always, _) => true,
            (Policy::OnFault, Ending::Exited) => false,
            (Policy::OnFault, Ending::Faulted | Ending::Limit | Ending::Killed) => true,
        }
    }
}

/// `on-fault` or `always`.
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// A program's restart policy and back-off, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Restart {
    /// When it is started again.
    pub policy: Policy,
    /// The delay before the first restart (0: at once, every time).
    pub backoff_ms: u32,
    /// The longest delay: each restart doubles the delay up to this.
    pub backoff_max_ms: u32,
    /// An instance that ran this long before it ended was stable: the delay
    /// starts over at `backoff_ms`.
    pub stable_ms: u32,
}

impl Restart {
    /// `policy` with the default back-off.
    pub const fn new(policy: Policy) -> Restart {
        Restart {
            policy,
            backoff_ms: DEFAULT_BACKOFF_MS,
            backoff_max_ms: DEFAULT_BACKOFF_MAX_MS,
            stable_ms: DEFAULT_STABLE_MS,
        }
    }
}

/// One word of the supervisor's arguments: a program and how to restart it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Entry<'a> {
    /// The program's manifest name (what the supervisor spawns).
    pub name: &'a str,
    /// Its policy and back-off.
    pub restart: Restart,
}

impl<'a> Entry<'a> {
    /// Reads one word, `NAME=POLICY[,BACKOFF[,BACKOFF_MAX[,STABLE]]]`.
    pub fn parse(word: &'a str) -> Option<Entry<'a>> {
        let (name, spec) = word.split_once('=')?;
        if crate::manifest::check_name(name).is_err() {
            return None;
        }
        let mut fields = spec.split(',');
        let mut restart = Restart::new(Policy::from_code(fields.next()?)?);
        let times = [
            &mut restart.backoff_ms,
            &mut restart.backoff_max_ms,
            &mut restart.stable_ms,
        ];
        for time in times {
            match fields.next() {
                Some(field) => *time = field.parse().ok()?,
                None => break,
            }
        }
        if fields.next().is_some() {
            return None;
        }
        Some(Entry { name, restart })
    }

    /// Every word of `args` that is an entry; the words that are not are
    /// `Err` (a supervisor reports them rather than guess).
    pub fn all(args: &'a str) -> impl Iterator<Item = Result<Entry<'a>, &'a str>> {
        args.split_ascii_whitespace().map(|word| Entry::parse(word).ok_or(word))
    }
}

/// The word [`Entry::parse`] reads, with the trailing fields that hold
/// their defaults left out.
impl fmt::Display for Entry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let restart = &self.restart;
        write!(f, "{}={}", self.name, restart.policy.code())?;
        let times = [
            (restart.backoff_ms, DEFAULT_BACKOFF_MS),
            (restart.backoff_max_ms, DEFAULT_BACKOFF_MAX_MS),
            (restart.stable_ms, DEFAULT_STABLE_MS),
        ];
        let needed = times
            .iter()
            .rposition(|(value, default)| value != default)
            .map_or(0, |last| last + 1);
        for (value, _) in &times[..needed] {
            write!(f, ",{value}")?;
        }
        Ok(())
    }
}

/// The delays between the restarts of one program, in any unit of time
/// (the supervisor counts timer ticks): the first is `first`, each next one
/// twice the last, at most `max`; an instance that ran at least `stable`
/// before it ended makes the next delay `first` again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    first: u64,
    max: u64,
    stable: u64,
    next: u64,
}

impl Backoff {
    /// Delays from `first` doubling up to `max` (at least `first`), reset
    /// by a run of `stable`.
    pub const fn new(first: u64, max: u64, stable: u64) -> Backoff {
        let max = if max < first { first } else { max };
        Backoff {
            first,
            max,
            stable,
            next: first,
        }
    }

    /// An instance that ran for `ran` ended: the delay before the next one
    /// starts.
    pub fn delay_after(&mut self, ran: u64) -> u64 {
        if ran >= self.stable {
            self.next = self.first;
        }
        let delay = self.next;
        self.next = delay.saturating_mul(2).clamp(self.first, self.max);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;
    use std::vec::Vec;

    #[test]
    fn policies_decide_by_ending() {
        for ending in Ending::ALL {
            assert!(Policy::Always.restarts(ending), "{ending}");
            assert_eq!(Policy::OnFault.restarts(ending), ending != Ending::Exited, "{ending}");
        }
        for policy in Policy::ALL {
            assert_eq!(Policy::from_name(policy.name()), Some(policy));
        }
        assert_eq!(Policy::from_name("never"), None);
    }

    #[test]
    fn entries_round_trip_and_leave_defaults_out() {
        let cases = [
            ("kv=f", Restart::new(Policy::OnFault)),
            (
                "log=a,0",
                Restart {
                    backoff_ms: 0,
                    ..Restart::new(Policy::Always)
                },
            ),
            (
                "x-1=f,10,80",
                Restart {
                    backoff_max_ms: 80,
                    ..Restart::new(Policy::OnFault)
                },
            ),
            (
                "y=a,10,1000,200",
                Restart {
                    stable_ms: 200,
                    ..Restart::new(Policy::Always)
                },
            ),
        ];
        for (word, restart) in cases {
            let entry = Entry::parse(word).unwrap_or_else(|| panic!("{word}"));
            assert_eq!(entry.restart, restart, "{word}");
            assert_eq!(entry.to_string(), word);
        }
        for bad in [
            "kv",
            "kv=",
            "kv=x",
            "kv=fa",
            "KV=f",
            "kv=f,",
            "kv=f,-1",
            "kv=f,1,2,3,4",
            "=f",
        ] {
            assert_eq!(Entry::parse(bad), None, "{bad}");
        }
        let all: Vec<_> = Entry::all(" kv=f  junk log=a,0 ").collect();
        assert_eq!(all.len(), 3);
        assert_eq!(all[1], Err("junk"));
        assert_eq!(all[2].unwrap().name, "log");
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_starts_over_after_a_stable_run() {
        let mut backoff = Backoff::new(1, 8, 100);
        let delays: Vec<u64> = (0..7).map(|_| backoff.delay_after(0)).collect();
        assert_eq!(delays, [1, 2, 4, 8, 8, 8, 8]);
        assert_eq!(backoff.delay_after(99), 8);
        assert_eq!(backoff.delay_after(100), 1);
        assert_eq!(backoff.delay_after(0), 2);

        let mut at_once = Backoff::new(0, 8, 100);
        assert!((0..5).all(|_| at_once.delay_after(0) == 0));
        let mut capped_below = Backoff::new(30, 10, 100);
        assert_eq!([capped_below.delay_after(0), capped_below.delay_after(0)], [30, 30]);
        let mut never_stable = Backoff::new(1, 1 << 62, u64::MAX);
        let last = (0..70).map(|_| never_stable.delay_after(u64::MAX - 1)).last();
        assert_eq!(last, Some(1 << 62));
    }
}
