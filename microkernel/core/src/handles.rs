//! Per-process handle tables.
//!
//! A handle names a kernel object (an endpoint, a memory object, a
//! notification, an interrupt line or a process) with rights and a badge. Its value is a slot index plus the slot's generation
//! (`index | generation << 8`): after a handle is closed and its slot reused,
//! the old value no longer matches, so a stale handle is `EBADHANDLE` rather
//! than a name for someone else's object. The first handle of a fresh table
//! is 0, the console handle by convention.

use abi::Error;
use abi::handle::{Handle, MAX_HANDLES, Rights};

const _: () = assert!(MAX_HANDLES <= 1 << abi::handle::INDEX_BITS);

/// A kernel object a handle can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object {
    /// An IPC endpoint: its slot in the endpoint table.
    Endpoint(usize),
    /// A memory object: its slot in the memory-object table.
    Memory(usize),
    /// A notification: its slot in the notification table.
    Notification(usize),
    /// An interrupt line.
    Irq(usize),
    /// A process: its slot in the process-record table.
    Process(usize),
}

/// What a handle names: an object, the rights its holder has and the badge
/// receivers see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandleEntry {
    /// The object; it counts this handle among its references while it is
    /// open (`crate::objects`).
    pub object: Object,
    /// What the holder may do with it.
    pub rights: Rights,
    /// Delivered to the receiver with every message sent through this
    /// handle (endpoints), or ORed into every signal sent through it
    /// (notifications). 0 means unbadged: [`HandleTable::duplicate`]
    /// may give a copy a badge, but a non-zero badge is never changed.
    pub badge: u64,
}

impl HandleEntry {
    /// The contents of a closed slot.
    const NONE: HandleEntry = HandleEntry {
        object: Object::Endpoint(0),
        rights: Rights::empty(),
        badge: 0,
    };

    /// A handle to endpoint `endpoint`.
    pub const fn endpoint_handle(endpoint: usize, rights: Rights, badge: u64) -> HandleEntry {
        HandleEntry {
            object: Object::Endpoint(endpoint),
            rights,
            badge,
        }
    }

    /// The endpoint it names; EWRONGKIND for another kind of object.
    #[inline(always)]
    pub fn endpoint(&self) -> Result<usize, Error> {
        match self.object {
            Object::Endpoint(endpoint) => Ok(endpoint),
            _ => Err(Error::WRONGKIND),
        }
    }

    /// The memory object it names; EWRONGKIND for another kind of object.
    pub fn memory(&self) -> Result<usize, Error> {
        match self.object {
            Object::Memory(object) => Ok(object),
            _ => Err(Error::WRONGKIND),
        }
    }

    /// The notification it names; EWRONGKIND for another kind of object.
    pub fn notification(&self) -> Result<usize, Error> {
        match self.object {
            Object::Notification(notification) => Ok(notification),
            _ => Err(Error::WRONGKIND),
        }
    }

    /// The interrupt line it names; EWRONGKIND for another kind of object.
    pub fn irq(&self) -> Result<usize, Error> {
        match self.object {
            Object::Irq(line) => Ok(line),
            _ => Err(Error::WRONGKIND),
        }
    }

    /// The process record it names; EWRONGKIND for another kind of object.
    pub fn process(&self) -> Result<usize, Error> {
        match self.object {
            Object::Process(record) => Ok(record),
            _ => Err(Error::WRONGKIND),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    /// Meaningful only while `value` is not [`CLOSED`].
    entry: HandleEntry,
    generation: u32,
    /// The handle naming this slot while it is open, [`CLOSED`] otherwise:
    /// a lookup is one comparison.
    value: Handle,
}

/// `value` of a closed slot. No handle equals it: its index bits are out of
/// range.
const CLOSED: Handle = u64::MAX;

/// One process's handles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandleTable {
    slots: [Slot; MAX_HANDLES],
    open: usize,
}

impl HandleTable {
    /// A table with every slot closed and every generation 0: its first
    /// handle will be 0.
    pub const fn new() -> HandleTable {
        HandleTable {
            slots: [Slot {
                entry: HandleEntry::NONE,
                generation: 0,
                value: CLOSED,
            }; MAX_HANDLES],
            open: 0,
        }
    }

