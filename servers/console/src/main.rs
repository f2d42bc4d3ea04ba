//! The console server: the only program that touches the serial port.
//!
//! Output: the kernel forwards every `write` here as a `call` (label
//! `WRITE`) and sends exit, fault and kill notices (labels `EXIT`, `FAULT`,
//! `LIMIT`, `KILLED`); all carry the KERNEL flag, so the process id and name
//! in them can be trusted. Each line is printed prefixed with `name[pid]: `,
//! so interleaved output from many programs stays readable; a line a
//! program leaves open (a prompt) stays open for its next write and for the
//! echo of what is typed, and anything else printed first ends it.
//!
//! Program text cannot pass for a report: control bytes but `\n` and `\t`
//! are shown as `\xNN`, and so is a `[` that would start `[kernel]` or
//! `[console]`, so a line that starts with either is the kernel's or the
//! console's own (the build tool trusts only those). One `write` makes at
//! most `abi::console::MAX_WRITE_OUTPUT` bytes of output: the console takes
//! the bytes that fit and replies with their count.
//!
//! Input: with COM1's interrupt line (the manifest's `irqs = [4]`: handle
//! 1), the UART's receive interrupt signals a notification bound to the
//! console's endpoint, so the same loop that serves writes also gets
//! "bytes arrived". The bytes go through the line discipline
//! (`libsys::line`: echo, erase, Enter, Ctrl-C) to the process that holds
//! the input (`ATTACH`, `READ`: `abi::console`). Lines typed ahead, while
//! the holder was busy, are echoed again when it reads them on the line of
//! its prompt, so the prompt shows what it got.
//!
//! Its handle 0 is the console endpoint (RECEIVE); it never writes through
//! `write` itself, which would be a call to itself.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::abi::console::{
    self, ATTACH, EXIT, FAULT, INPUT_READY, INTERRUPT, KILLED, LIMIT, MAX_HOLDERS, MAX_WRITE_OUTPUT, Notice, READ,
};
use libsys::abi::message::MAX_BUFFER;
use libsys::line::LineDiscipline;
use libsys::port::{inb, outb};
use libsys::server::{Reply, Request, Server, serve};
use libsys::{Error, Handle, sys};

libsys::entry!(main);

/// The console endpoint, with RECEIVE.
const ENDPOINT: Handle = 0;
/// COM1's interrupt line (IRQ 4), when the manifest grants it: the first
/// handle after the endpoints.
const IRQ: Handle = 1;
/// The bit the interrupt line signals on the console's notification.
const RECEIVED: u64 = 1;

const COM1: u16 = 0x3f8;
const DATA: u16 = COM1;
const INTERRUPT_ENABLE: u16 = COM1 + 1;
const MODEM_CONTROL: u16 = COM1 + 4;
const LINE_STATUS: u16 = COM1 + 5;
const DATA_READY: u8 = 1 << 0;
const TRANSMIT_EMPTY: u8 = 1 << 5;
/// IER: interrupt when received data is available (and on the FIFO's
/// character timeout).
const RECEIVE_INTERRUPT: u8 = 1 << 0;
/// MCR: DTR, RTS and OUT2 (which gates the UART's interrupt onto the bus on
/// a PC).
const MODEM_ON_WITH_INTERRUPTS: u8 = 0x0b;

/// Complaints about messages the console does not serve that it prints;
/// after that it only counts them (a flood must not become a serial flood).
const COMPLAINTS: u64 = 5;

/// Who the line the terminal shows last is open for (not ended by `\n`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Open {
    /// None: the next output starts a line.
    Nothing,
    /// A program's output (a prompt): its next write goes on.
    Program(u64),
    /// The echo of typed input.
    Echo,
}

/// A process that attached to take the input.
#[derive(Clone, Copy, Debug)]
struct Holder {
    /// The badge of its console handle: how its READs are known.
    badge: u64,
    /// Its pid as it said (0: not said); its end gives the input back.
    pid: u64,
    /// Its notification (SIGNAL), ours now.
    notification: Handle,
}

/// Typed input: the line discipline and who takes it.
struct Input {
    line: LineDiscipline,
    /// The holders, the current one last.
    holders: [Option<Holder>; MAX_HOLDERS],
    /// Bytes dropped since the last READ.
    dropped: u64,
    /// Bytes wait in the UART, which the console leaves there (the
    /// interrupt line masked, not acknowledged) until a READ makes room.
    stalled: bool,
    /// Bytes of the reply to the last request if it was a READ: if the
    /// reply is refused, they are lost.
    last_read: usize,
    /// Typed bytes were dropped for want of a holder, and the console said
    /// so (once, until a holder attaches).
    told_dropped: bool,
}

