//! The syscall fuzzer's shared pieces: a seeded PRNG, a fixed-size line
//! buffer, argument parsing, the printer protocol and the manifest's handle
//! numbers, used by the `fuzzer` program and its peers (`checker`,
//! `printer`, `peer`, `pinger`, `victim`). See `docs/reliability.md`.

#![no_std]
#![forbid(unsafe_code)]

use core::fmt;

/// Label of a message to the printer: print its bytes.
pub const PRINT: u32 = 0x7072;

/// Handles the manifest gives the fuzzer (`build/src/fuzz.rs` writes it).
pub mod handles {
    use libsys::Handle;

    /// SEND|TRANSFER to the sink: the fuzzer's console (`write` goes here).
    pub const SINK: Handle = 0;
    /// SEND|TRANSFER to the mirror, which answers every message.
    pub const MIRROR: Handle = 1;
    /// SEND|RECV|TRANSFER on the inbox, where the pinger calls the fuzzer.
    pub const INBOX: Handle = 2;
    /// SEND to the printer: the fuzzer's report goes there, never fuzzed.
    pub const PRINTER: Handle = 3;
    /// RECV on the lifeline: the checker's send on it ends when the fuzzer
    /// is gone. Never fuzzed.
    pub const LIFELINE: Handle = 4;
    /// WAIT|TRANSFER on interrupt line [`super::IRQ_LINE`] (`irqs` in the
    /// manifest come after the endpoints).
    pub const IRQ: Handle = 5;
}

/// The interrupt line the fuzzer's manifest grants it: an ISA line no
/// device of the machine uses, so it never fires.
pub const IRQ_LINE: u32 = 5;

/// A forwarded `write` of exactly this many bytes the sink answers with
/// the error code [`SINK_ERROR`] instead of a count: `write` must still fail
/// only with an error its table entry lists.
pub const SINK_ERROR_LEN: usize = 4093;
/// The error the sink answers such a write with (ENOMEM, which `write`
/// passes on as EPEERGONE).
pub const SINK_ERROR: libsys::Error = libsys::Error::NOMEM;
/// A forwarded `write` of exactly this many bytes the sink refuses with an
/// error reply (`abi::message::error_reply`) carrying EINVAL, which `write`
/// returns.
pub const SINK_REFUSE_LEN: usize = 4094;

/// How the sink and the mirror receive and refuse, so the fuzzer can tell
/// what the kernel must do with each message it sends them: each receives
/// with a room that follows from the last message it took (all of
/// `MAX_BUFFER` at first), so a message longer than that room is refused by
/// the kernel (ETOOLONG for the sender); and each answers some labels with
/// an error reply.
pub mod peer {
    use libsys::Error;
    use libsys::abi::message::MAX_BUFFER;

    /// The room a peer receives with at first.
    pub const FIRST_ROOM: usize = MAX_BUFFER;

    /// The room a peer receives with after it took a message with `label`
    /// and `len` bytes: mostly all of `MAX_BUFFER`, one time in four less
    /// (often under 64 bytes).
    pub fn room(label: u32, len: usize) -> usize {
        let mut z = (label as u64) << 16 ^ len as u64 ^ 0x726f_6f6d;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        match z % 8 {
            0 => (z >> 8) as usize % 65,
            1 => (z >> 8) as usize % (MAX_BUFFER + 1),
            _ => MAX_BUFFER,
        }
    }

    /// The error a peer answers a (not kernel-composed) message with
    /// `label` with, instead of its usual answer.
    pub fn refusal(label: u32) -> Option<Error> {
        match label % 13 {
            5 => Some(Error::INVAL),
            9 => Some(Error::NOSYS),
            _ => None,
        }
    }
}

/// Several fuzzers at once, one per CPU (`cargo xtask fuzz --cpus N`):
/// each instance is a whole fuzzer world (fuzzer, printer, sink, mirror,
/// pinger, victims) whose programs carry the instance's number in their
/// names, `fuzzer-0`, `printer-1`, ...; alone, a fuzzer's world has the
/// plain names. The checker spawns every instance's fuzzer; each fuzzer
/// spawns its own pinger and victims (`args`: `instance=I instances=N`).
pub mod instances {
    use super::Name;

    /// Instances the fuzz image holds at most: every fuzzer measures at
    /// start how many memory objects one process may refer to (16) by
    /// creating them until ETABLEFULL, all at the same time, so their
    /// measurements together must fit the kernel's table of 64 objects
    /// with room to spare (docs/reliability.md).
    pub const MAX: u64 = 3;

    /// The name of program `base` of instance `instance` of `count`:
    /// `base` when there is one instance, else `base-I`.
    pub fn name(base: &str, instance: u64, count: u64) -> Name {
        let mut name = Name::new();
        name.push(base.as_bytes());
        if count > 1 {
            name.push(b"-");
            let mut digits = [0u8; 20];
            let mut at = digits.len();
            let mut value = instance;
            loop {
                at -= 1;
                digits[at] = b'0' + (value % 10) as u8;
                value /= 10;
                if value == 0 {
                    break;
                }
            }
            name.push(&digits[at..]);
        }
        name
    }