    fn handle(index: usize, generation: u32) -> Handle {
        abi::handle::make(index, generation)
    }

    #[inline(always)]
    fn slot_of(&self, handle: Handle) -> Result<usize, Error> {
        let index = abi::handle::index(handle);
        match self.slots.get(index) {
            Some(slot) if slot.value == handle => Ok(index),
            _ => Err(Error::BADHANDLE),
        }
    }

    /// Stores `entry` in the lowest free slot.
    pub fn insert(&mut self, entry: HandleEntry) -> Result<Handle, Error> {
        let index = self
            .slots
            .iter()
            .position(|s| s.value == CLOSED)
            .ok_or(Error::TABLEFULL)?;
        let slot = &mut self.slots[index];
        slot.entry = entry;
        slot.value = Self::handle(index, slot.generation);
        self.open += 1;
        Ok(slot.value)
    }

    /// Whether one more handle fits.
    pub fn has_room(&self) -> bool {
        self.open < MAX_HANDLES
    }

    /// Looks a handle up.
    #[inline(always)]
    pub fn get(&self, handle: Handle) -> Result<HandleEntry, Error> {
        let index = self.slot_of(handle)?;
        Ok(self.slots[index].entry)
    }

    /// Looks a handle up and checks it has every right in `needed`.
    #[inline(always)]
    pub fn require(&self, handle: Handle, needed: Rights) -> Result<HandleEntry, Error> {
        let entry = self.get(handle)?;
        if !entry.rights.contains(needed) {
            return Err(Error::NORIGHTS);
        }
        Ok(entry)
    }

    /// Closes a handle; its slot's generation moves on.
    pub fn remove(&mut self, handle: Handle) -> Result<HandleEntry, Error> {
        let index = self.slot_of(handle)?;
        let slot = &mut self.slots[index];
        let entry = slot.entry;
        slot.generation = slot.generation.wrapping_add(1) & 0x00ff_ffff;
        slot.value = CLOSED;
        self.open -= 1;
        Ok(entry)
    }

    /// Derives a new handle to the same object with a subset of the rights
    /// and (if the original has none) a badge. Needs the TRANSFER right.
    pub fn duplicate(&mut self, handle: Handle, rights: u64, badge: u64) -> Result<Handle, Error> {
        let original = self.require(handle, Rights::TRANSFER)?;
        let rights = Rights::from_bits(rights).ok_or(Error::INVAL)?;
        if !original.rights.contains(rights) {
            return Err(Error::NORIGHTS);
        }
        let badge = match (original.badge, badge) {
            (0, badge) => badge,
            (kept, 0) => kept,
            (kept, badge) if kept == badge => kept,
            _ => return Err(Error::INVAL),
        };
        self.insert(HandleEntry {
            object: original.object,
            rights,
            badge,
        })
    }

    /// Open handles.
    pub fn len(&self) -> usize {
        self.open
    }

    /// Whether no handle is open.
    pub fn is_empty(&self) -> bool {
        self.open == 0
    }

    /// The open handles and what they name, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Handle, HandleEntry)> + '_ {
        self.slots
            .iter()
            .filter(|slot| slot.value != CLOSED)
            .map(|slot| (slot.value, slot.entry))
    }

    /// Closes every handle, yielding what each named, in slot order; each
    /// slot's generation moves on as with [`HandleTable::remove`].
    ///
    /// The count of open handles drops to 0 at once but slots close only as
    /// the iterator reaches them: run it to the end.
    pub fn drain(&mut self) -> impl Iterator<Item = HandleEntry> + '_ {
        self.open = 0;
        self.slots.iter_mut().filter_map(|slot| {
            if slot.value == CLOSED {
                return None;
            }
            let entry = slot.entry;
            slot.generation = slot.generation.wrapping_add(1) & 0x00ff_ffff;
            slot.value = CLOSED;
            Some(entry)
        })
    }

    /// Resets to a fresh table (all generations 0), for a new process.
    pub fn reset(&mut self) {
        *self = HandleTable::new();
    }
}

