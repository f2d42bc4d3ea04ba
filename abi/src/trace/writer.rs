//! Writing traces on the host: records with consecutive sequence numbers
//! and timestamps after a header, as the kernel writes them. For tests of
//! trace tools and for sample files.

use super::events::Trace;
use super::record::{Record, RecordKind};
use crate::message::MsgFlags;
use crate::{MsgInfo, Syscall};

/// Builds a trace record by record: a header first, then every record
/// pushed gets the next sequence number and a timestamp 1000 counts after
/// the one before.
///
/// ```
/// use abi::Syscall;
/// use abi::trace::TraceWriter;
///
/// let mut writer = TraceWriter::new();
/// writer
///     .start(3, "hello")
///     .enter(3, Syscall::GetPid, &[])
///     .exit(3, Syscall::GetPid, 3, 0, &[]);
/// assert_eq!(writer.trace().lines(), ["+++ hello[3] started +++", "hello[3] get_pid() = 3"]);
/// ```
#[derive(Clone, Debug)]
pub struct TraceWriter {
    records: Vec<Record>,
    sequence: u64,
    clock: u64,
}

impl Default for TraceWriter {
    fn default() -> Self {
        TraceWriter::new()
    }
}

impl TraceWriter {
    /// A trace that holds only its header ([`Record::header`]).
    pub fn new() -> TraceWriter {
        let mut writer = TraceWriter {
            records: Vec::new(),
            sequence: 0,
            clock: 0,
        };
        writer.push(Record::header());
        writer
    }

    /// Appends `record` with the next sequence number and timestamp.
    pub fn push(&mut self, mut record: Record) -> &mut Self {
        self.clock += 1000;
        record.timestamp = self.clock;
        record.sequence = self.sequence;
        self.sequence += 1;
        self.records.push(record);
        self
    }

    /// Leaves out `count` sequence numbers, as if that many records were
    /// lost.
    pub fn lose(&mut self, count: u64) -> &mut Self {
        self.sequence += count;
        self
    }

    /// Process `pid`, named `name`, starts.
    pub fn start(&mut self, pid: u32, name: &str) -> &mut Self {
        let mut record = Record::new(RecordKind::Start, pid);
        let [a, b] = crate::console::pack_name(name);
        record.regs[0] = a;
        record.regs[1] = b;
        self.push(record)
    }

    /// `pid` enters `syscall` with the first of [`super::REGS`] set to
    /// `regs`.
    pub fn enter(&mut self, pid: u32, syscall: Syscall, regs: &[u64]) -> &mut Self {
        let mut record = Record::new(RecordKind::Enter, pid);
        record.number = syscall as u64;
        record.regs[..regs.len()].copy_from_slice(regs);
        self.push(record)
    }

    /// The bytes the syscall `pid` just entered sends.
    pub fn data(&mut self, pid: u32, syscall: Syscall, bytes: &[u8]) -> &mut Self {
        let mut record = Record::new(RecordKind::Data, pid);
        record.number = syscall as u64;
        record.set_data(bytes);
        self.push(record)
    }

    /// `syscall` of `pid` returns `result`, having exchanged a message with
    /// `peer` (0: none), with the first of [`super::REGS`] set to `regs`.
    pub fn exit(&mut self, pid: u32, syscall: Syscall, result: u64, peer: u32, regs: &[u64]) -> &mut Self {
        let mut record = Record::new(RecordKind::Exit, pid);
        record.number = syscall as u64;
        record.result = result;
        record.peer = peer;
        record.regs[..regs.len()].copy_from_slice(regs);
        self.push(record)
    }

    /// `pid` takes exception `vector`.
    pub fn fault(&mut self, pid: u32, vector: u8, error_code: u64, rip: u64, address: u64) -> &mut Self {
        let mut record = Record::new(RecordKind::Fault, pid);
        record.number = vector.into();
        record.regs[..3].copy_from_slice(&[error_code, rip, address]);
        self.push(record)
    }

    /// `pid` ends with `status`, without saying how (label 0).
    pub fn end(&mut self, pid: u32, status: u64) -> &mut Self {
        self.end_with(pid, 0, status)
    }

    /// `pid` ends with the notice `label` (`console::EXIT`, `FAULT` or
    /// `LIMIT`) and `status`.
    pub fn end_with(&mut self, pid: u32, label: u32, status: u64) -> &mut Self {
        let mut record = Record::new(RecordKind::End, pid);
        record.number = label.into();
        record.result = status;
        self.push(record)
    }