impl Input {
    fn holder(&self) -> Option<Holder> {
        self.holders.iter().rev().find_map(|holder| *holder)
    }

    /// Removes the holders `matches` picks, closing their notifications;
    /// keeps the others in order. Returns whether the current one changed.
    fn remove(&mut self, matches: impl Fn(&Holder) -> bool) -> bool {
        let before = self.holder().map(|h| h.notification);
        let mut kept = [None; MAX_HOLDERS];
        let mut count = 0;
        for holder in self.holders.iter().flatten() {
            if matches(holder) {
                let _ = sys::handle_close(holder.notification);
            } else {
                kept[count] = Some(*holder);
                count += 1;
            }
        }
        self.holders = kept;
        self.holder().map(|h| h.notification) != before
    }

    /// Puts `holder` on top, dropping the oldest when all places are taken.
    fn push(&mut self, holder: Holder) {
        if self.holders.iter().all(Option::is_some) {
            if let Some(oldest) = self.holders[0] {
                let _ = sys::handle_close(oldest.notification);
            }
            self.holders.rotate_left(1);
            self.holders[MAX_HOLDERS - 1] = None;
        }
        let free = self.holders.iter().position(Option::is_none).unwrap_or(MAX_HOLDERS - 1);
        self.holders[free] = Some(holder);
    }

    /// Tells the current holder `bits`.
    fn signal(&self, bits: u64) {
        if let Some(holder) = self.holder() {
            let _ = sys::notify(holder.notification, bits);
        }
    }
}

struct Console {
    ignored: u64,
    open: Open,
    /// None without the interrupt line: output only.
    input: Option<Input>,
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

    /// Ends the open line, if there is one, before output of someone else.
    fn end_open_line(&mut self) {
        if self.open != Open::Nothing {
            self.put(b"\n");
            self.open = Open::Nothing;
        }
    }

    /// Prints what it takes of `text` line by line, each line prefixed with
    /// `name[pid]: ` and its bytes made safe ([`put_program_text`]); returns
    /// how many bytes it took: as many as make at most
    /// [`MAX_WRITE_OUTPUT`] bytes of output (at least one), so one `write`
    /// bounds the work it causes. A line the text leaves open stays open
    /// for this process's next write; other output ends it first.
    ///
    /// [`put_program_text`]: Console::put_program_text
    fn print_lines(&mut self, name: &[u8], pid: u64, text: &[u8]) -> usize {
        let taken = self.fitting(name.len(), pid, text);
        for line in text[..taken].split_inclusive(|&b| b == b'\n') {
            if self.open != Open::Program(pid) {
                self.end_open_line();
                self.put(name);
                self.put(b"[");
                self.put_number(pid);
                self.put(b"]: ");
            }
            self.put_program_text(line);
            self.open = if line.last() == Some(&b'\n') {
                Open::Nothing
            } else {
                Open::Program(pid)
            };
        }
        taken
    }

    /// How many bytes of `text` [`print_lines`](Console::print_lines) takes:
    /// the most whose output, counted at its largest (every `[` escaped),
    /// is at most [`MAX_WRITE_OUTPUT`] bytes; at least one.
    fn fitting(&self, name_len: usize, pid: u64, text: &[u8]) -> usize {
        let prefix = name_len + decimal_digits(pid) + 4;
        let mut open = self.open == Open::Program(pid);
        let mut spent = usize::from(!open && self.open != Open::Nothing);
        for (index, &byte) in text.iter().enumerate() {
            let shown = if escaped(byte) || byte == b'[' { ESCAPE_LEN } else { 1 };
            let cost = shown + if open { 0 } else { prefix };
            if index > 0 && spent + cost > MAX_WRITE_OUTPUT {
                return index;
            }
            spent += cost;
            open = byte != b'\n';
        }
        text.len()
    }