impl Default for HandleTable {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(endpoint: usize, rights: Rights, badge: u64) -> HandleEntry {
        HandleEntry::endpoint_handle(endpoint, rights, badge)
    }

    #[test]
    fn handles_start_at_zero_and_carry_rights_and_badges() {
        let mut table = HandleTable::new();
        assert_eq!(table.insert(entry(4, Rights::SEND, 9)), Ok(0));
        assert_eq!(table.insert(entry(5, Rights::RECEIVE, 0)), Ok(1));
        assert_eq!(table.get(0).unwrap().badge, 9);
        assert_eq!(table.require(0, Rights::SEND).unwrap().endpoint(), Ok(4));
        assert_eq!(table.require(0, Rights::RECEIVE), Err(Error::NORIGHTS));
        assert_eq!(table.require(1, Rights::SEND | Rights::RECEIVE), Err(Error::NORIGHTS));
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn forged_out_of_range_and_stale_handles_are_refused() {
        let mut table = HandleTable::new();
        let first = table.insert(entry(1, Rights::SEND, 0)).unwrap();
        assert_eq!(table.get(7), Err(Error::BADHANDLE));
        assert_eq!(table.get(MAX_HANDLES as u64), Err(Error::BADHANDLE));
        assert_eq!(table.get(u64::MAX), Err(Error::BADHANDLE));
        assert_eq!(table.get(first | 1 << 8), Err(Error::BADHANDLE));
        table.remove(first).unwrap();
        assert_eq!(table.remove(first), Err(Error::BADHANDLE));
        let reused = table.insert(entry(2, Rights::SEND, 0)).unwrap();
        assert_eq!(reused & 0xff, first & 0xff, "the slot is reused");
        assert_ne!(reused, first, "but the old value is stale");
        assert_eq!(table.get(first), Err(Error::BADHANDLE));
        assert_eq!(table.get(reused).unwrap().endpoint(), Ok(2));
    }

    #[test]
    fn a_full_table_is_an_error() {
        let mut table = HandleTable::new();
        for _ in 0..MAX_HANDLES {
            table.insert(entry(0, Rights::SEND, 0)).unwrap();
        }
        assert!(!table.has_room());
        assert_eq!(table.insert(entry(0, Rights::SEND, 0)), Err(Error::TABLEFULL));
        assert_eq!(table.drain().count(), MAX_HANDLES);
        assert!(table.is_empty());
    }

    #[test]
    fn duplicate_needs_transfer_and_only_narrows() {
        let mut table = HandleTable::new();
        let all = Rights::SEND | Rights::RECEIVE | Rights::TRANSFER;
        let root = table.insert(entry(3, all, 0)).unwrap();
        let plain = table.insert(entry(3, Rights::SEND, 0)).unwrap();
        let client = table.duplicate(root, Rights::SEND.bits(), 42).unwrap();
        assert_eq!(table.get(client).unwrap(), entry(3, Rights::SEND, 42));
        assert_eq!(table.duplicate(plain, Rights::SEND.bits(), 1), Err(Error::NORIGHTS));
        assert_eq!(table.duplicate(root, 1 << 10, 1), Err(Error::INVAL));
        let badged = table.duplicate(root, all.bits(), 7).unwrap();
        assert_eq!(
            table
                .duplicate(badged, Rights::SEND.bits(), 0)
                .map(|h| table.get(h).unwrap().badge),
            Ok(7)
        );
        assert_eq!(table.duplicate(badged, Rights::SEND.bits(), 8), Err(Error::INVAL));
        let narrowed = table.duplicate(root, Rights::TRANSFER.bits(), 0).unwrap();
        assert_eq!(table.duplicate(narrowed, Rights::SEND.bits(), 0), Err(Error::NORIGHTS));
    }
}
