//! A line discipline: what a terminal driver (the console server) makes of
//! typed bytes. It echoes them, erases with backspace, completes a line on
//! Enter, and keeps complete lines until a reader takes them. Ctrl-C drops
//! everything typed and not yet read (the line being typed and the complete
//! lines), as a terminal does, and asks the driver to tell the reader.
//!
//! Everything lives in one ring of [`INPUT_CAPACITY`] bytes: the complete
//! lines first, then the line being typed. A line holds at most
//! [`MAX_LINE`] bytes with its `\n`; typed bytes beyond that are dropped
//! (erase and Enter still work), so a full ring always holds a complete
//! line for the reader to take.
//!
//! ```
//! use libsys::line::LineDiscipline;
//!
//! let mut line = LineDiscipline::new();
//! for &byte in b"lx\x7fs\r" {
//!     line.feed(byte);
//! }
//! let mut out = [0u8; 16];
//! let n = line.take(&mut out, 0);
//! assert_eq!(&out[..n], b"ls\n");
//! ```

pub use abi::console::{INPUT_CAPACITY, MAX_LINE};

/// Ctrl-C.
pub const CTRL_C: u8 = 0x03;
/// Backspace (what some terminals send for the erase key).
pub const BACKSPACE: u8 = 0x08;
/// DEL (what most terminals send for the erase key).
pub const DELETE: u8 = 0x7f;
const ESCAPE: u8 = 0x1b;

/// What the driver must echo, at most four bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Echo {
    bytes: [u8; 4],
    len: u8,
}

impl Echo {
    fn of(bytes: &[u8]) -> Echo {
        let mut echo = Echo::default();
        echo.bytes[..bytes.len()].copy_from_slice(bytes);
        echo.len = bytes.len() as u8;
        echo
    }

    /// The bytes to write back to the terminal.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// Whether there is nothing to echo.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What one byte did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// Bytes to echo.
    pub echo: Echo,
    /// A line was completed: a reader can take it.
    pub line: bool,
    /// Ctrl-C: what was typed and not read is gone; tell the reader.
    pub interrupt: bool,
    /// The byte was dropped: the line is at [`MAX_LINE`], or the ring is
    /// full.
    pub dropped: bool,
}

/// Where an escape sequence (arrow keys and the like) stands: such
/// sequences are swallowed whole rather than typed into the line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Escape {
    #[default]
    None,
    /// After ESC.
    Start,
    /// In a CSI sequence (`ESC [`), until its final byte.
    Csi,
    /// After `ESC O`: one more byte.
    Single,
}

/// The line discipline's state: the ring and where the line being typed
/// starts.
pub struct LineDiscipline {
    ring: [u8; INPUT_CAPACITY],
    /// Index of the oldest byte.
    head: usize,
    /// Bytes held: complete lines, then the line being typed.
    len: usize,
    /// Bytes of complete lines, at the front.
    complete: usize,
    /// The last byte was `\r`: a `\n` right after it ends no second line.
    after_cr: bool,
    escape: Escape,
}

impl Default for LineDiscipline {
    fn default() -> Self {
        LineDiscipline::new()
    }
}

impl LineDiscipline {
    /// An empty discipline.
    pub const fn new() -> LineDiscipline {
        LineDiscipline {
            ring: [0; INPUT_CAPACITY],
            head: 0,
            len: 0,
            complete: 0,
            after_cr: false,
            escape: Escape::None,
        }
    }

    /// Free bytes in the ring. A driver feeds no byte while this is 0 (it
    /// leaves the rest in the device until a reader makes room).
    pub fn room(&self) -> usize {
        INPUT_CAPACITY - self.len
    }

    /// Bytes of complete lines waiting for a reader.
    pub fn waiting(&self) -> usize {
        self.complete
    }

    /// Bytes of the line being typed.
    pub fn typing(&self) -> usize {
        self.len - self.complete
    }

    fn at(&self, offset: usize) -> usize {
        (self.head + offset) % INPUT_CAPACITY
    }

    fn push(&mut self, byte: u8) {
        let at = self.at(self.len);
        self.ring[at] = byte;
        self.len += 1;
    }

