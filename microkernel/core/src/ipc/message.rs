//! The messages a thread sends, and the ones the kernel composes itself.
//!
//! A thread's message is usually in its own registers and buffer
//! ([`Outgoing::Message`]). The kernel also sends on a thread's behalf: a
//! `write` becomes a call to the console ([`Outgoing::Write`]) and an ended
//! process's zombie sends an exit, fault or limit notice
//! ([`Outgoing::Notice`]). This module is the one place that turns each of
//! them into the message a receiver gets, and that decides how a reply to
//! each reaches its caller.

use crate::trapframe::TrapFrame;
use crate::umem::UserSlice;
use abi::console::{self, Notice};
use abi::message::{MAX_WORDS, MsgFlags};
use abi::process::Ending;
use abi::regs::ipc as regs;
use abi::{Error, MsgInfo};

/// What a thread sends when a receiver takes its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// A `send` or `call`: the message is in its saved registers.
    Message,
    /// A `write` forwarded to the console: the bytes are `[buffer, +len)`.
    Write {
        /// The file descriptor written (1 or 2).
        fd: u64,
        /// Address of the bytes in the writer's address space.
        buffer: u64,
        /// How many bytes (at most one message buffer).
        len: usize,
    },
    /// An exit, fault or limit notice the kernel composed.
    Notice {
        /// `console::EXIT`, `FAULT`, `LIMIT` or `KILLED`.
        label: u32,
        /// The notice's words (`abi::console::Notice`).
        words: [u64; MAX_WORDS],
    },
}

/// Who sends a kernel-composed message: the process's id and packed name
/// (`abi::console::pack_name`), which every forwarded write and notice
/// carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sender {
    /// The process id.
    pub pid: u32,
    /// The process name packed into two words.
    pub name_words: [u64; 2],
}

/// A message as its receiver gets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Composed {
    /// Label, word count, length, flags.
    pub info: MsgInfo,
    /// The message words (only the first `info.words()` are delivered).
    pub words: [u64; MAX_WORDS],
    /// The bytes, in the sender's address space.
    pub source: UserSlice,
}

impl Outgoing {
    /// The notice for a process that called `exit(status)`.
    pub fn exit_notice(pid: u32, name: &str, status: u64) -> Outgoing {
        Outgoing::Notice {
            label: console::EXIT,
            words: Notice::exit_words(pid as u64, name, status as i64),
        }
    }

    /// The notice for a process killed by exception `vector` at `rip`.
    pub fn fault_notice(pid: u32, name: &str, vector: u8, error_code: u64, rip: u64, address: u64) -> Outgoing {
        Outgoing::Notice {
            label: console::FAULT,
            words: Notice::fault_words(pid as u64, name, vector, error_code, rip, address),
        }
    }

    /// The notice for a process that used up its CPU time limit.
    pub fn limit_notice(pid: u32, name: &str, limit: u64, rip: u64) -> Outgoing {
        Outgoing::Notice {
            label: console::LIMIT,
            words: Notice::limit_words(pid as u64, name, limit, rip),
        }
    }

    /// The notice for a process ended by `process_kill` from process `by`.
    pub fn killed_notice(pid: u32, name: &str, by: u32, rip: u64) -> Outgoing {
        Outgoing::Notice {
            label: console::KILLED,
            words: Notice::killed_words(pid as u64, name, by as u64, rip),
        }
    }

    /// How the process a notice is about ended, with `process_wait`'s
    /// detail: word 1 of every notice.
    pub fn ending(&self) -> Option<(Ending, u64)> {
        let Outgoing::Notice { label, words } = *self else {
            return None;
        };
        let ending = match label {
            console::EXIT => Ending::Exited,
            console::FAULT => Ending::Faulted,
            console::LIMIT => Ending::Limit,
            console::KILLED => Ending::Killed,
            _ => return None,
        };
        Some((ending, words[1]))
    }

    /// The message a receiver gets from a thread whose saved registers are
    /// `frame` and whose process is `sender`.
    #[inline(always)]
    pub fn compose(&self, frame: &TrapFrame, sender: Sender) -> Result<Composed, Error> {
        Ok(match *self {
            Outgoing::Message => {
                let info = MsgInfo(frame.get(regs::INFO));
                Composed {
                    info,
                    words: frame.message_words(),
                    source: UserSlice::new(frame.get(regs::BUFFER), info.len())?,
                }
            }
            Outgoing::Write { fd, buffer, len } => {
                let (info, words) = write_message(fd, len, sender);
                Composed {
                    info,
                    words,
                    source: UserSlice::new(buffer, len)?,
                }
            }
            Outgoing::Notice { label, words } => Composed {
                info: MsgInfo::new(label, MAX_WORDS, 0).with_flags(MsgFlags::KERNEL),
                words,
                source: UserSlice::EMPTY,
            },
        })
    }

