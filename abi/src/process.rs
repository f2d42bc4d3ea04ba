//! Processes as their parents see them: how one ended (`process_wait`) and
//! the record `process_info` copies out for a `ps` view.

use core::fmt;

/// How a process ended: `process_wait`'s result in RAX. The detail (in RDX)
/// says more, as each variant documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum Ending {
    /// It called `exit`; the detail is its status.
    Exited = 0,
    /// A CPU exception killed it; the detail is `vector | error_code << 8`.
    Faulted = 1,
    /// It used up its CPU time limit; the detail is the limit in ticks.
    Limit = 2,
    /// `process_kill` ended it; the detail is the killer's pid.
    Killed = 3,
}

impl Ending {
    /// Every ending, in numeric order.
    pub const ALL: [Ending; 4] = [Ending::Exited, Ending::Faulted, Ending::Limit, Ending::Killed];

    /// Decodes `process_wait`'s RAX.
    pub const fn from_code(code: u64) -> Option<Ending> {
        match code {
            0 => Some(Ending::Exited),
            1 => Some(Ending::Faulted),
            2 => Some(Ending::Limit),
            3 => Some(Ending::Killed),
            _ => None,
        }
    }

    /// The lower-case name (`exited`).
    pub const fn name(self) -> &'static str {
        match self {
            Ending::Exited => "exited",
            Ending::Faulted => "faulted",
            Ending::Limit => "limit",
            Ending::Killed => "killed",
        }
    }
}

/// `exited`, `faulted`, `limit` or `killed`.
impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// What a live process is doing, in its [`Info`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum State {
    /// On a CPU now.
    Running = 0,
    /// Waiting for a CPU.
    Ready = 1,
    /// Waiting for a message, a reply, a signal or a child.
    Blocked = 2,
    /// Ended; its exit notice is still on its way to the console.
    Ending = 3,
}

impl State {
    /// Decodes the byte of an [`Info`].
    pub const fn from_code(code: u8) -> Option<State> {
        match code {
            0 => Some(State::Running),
            1 => Some(State::Ready),
            2 => Some(State::Blocked),
            3 => Some(State::Ending),
            _ => None,
        }
    }

    /// The lower-case name `ps` prints.
    pub const fn name(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Ready => "ready",
            State::Blocked => "blocked",
            State::Ending => "ending",
        }
    }
}

/// `running`, `ready`, `blocked` or `ending`.
impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// One process, as `process_info` reports it: [`Info::SIZE`] bytes,
/// little-endian, fields in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// Its process id.
    pub pid: u32,
    /// Its [`State`] code.
    pub state: u8,
    /// Its scheduling priority.
    pub priority: u8,
    /// Bytes of `name` that are its name.
    pub name_len: u8,
    /// Its name, zero-padded.
    pub name: [u8; crate::manifest::MAX_NAME],
    /// Timer ticks of CPU time it has used.
    pub cpu_ticks: u64,
    /// Handles it holds.
    pub handles: u32,
    /// Pages of memory it occupies now: the private pages made so far and
    /// every page of the memory objects it refers to.
    pub frames: u64,
    /// Pages its memory limit allows.
    pub memory_limit: u64,
}

impl Info {
    /// Bytes of one record.
    pub const SIZE: usize = 64;

    /// The name as text (`?` if it is not UTF-8).
    pub fn name(&self) -> &str {
        let len = (self.name_len as usize).min(self.name.len());
        core::str::from_utf8(&self.name[..len]).unwrap_or("?")
    }

    /// Its state, if the code is known.
    pub fn state(&self) -> Option<State> {
        State::from_code(self.state)
    }

    /// The record's bytes.
    pub fn to_bytes(&self) -> [u8; Info::SIZE] {
        let mut out = [0u8; Info::SIZE];
        out[0..4].copy_from_slice(&self.pid.to_le_bytes());
        out[4] = self.state;
        out[5] = self.priority;
        out[6] = self.name_len;
        out[8..24].copy_from_slice(&self.name);
        out[24..32].copy_from_slice(&self.cpu_ticks.to_le_bytes());
        out[32..36].copy_from_slice(&self.handles.to_le_bytes());
        out[40..48].copy_from_slice(&self.frames.to_le_bytes());
        out[48..56].copy_from_slice(&self.memory_limit.to_le_bytes());
        out
    }

    /// Reads a record (`None` if `bytes` is shorter than [`Info::SIZE`]).
    pub fn from_bytes(bytes: &[u8]) -> Option<Info> {
        let bytes: &[u8; Info::SIZE] = bytes.get(..Info::SIZE)?.try_into().ok()?;
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let mut name = [0u8; crate::manifest::MAX_NAME];
        name.copy_from_slice(&bytes[8..24]);
        Some(Info {
            pid: u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")),
            state: bytes[4],
            priority: bytes[5],
            name_len: bytes[6],
            name,
            cpu_ticks: u64_at(24),
            handles: u32::from_le_bytes(bytes[32..36].try_into().expect("4 bytes")),
            frames: u64_at(40),
            memory_limit: u64_at(48),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_round_trips_through_bytes() {
        let mut name = [0u8; 16];
        name[..5].copy_from_slice(b"shell");
        let info = Info {
            pid: 7,
            state: State::Blocked as u8,
            priority: 3,
            name_len: 5,
            name,
            cpu_ticks: 12,
            handles: 4,
            frames: 33,
            memory_limit: 2048,
        };
        let back = Info::from_bytes(&info.to_bytes()).unwrap();
        assert_eq!(back, info);
        assert_eq!(back.name(), "shell");
        assert_eq!(back.state(), Some(State::Blocked));
        assert_eq!(Info::from_bytes(&[0; 10]), None);
    }

    #[test]
    fn endings_decode() {
        for ending in Ending::ALL {
            assert_eq!(Ending::from_code(ending as u64), Some(ending));
        }
        assert_eq!(Ending::from_code(4), None);
        assert_eq!(std::format!("{}", Ending::Killed), "killed");
    }
}
