//! The trace record: its layout, its kinds and the header that starts a
//! trace.

/// I/O port of the trace channel (`-device isa-debugcon,iobase=0xe9,chardev=…`).
pub const TRACE_PORT: u16 = 0xe9;
/// First two bytes of every record.
pub const MAGIC: u16 = 0x7a5c;
/// Bytes in a record.
pub const RECORD_SIZE: usize = 128;
/// Registers a record carries, in this order (the IPC registers include the
/// six syscall argument registers).
pub const REGS: [crate::regs::Reg; 10] = {
    use crate::regs::Reg::*;
    [Rdi, Rsi, Rdx, R10, R8, R9, R12, R13, R14, R15]
};
/// Bytes of buffer a `Data` record carries.
pub const DATA_BYTES: usize = 80;
/// `regs[0]` of a `Header` record: the bytes `uktrace` and a zero, so a
/// file that starts with a header says what it is.
pub const HEADER_MAGIC: u64 = u64::from_le_bytes(*b"uktrace\0");

/// What a record describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordKind {
    /// A syscall started: `number`, `regs` are its arguments.
    Enter = 1,
    /// The syscall of `pid` returns: `result` is RAX, `regs` the registers
    /// it returns with, `peer` the process it exchanged a message with.
    Exit = 2,
    /// Up to 80 bytes (`len`) of the buffer the preceding `Enter` sends.
    Data = 3,
    /// The process faulted: `number` is the vector, `regs[0]` the error code,
    /// `regs[1]` RIP, `regs[2]` the fault address.
    Fault = 4,
    /// A process started: `regs[0..2]` its packed name (`console::pack_name`).
    Start = 5,
    /// A process ended: `number` is the label of its notice
    /// (`console::EXIT`, `FAULT` or `LIMIT`), `result` its exit status (or 0).
    End = 6,
    /// The CPU now runs `pid`; `peer` ran before (0: nobody).
    Switch = 7,
    /// The first record of a trace: `number` is the ABI version of the
    /// kernel that wrote it (`major << 16 | minor`), `regs[0]` is
    /// `HEADER_MAGIC` and `regs[1]` the record size.
    Header = 8,
}

impl RecordKind {
    /// Every kind, in the order of their values.
    pub const ALL: [RecordKind; 8] = [
        RecordKind::Enter,
        RecordKind::Exit,
        RecordKind::Data,
        RecordKind::Fault,
        RecordKind::Start,
        RecordKind::End,
        RecordKind::Switch,
        RecordKind::Header,
    ];

    /// The kind whose value is `value`, if there is one.
    pub fn from_u8(value: u8) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|kind| *kind as u8 == value)
    }

    /// The lower-case name the reference and the decoders use (`enter`).
    pub const fn name(self) -> &'static str {
        match self {
            RecordKind::Enter => "enter",
            RecordKind::Exit => "exit",
            RecordKind::Data => "data",
            RecordKind::Fault => "fault",
            RecordKind::Start => "start",
            RecordKind::End => "end",
            RecordKind::Switch => "switch",
            RecordKind::Header => "header",
        }
    }
}

/// The lower-case name: `enter`.
impl core::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.pad(self.name())
    }
}

/// One trace record, exactly as it travels (little-endian, `repr(C)`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// [`MAGIC`].
    pub magic: u16,
    /// A [`RecordKind`].
    pub kind: u8,
    /// The CPU that wrote the record.
    pub cpu: u8,
    /// The process the record is about.
    pub pid: u32,
    /// Guest TSC (instructions under `-icount shift=0`).
    pub timestamp: u64,
    /// Syscall number (Enter/Exit), exception vector (Fault), notice label (End).
    pub number: u64,
    /// The registers in [`REGS`] (Enter: arguments, Exit: results), or the
    /// record's payload (Data: bytes, Start: name, Fault: error code, RIP,
    /// address).
    pub regs: [u64; 10],
    /// RAX after the syscall (Exit), exit status (End).
    pub result: u64,
    /// The process a message went to or came from (Exit), the previous
    /// process (Switch); 0 for none.
    pub peer: u32,
    /// Valid bytes of a `Data` record.
    pub len: u32,
    /// Sequence number, counting from 0 at boot; a gap means lost records.
    pub sequence: u64,
}

const _: () = assert!(core::mem::size_of::<Record>() == RECORD_SIZE);

impl Record {
    /// An empty record of `kind`.
    pub const fn new(kind: RecordKind, pid: u32) -> Record {
        Record {
            magic: MAGIC,
            kind: kind as u8,
            cpu: 0,
            pid,
            timestamp: 0,
            number: 0,
            regs: [0; 10],
            result: 0,
            peer: 0,
            len: 0,
            sequence: 0,
        }
    }

    /// The header that starts a trace, for the ABI version this crate
    /// defines ([`crate::ABI_VERSION`]).
    pub const fn header() -> Record {
        let mut record = Record::new(RecordKind::Header, 0);
        record.number = crate::ABI_VERSION as u64;
        record.regs[0] = HEADER_MAGIC;
        record.regs[1] = RECORD_SIZE as u64;
        record
    }