    /// Prints one line of a program's text (ending in `\n`, or the last of
    /// its write) so that it cannot pass for a report: control bytes other
    /// than `\n` and `\t` (a `\r` that would go back to the start of the
    /// line, an escape sequence) are shown as `\xNN`, and so is a `[` that
    /// starts one of [`MARKERS`] (or what may become one in the program's
    /// next write). So program output never holds `[kernel]` or
    /// `[console]`, and a line that starts with either is the kernel's or
    /// the console's, even if a kernel line cuts a program's line in two.
    fn put_program_text(&self, line: &[u8]) {
        for (index, &byte) in line.iter().enumerate() {
            if escaped(byte) || (byte == b'[' && opens_marker(&line[index..])) {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.put(&[b'\\', b'x', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]]);
            } else {
                self.put(&[byte]);
            }
        }
    }

    fn print_notice(&mut self, notice: &Notice) {
        self.end_open_line();
        let mut line = Line::default();
        let _ = core::fmt::write(&mut line, format_args!("[console] {notice}\n"));
        self.put(line.bytes());
    }

    /// Writes what the line discipline echoes, on the open line.
    fn echo(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.put(bytes);
        self.open = if bytes.last() == Some(&b'\n') {
            Open::Nothing
        } else {
            Open::Echo
        };
    }

    /// Takes the bytes the UART holds: through the line discipline to the
    /// holder, or dropped (and counted) when there is none. Stops, leaving
    /// the interrupt line masked, while the holder's lines fill the ring;
    /// else acknowledges the interrupt once the UART is empty.
    ///
    /// The line is edge-triggered, and the I/O APIC ignores an edge while
    /// the line is masked: a byte that arrives after the UART was found
    /// empty but before the acknowledgement raises no interrupt, ever. So
    /// after acknowledging, the console looks once more and, if a byte came
    /// in between, takes it and acknowledges again. A byte that comes after
    /// the acknowledgement raises an edge on the unmasked line.
    fn receive(&mut self) {
        let Some(mut input) = self.input.take() else {
            return;
        };
        let holder = input.holder().is_some();
        let dropped_before = input.dropped;
        loop {
            let bits = self.drain(&mut input, holder);
            if bits != 0 {
                input.signal(bits);
            }
            if input.stalled {
                break;
            }
            let _ = sys::irq_ack(IRQ);
            if inb(LINE_STATUS) & DATA_READY == 0 {
                break;
            }
        }
        if !holder && input.dropped != dropped_before && !input.told_dropped {
            input.told_dropped = true;
            self.end_open_line();
            self.put(b"[console] typed input dropped: no program reads it\n");
        }
        self.input = Some(input);
    }

    /// Reads the UART until it is empty or, with a `holder`, the ring is
    /// full (`input.stalled`); returns the bits to signal.
    fn drain(&mut self, input: &mut Input, holder: bool) -> u64 {
        let mut bits = 0;
        input.stalled = false;
        loop {
            if holder && input.line.room() == 0 {
                input.stalled = true;
                return bits;
            }
            if inb(LINE_STATUS) & DATA_READY == 0 {
                return bits;
            }
            let byte = inb(DATA);
            if !holder {
                input.dropped += 1;
                continue;
            }
            let event = input.line.feed(byte);
            self.echo(event.echo.as_bytes());
            input.dropped += u64::from(event.dropped);
            if event.line {
                bits |= INPUT_READY;
            }
            if event.interrupt {
                bits |= INTERRUPT;
            }
        }
    }

    /// `ATTACH`: `request` passes a notification to signal.
    fn attach(&mut self, request: &Request) -> Reply {
        let Some(input) = self.input.as_mut() else {
            return Reply::error(Error::NOSYS);
        };
        let Some(notification) = request.handle else {
            return Reply::error(Error::INVAL);
        };
        // A notification we may signal (signalling no bits changes nothing).
        if let Err(error) = sys::notify(notification, 0) {
            return Reply::error(error);
        }
        let (badge, pid) = (request.badge, request.word(1).unwrap_or(0));
        input.remove(|holder| holder.badge == badge && holder.pid == pid);
        input.push(Holder {
            badge,
            pid,
            notification,
        });
        input.told_dropped = false;
        if input.line.waiting() > 0 {
            input.signal(INPUT_READY);
        }
        Reply::label(ATTACH).keeping_handle()
    }

    /// `READ`: complete lines for the holder.
    fn read(&mut self, request: &Request, buffer: &mut [u8]) -> Reply {
        let Some(input) = self.input.as_mut() else {
            return Reply::error(Error::NOSYS);
        };
        if input.holder().is_none_or(|holder| holder.badge != request.badge) {
            return Reply::error(Error::NORIGHTS);
        }
        let max = match request.word(0) {
            None | Some(0) => MAX_BUFFER,
            Some(max) => (max as usize).min(MAX_BUFFER),
        };
        let lines = request.word(1).unwrap_or(0) as usize;
        let room = max.min(buffer.len());
        let len = input.line.take(&mut buffer[..room], lines);
        input.last_read = len;
        let dropped = core::mem::take(&mut input.dropped);
        let stalled = input.stalled;
        // Lines typed ahead were echoed before the reader's prompt: show
        // them again after it, where the reader takes them.
        if len > 0
            && input
                .holder()
                .is_some_and(|holder| self.open == Open::Program(holder.pid))
        {
            self.echo(&buffer[..len]);
        }
        if stalled {
            self.receive();
        }
        let waiting = self.input.as_ref().map_or(0, |input| input.line.waiting());
        Reply::with_words(READ, &[dropped, waiting as u64]).with_data(len)
    }

    /// A process ended: if it held the input, the one set aside before it
    /// gets it back; with nobody left, what was typed is dropped.
    fn ended(&mut self, pid: u64) {
        let Some(input) = self.input.as_mut() else {
            return;
        };
        if pid == 0 || !input.remove(|holder| holder.pid == pid) {
            return;
        }
        if input.holder().is_some() {
            if input.line.waiting() > 0 {
                input.signal(INPUT_READY);
            }
        } else {
            input.dropped += input.line.clear() as u64;
            if input.stalled {
                self.receive();
            }
        }
    }
}