    /// How the reply in `reply` (the server's saved registers) reaches the
    /// caller that sent this: `Some(result)` when the kernel answers the
    /// caller itself (a forwarded `write` returns the count the console
    /// took, or its error), `None` when the reply message is delivered as it
    /// is.
    #[inline(always)]
    pub fn reply_result(&self, reply: &TrapFrame) -> Option<Result<u64, Error>> {
        match *self {
            Outgoing::Message => None,
            Outgoing::Write { len, .. } => Some(console::write_result(reply.get(regs::WORDS[0]), len)),
            // A notice is a send: no one waits for its reply.
            Outgoing::Notice { .. } => Some(Ok(0)),
        }
    }

    /// The notice, decoded, if this is one.
    pub fn notice(&self) -> Option<Notice> {
        match *self {
            Outgoing::Notice { label, words } => Notice::decode(label, &words),
            _ => None,
        }
    }
}

/// The MsgInfo and words of a `write` of `len` bytes to `fd` forwarded to the
/// console for `sender` (the bytes go in the buffer): label
/// `console::WRITE`, flag KERNEL, the fd, the pid and the packed name.
#[inline(always)]
pub fn write_message(fd: u64, len: usize, sender: Sender) -> (MsgInfo, [u64; MAX_WORDS]) {
    let [name0, name1] = sender.name_words;
    (
        MsgInfo::new(console::WRITE, MAX_WORDS, len).with_flags(MsgFlags::KERNEL),
        [fd, sender.pid as u64, 0, 0, name0, name1],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> Sender {
        Sender {
            pid: 7,
            name_words: console::pack_name("hello"),
        }
    }

    #[test]
    fn a_forwarded_write_carries_pid_name_and_bytes() {
        let write = Outgoing::Write {
            fd: 1,
            buffer: 0x40_0000,
            len: 19,
        };
        let composed = write.compose(&TrapFrame::ZERO, sender()).unwrap();
        assert_eq!(composed.info.label(), console::WRITE);
        assert!(composed.info.flags().contains(MsgFlags::KERNEL));
        assert_eq!(composed.info.len(), 19);
        assert_eq!(composed.words[1], 7);
        assert_eq!(
            [
                composed.words[console::WORD_NAME[0]],
                composed.words[console::WORD_NAME[1]]
            ],
            console::pack_name("hello")
        );
        assert_eq!(composed.source, UserSlice::new(0x40_0000, 19).unwrap());
        let mut reply = TrapFrame::ZERO;
        reply.set(regs::WORDS[0], 19);
        assert_eq!(write.reply_result(&reply), Some(Ok(19)));
    }

    #[test]
    fn a_message_is_what_the_registers_say() {
        let mut frame = TrapFrame::ZERO;
        frame.set(regs::INFO, MsgInfo::new(3, 2, 8).0);
        frame.set(regs::BUFFER, 0x20_0000);
        frame.set(regs::WORDS[0], 11);
        let composed = Outgoing::Message.compose(&frame, sender()).unwrap();
        assert_eq!(composed.info, MsgInfo::new(3, 2, 8));
        assert_eq!(composed.words[0], 11);
        assert_eq!(composed.source, UserSlice::new(0x20_0000, 8).unwrap());
        assert_eq!(Outgoing::Message.reply_result(&frame), None);
    }

    #[test]
    fn notices_decode() {
        let notice = Outgoing::exit_notice(3, "hello", 0);
        let composed = notice.compose(&TrapFrame::ZERO, sender()).unwrap();
        assert_eq!(composed.info.label(), console::EXIT);
        assert!(composed.source.is_empty());
        assert!(notice.notice().is_some());
        assert_eq!(notice.ending(), Some((Ending::Exited, 0)));
        let killed = Outgoing::killed_notice(4, "spin", 2, 0x20_1000);
        assert_eq!(killed.ending(), Some((Ending::Killed, 2)));
        let fault = Outgoing::fault_notice(4, "x", 14, 6, 0, 0);
        assert_eq!(fault.ending(), Some((Ending::Faulted, 14 | 6 << 8)));
        assert_eq!(Outgoing::Message.ending(), None);
    }
}