    /// The record's bytes.
    pub fn to_bytes(&self) -> [u8; RECORD_SIZE] {
        let mut out = [0u8; RECORD_SIZE];
        out[0..2].copy_from_slice(&self.magic.to_le_bytes());
        out[2] = self.kind;
        out[3] = self.cpu;
        out[4..8].copy_from_slice(&self.pid.to_le_bytes());
        out[8..16].copy_from_slice(&self.timestamp.to_le_bytes());
        out[16..24].copy_from_slice(&self.number.to_le_bytes());
        for (i, reg) in self.regs.iter().enumerate() {
            out[24 + i * 8..32 + i * 8].copy_from_slice(&reg.to_le_bytes());
        }
        out[104..112].copy_from_slice(&self.result.to_le_bytes());
        out[112..116].copy_from_slice(&self.peer.to_le_bytes());
        out[116..120].copy_from_slice(&self.len.to_le_bytes());
        out[120..128].copy_from_slice(&self.sequence.to_le_bytes());
        out
    }

    /// Decodes a record; `None` if the magic or kind is wrong.
    pub fn from_bytes(bytes: &[u8; RECORD_SIZE]) -> Option<Record> {
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let magic = u16::from_le_bytes([bytes[0], bytes[1]]);
        if magic != MAGIC {
            return None;
        }
        RecordKind::from_u8(bytes[2])?;
        let mut regs = [0u64; 10];
        for (i, reg) in regs.iter_mut().enumerate() {
            *reg = u64_at(24 + i * 8);
        }
        Some(Record {
            magic,
            kind: bytes[2],
            cpu: bytes[3],
            pid: u32_at(4),
            timestamp: u64_at(8),
            number: u64_at(16),
            regs,
            result: u64_at(104),
            peer: u32_at(112),
            len: u32_at(116),
            sequence: u64_at(120),
        })
    }

    /// Its kind, if it is one this crate knows.
    pub fn kind(&self) -> Option<RecordKind> {
        RecordKind::from_u8(self.kind)
    }

    /// The bytes of a `Data` record.
    pub fn data(&self) -> &[u8] {
        // SAFETY: `regs` is 80 plain bytes of a `repr(C)` struct; any byte
        // pattern is a valid `u8`.
        let bytes = unsafe { core::slice::from_raw_parts(self.regs.as_ptr() as *const u8, DATA_BYTES) };
        &bytes[..(self.len as usize).min(DATA_BYTES)]
    }

    /// Stores up to 80 bytes as the payload of a `Data` record.
    pub fn set_data(&mut self, data: &[u8]) {
        let len = data.len().min(DATA_BYTES);
        let mut bytes = [0u8; DATA_BYTES];
        bytes[..len].copy_from_slice(&data[..len]);
        for (i, chunk) in bytes.chunks_exact(8).enumerate() {
            self.regs[i] = u64::from_ne_bytes(chunk.try_into().expect("8 bytes"));
        }
        self.len = len as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn layout_is_pinned() {
        assert_eq!(offset_of!(Record, kind), 2);
        assert_eq!(offset_of!(Record, pid), 4);
        assert_eq!(offset_of!(Record, timestamp), 8);
        assert_eq!(offset_of!(Record, number), 16);
        assert_eq!(offset_of!(Record, regs), 24);
        assert_eq!(offset_of!(Record, result), 104);
        assert_eq!(offset_of!(Record, peer), 112);
        assert_eq!(offset_of!(Record, len), 116);
        assert_eq!(offset_of!(Record, sequence), 120);
    }

    #[test]
    fn bytes_round_trip_and_match_the_memory_layout() {
        let mut record = Record::new(RecordKind::Exit, 7);
        record.timestamp = 0x1122_3344_5566_7788;
        record.number = 5;
        record.regs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        record.result = u64::MAX;
        record.peer = 3;
        record.sequence = 99;
        let bytes = record.to_bytes();
        assert_eq!(Record::from_bytes(&bytes), Some(record));
        // SAFETY: reading a repr(C) struct of integers as bytes.
        let raw = unsafe { core::slice::from_raw_parts(&raw const record as *const u8, RECORD_SIZE) };
        assert_eq!(
            raw,
            &bytes[..],
            "to_bytes is the in-memory layout on little-endian x86_64"
        );
        let mut bad = bytes;
        bad[0] = 0;
        assert_eq!(Record::from_bytes(&bad), None);
        let mut bad = bytes;
        bad[2] = 99;
        assert_eq!(Record::from_bytes(&bad), None);
    }

    #[test]
    fn kinds_round_trip_and_display() {
        for kind in RecordKind::ALL {
            assert_eq!(RecordKind::from_u8(kind as u8), Some(kind));
            assert_eq!(std::format!("{kind}"), std::format!("{kind:?}").to_lowercase());
        }
        assert_eq!(RecordKind::from_u8(0), None);
        assert_eq!(RecordKind::from_u8(RecordKind::ALL.len() as u8 + 1), None);
    }

    #[test]
    fn data_payload() {
        let mut record = Record::new(RecordKind::Data, 1);
        record.set_data(b"Hello, world\n");
        assert_eq!(record.data(), b"Hello, world\n");
        record.set_data(&[7u8; 200]);
        assert_eq!(record.data().len(), DATA_BYTES);
    }
}