    /// `name` without an instance's suffix (`-` and digits) when there
    /// are several instances: the program of the one-instance image it is
    /// a copy of.
    pub fn base(name: &str, count: u64) -> &str {
        if count <= 1 {
            return name;
        }
        match name.rsplit_once('-') {
            Some((base, digits)) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => base,
            _ => name,
        }
    }
}

/// A short name in a fixed buffer (a program name, or a name `spawn` is
/// tried with, which may be longer than a program name may be); what does
/// not fit is cut.
#[derive(Clone, Copy)]
pub struct Name {
    bytes: [u8; Name::CAPACITY],
    len: usize,
}

impl Name {
    pub const CAPACITY: usize = 24;

    pub const fn new() -> Name {
        Name {
            bytes: [0; Name::CAPACITY],
            len: 0,
        }
    }

    /// A name of `bytes`.
    pub fn of(bytes: &[u8]) -> Name {
        let mut name = Name::new();
        name.push(bytes);
        name
    }

    pub fn push(&mut self, bytes: &[u8]) {
        let take = bytes.len().min(Name::CAPACITY - self.len);
        self.bytes[self.len..self.len + take].copy_from_slice(&bytes[..take]);
        self.len += take;
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The name as text (empty if it is not UTF-8).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

impl Default for Name {
    fn default() -> Self {
        Name::new()
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Badges the fuzzer's inbox handles carry: who called it.
pub mod badges {
    /// The pinger's handle to the inbox.
    pub const PINGER: u64 = 1;
    /// A victim's handle to the inbox.
    pub const VICTIM: u64 = 2;
}

/// What the pinger and victims send the fuzzer: word `index` and byte
/// `index` of a message follow from its label, so the fuzzer can check
/// that what arrived is what was sent.
pub mod pattern {
    /// Word `index` of a message with `label`.
    pub fn word(label: u32, index: usize) -> u64 {
        let mut z = (label as u64) << 8 | index as u64;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Byte `index` of a message with `label`.
    pub fn byte(label: u32, index: usize) -> u8 {
        (label as usize).wrapping_add(index.wrapping_mul(7)) as u8 ^ 0x3c
    }
}

/// How the mirror answers: the label, each word and each byte of the
/// request, transformed (so an answer that is merely the request left in
/// place is caught).
pub mod mirror {
    pub fn label(label: u32) -> u32 {
        label ^ 0x5a5a_5a5a
    }

    pub fn word(word: u64, index: usize) -> u64 {
        word ^ 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(index as u64 + 1)
    }

    pub fn byte(byte: u8, index: usize) -> u8 {
        byte ^ (index as u8).wrapping_mul(31) ^ 0xa5
    }
}

/// A seeded pseudo-random generator: xoshiro256** seeded by splitmix64.
/// Small, fast, and the same sequence for the same seed on every run.
#[derive(Clone, Debug)]
pub struct Random {
    state: [u64; 4],
}

impl Random {
    pub fn new(seed: u64) -> Random {
        let mut x = seed;
        let mut splitmix = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Random {
            state: [splitmix(), splitmix(), splitmix(), splitmix()],
        }
    }

    /// The next 64 random bits.
    pub fn bits(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A value in `0..bound` (0 if `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        ((self.bits() as u128 * bound as u128) >> 64) as u64
    }

    /// A value in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// True with probability `numerator / denominator`.
    pub fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        self.below(denominator) < numerator
    }

    /// One of `items` (which must not be empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An index into `weights`, each chosen in proportion to its weight.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| w as u64).sum();
        let mut roll = self.below(total);
        for (index, &weight) in weights.iter().enumerate() {
            if roll < weight as u64 {
                return index;
            }
            roll -= weight as u64;
        }
        weights.len() - 1
    }
}

/// A line of text in a fixed buffer; what does not fit is cut.
pub struct Line {
    bytes: [u8; Line::CAPACITY],
    len: usize,
}

impl Line {
    pub const CAPACITY: usize = 1024;

    pub const fn new() -> Line {
        Line {
            bytes: [0; Line::CAPACITY],
            len: 0,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl Default for Line {
    fn default() -> Self {
        Line::new()
    }
}

impl fmt::Write for Line {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let take = text.len().min(Line::CAPACITY - self.len);
        self.bytes[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

/// Parses a number argument: decimal, or hexadecimal with `0x`; `_` may
/// separate digits.
pub fn parse_number(text: &str) -> Option<u64> {
    let (digits, radix) = match text.strip_prefix("0x") {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    let mut value: u64 = 0;
    let mut any = false;
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let digit = c.to_digit(radix)? as u64;
        value = value.checked_mul(radix as u64)?.checked_add(digit)?;
        any = true;
    }
    any.then_some(value)
}

/// The numeric argument `key=value` of this program, or `default`.
pub fn number_arg(key: &str, default: u64) -> u64 {
    libsys::arg(key).and_then(parse_number).unwrap_or(default)
}

/// The name of an error code for reports (`E?` for codes the ABI lacks).
pub fn error_name(code: u64) -> &'static str {
    match libsys::Error::from_code(code) {
        Some(error) => error.name(),
        None => "E?",
    }
}
