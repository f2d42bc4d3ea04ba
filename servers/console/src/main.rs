//! The console server: the only program that touches the serial port.
//!
//! The kernel forwards every `write` here as a `call` (label `WRITE`) and
//! sends exit and fault notices (labels `EXIT`, `FAULT`, `LIMIT`); all carry the
//! KERNEL flag, so the process id and name in them can be trusted. Each line
//! is printed prefixed with `name[pid]: `, so interleaved output from many
//! programs stays readable. Its handle 0 is the console endpoint (RECEIVE);
//! it never writes through `write` itself, which would be a call to itself.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::abi::console::{self, Notice};
use libsys::port::{inb, outb};
use libsys::server::{Reply, Request, Server, serve};

libsys::entry!(main);

/// The console endpoint, with RECEIVE.
const ENDPOINT: libsys::Handle = 0;
const COM1: u16 = 0x3f8;
const LINE_STATUS: u16 = COM1 + 5;
const TRANSMIT_EMPTY: u8 = 1 << 5;

/// Complaints about messages the console does not serve that it prints;
/// after that it only counts them (a flood must not become a serial flood).
const COMPLAINTS: u64 = 5;

struct Console {
    ignored: u64,
}

impl Console {
    fn put(&self, bytes: &[u8]) {
        for &byte in bytes {
            while inb(LINE_STATUS) & TRANSMIT_EMPTY == 0 {}
            outb(COM1, byte);
        }
    }

    fn put_number(&self, mut value: u64) {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        self.put(&digits[start..]);
    }

    /// Prints `text` line by line, each prefixed with `name[pid]: `. A write
    /// that does not end in a newline still ends its line.
    fn print_lines(&self, name: &[u8], pid: u64, text: &[u8]) {
        for line in text.split_inclusive(|&b| b == b'\n') {
            self.put(name);
            self.put(b"[");
            self.put_number(pid);
            self.put(b"]: ");
            self.put(line);
            if line.last() != Some(&b'\n') {
                self.put(b"\n");
            }
        }
    }

    fn print_notice(&self, notice: &Notice) {
        let mut line = Line::default();
        let _ = core::fmt::write(&mut line, format_args!("[console] {notice}\n"));
        self.put(line.bytes());
    }
}

/// A fixed buffer for formatting one notice line.
#[derive(Default)]
struct Line {
    bytes: heapless_line::Buffer,
}

impl Line {
    fn bytes(&self) -> &[u8] {
        self.bytes.as_slice()
    }
}

impl core::fmt::Write for Line {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        self.bytes.extend(text.as_bytes());
        Ok(())
    }
}

mod heapless_line {
    /// 160 bytes are enough for any notice line; longer text is cut.
    pub struct Buffer {
        data: [u8; 160],
        len: usize,
    }

    impl Default for Buffer {
        fn default() -> Self {
            Buffer { data: [0; 160], len: 0 }
        }
    }

    impl Buffer {
        pub fn extend(&mut self, bytes: &[u8]) {
            let room = self.data.len() - self.len;
            let take = bytes.len().min(room);
            self.data[self.len..self.len + take].copy_from_slice(&bytes[..take]);
            self.len += take;
        }

        pub fn as_slice(&self) -> &[u8] {
            &self.data[..self.len]
        }
    }
}

impl Server for Console {
    fn handle(&mut self, request: &Request, buffer: &mut [u8]) -> Reply {
        // The kernel's messages have all six words.
        let kernel_words: Option<&[u64; 6]> = request.words().try_into().ok().filter(|_| request.from_kernel);
        match (request.label, kernel_words) {
            (console::WRITE, Some(words)) => {
                let name_words = [words[console::WORD_NAME[0]], words[console::WORD_NAME[1]]];
                let (name, len) = console::unpack_name(name_words);
                self.print_lines(&name[..len], words[1], &buffer[..request.len]);
                Reply::with_words(0, &[request.len as u64])
            }
            (console::EXIT | console::FAULT | console::LIMIT, Some(words)) => {
                if let Some(notice) = Notice::decode(request.label, words) {
                    self.print_notice(&notice);
                }
                Reply::label(0)
            }
            _ => {
                // A program sent something the console does not serve:
                // say so (a few times), and answer with an error it can read.
                self.ignored += 1;
                if self.ignored <= COMPLAINTS {
                    self.put(b"[console] ignored a message with label ");
                    self.put_number(request.label as u64);
                    self.put(b" from badge ");
                    self.put_number(request.badge);
                    if self.ignored == COMPLAINTS {
                        self.put(b" (further ones are not reported)");
                    }
                    self.put(b"\n");
                }
                Reply::with_words(0, &[libsys::Error::INVAL.to_return()])
            }
        }
    }
}

fn main() {
    serve(ENDPOINT, &mut Console { ignored: 0 })
}
