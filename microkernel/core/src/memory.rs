//! Memory objects: runs of physical pages that processes name with handles
//! and map into their address spaces, to share memory without copying.
//!
//! An object is one contiguous run of frames, allocated and zeroed by
//! `mem_create`. It lives while any handle names it or any mapping shows it:
//! closing the last handle does not take the pages from a process that
//! still maps them (there is no revocation), and the frames go back to the
//! allocator when the last handle and the last mapping are gone. Pure
//! bookkeeping, tested on the host; the kernel allocates and frees the
//! frames this table reports.

use crate::physmem::Frame;
use abi::Error;

/// One memory object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Object {
    /// The first frame of the run (meaningful while `pages` is not 0).
    base: Frame,
    /// Pages in the run; 0: the slot is free.
    pages: usize,
    /// Open handles naming it.
    handles: u32,
    /// Mappings (address-space regions) showing it.
    mappings: u32,
}

impl Object {
    const FREE: Object = Object {
        base: Frame::containing(0),
        pages: 0,
        handles: 0,
        mappings: 0,
    };
}

/// A run of frames to give back: an object nobody refers to any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Released {
    /// The first frame.
    pub base: Frame,
    /// How many frames.
    pub pages: usize,
}

/// The memory objects, `N` slots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryObjects<const N: usize> {
    objects: [Object; N],
}

impl<const N: usize> MemoryObjects<N> {
    /// No objects.
    pub const fn new() -> Self {
        MemoryObjects {
            objects: [Object::FREE; N],
        }
    }

    /// A free slot for a new object, or ETABLEFULL.
    pub fn free_slot(&self) -> Result<usize, Error> {
        self.objects.iter().position(|o| o.pages == 0).ok_or(Error::TABLEFULL)
    }

    /// Records a new object of `pages` frames from `base` in the free slot
    /// `slot`. It has no handle and no mapping yet: the caller opens one.
    pub fn create(&mut self, slot: usize, base: Frame, pages: usize) {
        assert!(
            pages > 0 && self.objects[slot].pages == 0,
            "creating over a live object"
        );
        self.objects[slot] = Object {
            base,
            pages,
            handles: 0,
            mappings: 0,
        };
    }

    /// Whether `slot` holds an object.
    pub fn is_live(&self, slot: usize) -> bool {
        self.objects.get(slot).is_some_and(|o| o.pages != 0)
    }

    /// The first frame and the size in pages of object `slot`.
    pub fn frames(&self, slot: usize) -> (Frame, usize) {
        let object = &self.objects[slot];
        assert!(object.pages != 0, "a live memory object has pages");
        (object.base, object.pages)
    }

    /// Live objects.
    pub fn count(&self) -> usize {
        self.objects.iter().filter(|o| o.pages != 0).count()
    }

    /// Pages held by live objects.
    pub fn pages(&self) -> usize {
        self.objects.iter().map(|o| o.pages).sum()
    }

    /// The open handles and mappings of object `slot`.
    pub fn references(&self, slot: usize) -> (u32, u32) {
        let object = &self.objects[slot];
        (object.handles, object.mappings)
    }

    /// Counts a new handle to object `slot`.
    pub fn handle_opened(&mut self, slot: usize) {
        let object = &mut self.objects[slot];
        assert!(object.pages != 0, "a handle to a free object");
        object.handles += 1;
    }

    /// Counts a new mapping of object `slot`.
    pub fn mapped(&mut self, slot: usize) {
        let object = &mut self.objects[slot];
        assert!(object.pages != 0, "mapping a free object");
        object.mappings += 1;
    }

    /// Counts a closed handle; returns the frames to free when that was the
    /// last reference.
    pub fn handle_closed(&mut self, slot: usize) -> Option<Released> {
        let object = &mut self.objects[slot];
        assert!(object.handles > 0, "closing a handle the object does not count");
        object.handles -= 1;
        self.release_if_unused(slot)
    }

    /// Counts a removed mapping; returns the frames to free when that was
    /// the last reference.
    pub fn unmapped(&mut self, slot: usize) -> Option<Released> {
        let object = &mut self.objects[slot];
        assert!(object.mappings > 0, "unmapping a mapping the object does not count");
        object.mappings -= 1;
        self.release_if_unused(slot)
    }

    fn release_if_unused(&mut self, slot: usize) -> Option<Released> {
        let object = self.objects[slot];
        if object.handles != 0 || object.mappings != 0 {
            return None;
        }
        self.objects[slot] = Object::FREE;
        Some(Released {
            base: object.base,
            pages: object.pages,
        })
    }
}

impl<const N: usize> Default for MemoryObjects<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_lives_until_its_last_handle_and_mapping() {
        let mut objects = MemoryObjects::<2>::new();
        let slot = objects.free_slot().unwrap();
        objects.create(slot, Frame::containing(0x10_0000), 4);
        objects.handle_opened(slot);
        objects.mapped(slot);
        objects.handle_opened(slot);
        assert_eq!(objects.references(slot), (2, 1));
        assert_eq!(objects.handle_closed(slot), None);
        assert_eq!(objects.handle_closed(slot), None);
        // The mapping keeps the pages: closing handles revokes nothing.
        assert!(objects.is_live(slot));
        assert_eq!(
            objects.unmapped(slot),
            Some(Released {
                base: Frame::containing(0x10_0000),
                pages: 4
            })
        );
        assert!(!objects.is_live(slot));
        assert_eq!(objects.count(), 0);
    }

    #[test]
    fn the_table_fills() {
        let mut objects = MemoryObjects::<1>::new();
        objects.create(0, Frame::containing(0), 1);
        assert_eq!(objects.free_slot(), Err(Error::TABLEFULL));
        assert_eq!(objects.pages(), 1);
    }
}