    /// Takes one typed byte.
    pub fn feed(&mut self, byte: u8) -> Event {
        let after_cr = core::mem::take(&mut self.after_cr);
        match self.escape {
            Escape::None => {}
            Escape::Start => {
                self.escape = match byte {
                    b'[' => Escape::Csi,
                    b'O' => Escape::Single,
                    _ => Escape::None,
                };
                return Event::default();
            }
            Escape::Csi => {
                if (0x40..=0x7e).contains(&byte) {
                    self.escape = Escape::None;
                }
                return Event::default();
            }
            Escape::Single => {
                self.escape = Escape::None;
                return Event::default();
            }
        }
        match byte {
            b'\n' if after_cr => Event::default(),
            b'\r' | b'\n' => {
                if self.room() == 0 {
                    return Event {
                        dropped: true,
                        ..Event::default()
                    };
                }
                self.push(b'\n');
                self.complete = self.len;
                self.after_cr = byte == b'\r';
                Event {
                    echo: Echo::of(if byte == b'\r' { b"\r\n" } else { b"\n" }),
                    line: true,
                    ..Event::default()
                }
            }
            CTRL_C => {
                self.clear();
                Event {
                    echo: Echo::of(b"^C\r\n"),
                    interrupt: true,
                    ..Event::default()
                }
            }
            BACKSPACE | DELETE => {
                if self.typing() == 0 {
                    return Event::default();
                }
                // One character: a UTF-8 sequence's continuation bytes
                // go with its first byte.
                loop {
                    self.len -= 1;
                    let byte = self.ring[self.at(self.len)];
                    if byte & 0xc0 != 0x80 || self.typing() == 0 {
                        break;
                    }
                }
                Event {
                    echo: Echo::of(b"\x08 \x08"),
                    ..Event::default()
                }
            }
            ESCAPE => {
                self.escape = Escape::Start;
                Event::default()
            }
            b'\t' | 0x20.. => {
                if self.typing() >= MAX_LINE - 1 || self.room() == 0 {
                    return Event {
                        dropped: true,
                        ..Event::default()
                    };
                }
                self.push(byte);
                Event {
                    echo: Echo::of(&[byte]),
                    ..Event::default()
                }
            }
            // Other control characters mean nothing here.
            _ => Event::default(),
        }
    }

    /// Moves complete lines to `out`: whole lines while they fit, at most
    /// `max_lines` of them (0: no limit); a first line longer than `out`
    /// comes in pieces of `out.len()` bytes. Returns how many bytes.
    pub fn take(&mut self, out: &mut [u8], max_lines: usize) -> usize {
        let mut taken = 0;
        let mut lines = 0;
        while taken < self.complete && (max_lines == 0 || lines < max_lines) {
            // The next line's length, with its '\n'.
            let mut line = 0;
            while self.ring[self.at(taken + line)] != b'\n' {
                line += 1;
            }
            line += 1;
            let room = out.len() - taken;
            let count = if line <= room {
                line
            } else if taken == 0 {
                room
            } else {
                break;
            };
            for (index, slot) in out[taken..taken + count].iter_mut().enumerate() {
                *slot = self.ring[self.at(taken + index)];
            }
            taken += count;
            lines += 1;
            if count < line {
                break;
            }
        }
        self.head = self.at(taken);
        self.len -= taken;
        self.complete -= taken;
        taken
    }