    /// The CPU switches from `from` (0: nobody) to `pid`.
    pub fn switch(&mut self, pid: u32, from: u32) -> &mut Self {
        let mut record = Record::new(RecordKind::Switch, pid);
        record.peer = from;
        self.push(record)
    }

    /// The records so far, the header first.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The trace file: every record's bytes, in order.
    pub fn bytes(&self) -> Vec<u8> {
        self.records.iter().flat_map(|r| r.to_bytes()).collect()
    }

    /// The records, decoded.
    pub fn trace(&self) -> Trace {
        Trace::decode(&self.records)
    }
}

/// What hello writes in [`TraceWriter::sample`].
pub const SAMPLE_WRITE: &[u8] = b"Hello from ring 3!\n";

impl TraceWriter {
    /// A sample trace for trace tools and their tests: a console (pid 1)
    /// serving hello (pid 3, writes [`SAMPLE_WRITE`] and exits) and
    /// pingpong (pid 6, calls echo, pid 2), a bad handle, a faulting
    /// program (pid 7) and two lost records.
    pub fn sample() -> TraceWriter {
        let ping = MsgInfo::new(7, 6, 64).0;
        let write_info = MsgInfo::new(crate::console::WRITE, 6, SAMPLE_WRITE.len())
            .with_flags(MsgFlags::KERNEL)
            .0;
        let mut writer = TraceWriter::new();
        writer
            .start(1, "console")
            .start(2, "echo")
            .start(3, "hello")
            .start(6, "pingpong")
            .start(7, "faulty")
            // The console waits.
            .enter(1, Syscall::ReplyRecv, &[0, 0, 0x10_0000, 4096])
            // hello writes; the console receives the forwarded WRITE.
            .enter(3, Syscall::Write, &[1, 0x2037a0, SAMPLE_WRITE.len() as u64])
            .data(3, Syscall::Write, SAMPLE_WRITE)
            .switch(1, 3)
            .exit(
                1,
                Syscall::ReplyRecv,
                0,
                3,
                &[9, write_info, 0x10_0000, 4096, 1, 3, 0, 0, 0, 0],
            )
            .enter(
                1,
                Syscall::ReplyRecv,
                &[0, MsgInfo::new(0, 1, 0).0, 0x10_0000, 4096, 19],
            )
            .switch(3, 1)
            .exit(
                3,
                Syscall::Write,
                SAMPLE_WRITE.len() as u64,
                1,
                &[1, 0x2037a0, SAMPLE_WRITE.len() as u64],
            )
            .enter(3, Syscall::Exit, &[0])
            .end(3, 0)
            // pingpong calls echo, which was waiting in recv.
            .enter(2, Syscall::Recv, &[1, 0, 0x30_0000, 4096])
            .enter(6, Syscall::Call, &[1, ping, 0x40_0000, 64, 0, 1, 2, 3, 4, 5])
            .exit(2, Syscall::Recv, 0, 6, &[5, ping, 0x30_0000, 4096, 0, 1, 2, 3, 4, 5])
            .enter(2, Syscall::ReplyRecv, &[1, ping, 0x30_0000, 4096, 0, 1, 2, 3, 4, 5])
            .exit(6, Syscall::Call, 0, 2, &[0, ping, 0x40_0000, 64, 0, 1, 2, 3, 4, 5])
            // A bad handle.
            .enter(6, Syscall::HandleClose, &[0x105])
            .exit(
                6,
                Syscall::HandleClose,
                crate::Error::BADHANDLE.to_return(),
                0,
                &[0x105],
            )
            .lose(2)
            // faulty reads address 0.
            .fault(7, 14, 0b100, 0x20_154a, 0)
            .end(7, 0);
        writer
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// [`TraceWriter::sample`], for the tests of the other trace modules.
    pub fn scenario() -> TraceWriter {
        TraceWriter::sample()
    }

    #[test]
    fn the_header_comes_first_and_sequences_count_from_zero() {
        let writer = scenario();
        let records = writer.records();
        assert_eq!(records[0].kind(), Some(RecordKind::Header));
        assert_eq!(records[0].sequence, 0);
        assert_eq!(records[1].sequence, 1);
        assert!(records.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
        assert_eq!(writer.bytes().len(), records.len() * super::super::RECORD_SIZE);
    }
}