/// The starts of the lines the host takes as reports (the kernel's log, the
/// console's notices): program text never shows them.
const MARKERS: [&[u8]; 2] = [b"[kernel]", b"[console]"];
/// The length of an escaped byte: `\xNN`.
const ESCAPE_LEN: usize = 4;

/// Whether a byte of program text is shown escaped: the C0 control bytes but
/// `\n` and `\t`, and DEL.
fn escaped(byte: u8) -> bool {
    (byte < 0x20 && byte != b'\n' && byte != b'\t') || byte == 0x7f
}

/// Whether `rest` (starting with its `[`) starts with one of [`MARKERS`],
/// or ends while it still may.
fn opens_marker(rest: &[u8]) -> bool {
    MARKERS.iter().any(|marker| {
        let len = rest.len().min(marker.len());
        rest[..len] == marker[..len]
    })
}

/// The number of decimal digits of `value`.
fn decimal_digits(mut value: u64) -> usize {
    let mut digits = 1;
    while value >= 10 {
        value /= 10;
        digits += 1;
    }
    digits
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
        if let Some(input) = self.input.as_mut() {
            input.last_read = 0;
        }
        // The kernel's messages have all six words.
        let kernel_words: Option<&[u64; 6]> = request.words().try_into().ok().filter(|_| request.from_kernel);
        match (request.label, kernel_words) {
            (console::WRITE, Some(words)) => {
                let name_words = [words[console::WORD_NAME[0]], words[console::WORD_NAME[1]]];
                let (name, len) = console::unpack_name(name_words);
                let taken = self.print_lines(&name[..len], words[1], &buffer[..request.len]);
                Reply::with_words(0, &[taken as u64])
            }
            (EXIT | FAULT | LIMIT | KILLED, Some(words)) => {
                if let Some(notice) = Notice::decode(request.label, words) {
                    self.print_notice(&notice);
                    self.ended(notice.pid);
                }
                Reply::label(0)
            }
            (ATTACH, _) => self.attach(request),
            (READ, _) => self.read(request, buffer),
            _ => {
                // A program sent something the console does not serve:
                // say so (a few times), and answer with an error it can read.
                self.ignored += 1;
                if self.ignored <= COMPLAINTS {
                    self.end_open_line();
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

    fn reply_refused(&mut self, _error: Error) {
        // A READ's lines the reader could not take are gone.
        if let Some(input) = self.input.as_mut() {
            input.dropped += core::mem::take(&mut input.last_read) as u64;
        }
    }

    fn notification(&mut self, bits: u64) {
        if bits & RECEIVED != 0 {
            self.receive();
        }
    }
}

/// Routes COM1's receive interrupt to a notification bound to the endpoint
/// and turns it on in the UART. None when the manifest granted no
/// interrupt line: the console then only prints.
fn input() -> Option<Input> {
    let notification = sys::notify_create().ok()?;
    if sys::irq_bind(IRQ, notification, RECEIVED).is_err() || sys::notify_bind(notification, ENDPOINT).is_err() {
        let _ = sys::handle_close(notification);
        return None;
    }
    outb(MODEM_CONTROL, MODEM_ON_WITH_INTERRUPTS);
    outb(INTERRUPT_ENABLE, RECEIVE_INTERRUPT);
    Some(Input {
        line: LineDiscipline::new(),
        holders: [None; MAX_HOLDERS],
        dropped: 0,
        stalled: false,
        last_read: 0,
        told_dropped: false,
    })
}

fn main() {
    let mut console = Console {
        ignored: 0,
        open: Open::Nothing,
        input: input(),
    };
    // Bytes typed before now (none, usually) are taken like any others.
    console.receive();
    serve(ENDPOINT, &mut console)
}