    /// Drops everything held, complete lines and the line being typed;
    /// returns how many bytes.
    pub fn clear(&mut self) -> usize {
        let dropped = self.len;
        self.head = 0;
        self.len = 0;
        self.complete = 0;
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Feeds `bytes`; returns the echo.
    fn feed(line: &mut LineDiscipline, bytes: &[u8]) -> Vec<u8> {
        let mut echo = Vec::new();
        for &byte in bytes {
            echo.extend_from_slice(line.feed(byte).echo.as_bytes());
        }
        echo
    }

    fn take_all(line: &mut LineDiscipline) -> Vec<u8> {
        let mut out = [0u8; INPUT_CAPACITY];
        let n = line.take(&mut out, 0);
        out[..n].to_vec()
    }

    #[test]
    fn typing_echoes_and_enter_completes() {
        let mut line = LineDiscipline::new();
        assert_eq!(feed(&mut line, b"ps"), b"ps");
        assert_eq!(line.waiting(), 0);
        assert_eq!(take_all(&mut line), b"");
        let event = line.feed(b'\r');
        assert!(event.line);
        assert_eq!(event.echo.as_bytes(), b"\r\n");
        // \r\n is one line end; a lone \n is another.
        assert_eq!(feed(&mut line, b"\n"), b"");
        assert_eq!(feed(&mut line, b"a\n\n"), b"a\n\n");
        assert_eq!(take_all(&mut line), b"ps\na\n\n");
        assert_eq!(line.room(), INPUT_CAPACITY);
    }

    #[test]
    fn backspace_erases_one_character() {
        let mut line = LineDiscipline::new();
        assert_eq!(feed(&mut line, b"ab\x7f"), b"ab\x08 \x08");
        assert_eq!(feed(&mut line, b"\x08\x08"), b"\x08 \x08");
        // "é" is two bytes, one character.
        assert_eq!(feed(&mut line, "xé".as_bytes()), "xé".as_bytes());
        feed(&mut line, b"\x7f\n");
        assert_eq!(take_all(&mut line), b"x\n");
        // Nothing to erase across a complete line.
        feed(&mut line, b"done\n\x7f\x7f");
        assert_eq!(take_all(&mut line), b"done\n");
    }

    #[test]
    fn ctrl_c_drops_what_was_not_read() {
        let mut line = LineDiscipline::new();
        feed(&mut line, b"read\n");
        assert_eq!(take_all(&mut line), b"read\n");
        feed(&mut line, b"unread\nlost");
        let event = line.feed(CTRL_C);
        assert!(event.interrupt && !event.line);
        assert_eq!(event.echo.as_bytes(), b"^C\r\n");
        assert_eq!((line.waiting(), line.typing()), (0, 0));
        feed(&mut line, b"next\n");
        assert_eq!(take_all(&mut line), b"next\n");
    }

    #[test]
    fn escape_sequences_and_control_bytes_are_not_typed() {
        let mut line = LineDiscipline::new();
        assert_eq!(feed(&mut line, b"a\x1b[A\x1b[1;5C\x1bOHb\x01\x00\tc\n"), b"ab\tc\n");
        assert_eq!(take_all(&mut line), b"ab\tc\n");
    }

    #[test]
    fn a_long_line_is_cut_at_max_line() {
        let mut line = LineDiscipline::new();
        let mut dropped = 0;
        for _ in 0..MAX_LINE + 10 {
            dropped += usize::from(line.feed(b'x').dropped);
        }
        assert_eq!(dropped, 11);
        assert!(line.feed(b'\n').line);
        let taken = take_all(&mut line);
        assert_eq!(taken.len(), MAX_LINE);
        assert_eq!(taken.last(), Some(&b'\n'));
    }

    #[test]
    fn take_gives_whole_lines_then_pieces() {
        let mut line = LineDiscipline::new();
        feed(&mut line, b"one\ntwo\nthree\n");
        let mut out = [0u8; 9];
        // Two whole lines fit in 9 bytes; the third waits.
        assert_eq!(line.take(&mut out, 0), 8);
        assert_eq!(&out[..8], b"one\ntwo\n");
        assert_eq!(line.waiting(), 6);
        let mut small = [0u8; 4];
        assert_eq!(line.take(&mut small, 0), 4);
        assert_eq!(&small, b"thre");
        assert_eq!(line.take(&mut small, 0), 2);
        assert_eq!(&small[..2], b"e\n");
        feed(&mut line, b"a\nb\n");
        assert_eq!(line.take(&mut out, 1), 2);
        assert_eq!(line.take(&mut out, 1), 2);
        assert_eq!(line.take(&mut out, 1), 0);
    }

    #[test]
    fn a_full_ring_drops_and_holds_a_complete_line() {
        let mut line = LineDiscipline::new();
        let mut fed = 0;
        while line.room() > 0 {
            let byte = if fed % 100 == 99 {
                b'\n'
            } else {
                b'a' + (fed % 26) as u8
            };
            assert!(!line.feed(byte).dropped);
            fed += 1;
        }
        assert!(line.feed(b'z').dropped);
        assert!(line.feed(b'\n').dropped);
        assert!(line.waiting() > 0);
        assert_eq!(line.clear(), INPUT_CAPACITY);
        assert_eq!((line.room(), line.waiting(), line.typing()), (INPUT_CAPACITY, 0, 0));
    }

    #[test]
    fn bytes_go_round_the_ring_in_order() {
        let mut line = LineDiscipline::new();
        let mut sent = Vec::new();
        let mut received = Vec::new();
        let mut out = [0u8; 300];
        for round in 0..20_000u32 {
            let byte = if round % 37 == 36 {
                b'\n'
            } else {
                b'!' + (round % 90) as u8
            };
            if line.room() == 0 {
                let n = line.take(&mut out, 0);
                assert!(n > 0, "a full ring holds a complete line");
                received.extend_from_slice(&out[..n]);
            }
            assert!(!line.feed(byte).dropped);
            sent.push(byte);
            if round % 500 == 0 {
                let n = line.take(&mut out, 3);
                received.extend_from_slice(&out[..n]);
            }
        }
        received.extend(take_all(&mut line));
        let complete = sent.iter().rposition(|&b| b == b'\n').unwrap() + 1;
        assert_eq!(received, &sent[..complete]);
        assert_eq!(line.typing(), sent.len() - complete);
    }
}
