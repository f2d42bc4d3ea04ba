//! The regions of one address space: what each mapped range of the user
//! half is, with what permissions, and what backs it.
//!
//! A region is a page-aligned range with the same permissions and the same
//! backing throughout: private pages the process owns (its image, its
//! stack, anonymous memory; a missing one is a zero page made on first
//! touch), or a window on a memory object. Regions never overlap; changing
//! the middle of one splits it. Pure bookkeeping over a fixed-capacity
//! table, tested on the host; `crate::vm` changes the page tables to match.

use abi::memory::Perms;
use abi::{Error, PAGE_SIZE};
use heapless::Vec;

/// Regions one address space can have.
pub const MAX_REGIONS: usize = 32;

/// What backs a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Pages the process owns, made zero on first touch where missing.
    Private,
    /// Pages of memory object `object`, from its page `offset` on.
    Object {
        /// The object's slot.
        object: usize,
        /// The object's page shown at the region's start.
        offset: u64,
    },
}

/// One mapped range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First address (page-aligned).
    pub start: u64,
    /// Length in pages (at least 1).
    pub pages: u64,
    /// What ring 3 may do with it now.
    pub perms: Perms,
    /// The most it may ever be allowed (a memory object's handle rights).
    pub max: Perms,
    /// What backs it.
    pub backing: Backing,
}

impl Region {
    /// One past its last address.
    pub fn end(&self) -> u64 {
        self.start + self.pages * PAGE_SIZE
    }

    /// Whether it holds `address`.
    pub fn contains(&self, address: u64) -> bool {
        (self.start..self.end()).contains(&address)
    }

    /// The part of it in `[start, end)` (which must overlap it).
    fn clip(&self, start: u64, end: u64) -> Region {
        let (from, to) = (self.start.max(start), self.end().min(end));
        let backing = match self.backing {
            Backing::Private => Backing::Private,
            Backing::Object { object, offset } => Backing::Object {
                object,
                offset: offset + (from - self.start) / PAGE_SIZE,
            },
        };
        Region {
            start: from,
            pages: (to - from) / PAGE_SIZE,
            backing,
            ..*self
        }
    }
}

/// The regions of one address space, sorted by address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Regions {
    list: Vec<Region, MAX_REGIONS>,
}

impl Regions {
    /// No regions.
    pub const fn new() -> Regions {
        Regions { list: Vec::new() }
    }

    /// The regions, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = &Region> {
        self.list.iter()
    }

    /// How many regions there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Forgets every region (the address space is gone).
    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// The region holding `address`.
    pub fn find(&self, address: u64) -> Option<&Region> {
        self.list.iter().find(|r| r.contains(address))
    }

    /// Whether any region overlaps `[start, end)`.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.list.iter().any(|r| r.start < end && start < r.end())
    }

    /// The lowest address from which `pages` free pages fit below `limit`,
    /// at `from` or above.
    pub fn gap(&self, from: u64, limit: u64, pages: u64) -> Option<u64> {
        let size = pages.checked_mul(PAGE_SIZE)?;
        let mut candidate = from;
        for region in &self.list {
            if region.end() <= candidate {
                continue;
            }
            if region.start >= candidate.checked_add(size)? {
                break;
            }
            candidate = region.end();
        }
        (candidate.checked_add(size)? <= limit).then_some(candidate)
    }

    /// Adds a region that overlaps none. ETABLEFULL when the table is full.
    pub fn insert(&mut self, region: Region) -> Result<(), Error> {
        assert!(!self.overlaps(region.start, region.end()), "regions never overlap");
        let at = self
            .list
            .iter()
            .position(|r| r.start > region.start)
            .unwrap_or(self.list.len());
        self.list.insert(at, region).map_err(|_| Error::TABLEFULL)
    }

    /// How many regions there would be after `[start, end)` is removed.
    fn len_after_remove(&self, start: u64, end: u64) -> usize {
        self.list
            .iter()
            .map(|r| {
                if r.end() <= start || r.start >= end {
                    1
                } else {
                    usize::from(r.start < start) + usize::from(r.end() > end)
                }
            })
            .sum()
    }

    /// How many regions `[start, end)` overlaps.
    fn overlapping(&self, start: u64, end: u64) -> usize {
        self.list.iter().filter(|r| r.start < end && start < r.end()).count()
    }

    /// Removes `[start, end)` from every region it overlaps, splitting the
    /// ones it cuts; returns the pieces removed. ETABLEFULL (and nothing
    /// changed) when a split needs a slot the table does not have.
    pub fn remove(&mut self, start: u64, end: u64) -> Result<Vec<Region, MAX_REGIONS>, Error> {
        if self.len_after_remove(start, end) > MAX_REGIONS {
            return Err(Error::TABLEFULL);
        }
        let mut removed = Vec::new();
        let mut kept: Vec<Region, MAX_REGIONS> = Vec::new();
        for region in &self.list {
            if region.end() <= start || region.start >= end {
                let _ = kept.push(*region);
                continue;
            }
            let _ = removed.push(region.clip(start, end));
            if region.start < start {
                let _ = kept.push(region.clip(region.start, start));
            }
            if region.end() > end {
                let _ = kept.push(region.clip(end, region.end()));
            }
        }
        self.list = kept;
        Ok(removed)
    }

    /// Gives `[start, end)` the permissions `perms`, splitting the regions
    /// it cuts; returns the pieces changed (with their new permissions).
    /// EINVAL if a page of the range is not mapped, ENORIGHTS if `perms`
    /// exceeds a region's maximum, ETABLEFULL if a split does not fit;
    /// nothing changes then.
    pub fn protect(&mut self, start: u64, end: u64, perms: Perms) -> Result<Vec<Region, MAX_REGIONS>, Error> {
        let mut covered = start;
        for region in self.list.iter().filter(|r| r.start < end && start < r.end()) {
            if region.start > covered {
                return Err(Error::INVAL);
            }
            if !region.max.contains(perms) {
                return Err(Error::NORIGHTS);
            }
            covered = region.end();
        }
        if covered < end {
            return Err(Error::INVAL);
        }
        if self.len_after_remove(start, end) + self.overlapping(start, end) > MAX_REGIONS {
            return Err(Error::TABLEFULL);
        }
        let pieces = self.remove(start, end)?;
        let mut changed = Vec::new();
        for piece in &pieces {
            let piece = Region { perms, ..*piece };
            self.insert(piece).expect("the removed range has room for its pieces");
            let _ = changed.push(piece);
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = PAGE_SIZE;

    fn private(start: u64, pages: u64) -> Region {
        Region {
            start,
            pages,
            perms: Perms::READ | Perms::WRITE,
            max: Perms::all(),
            backing: Backing::Private,
        }
    }

    #[test]
    fn gaps_are_first_fit() {
        let mut regions = Regions::new();
        regions.insert(private(10 * P, 2)).unwrap();
        regions.insert(private(13 * P, 1)).unwrap();
        assert_eq!(regions.gap(10 * P, 100 * P, 1), Some(12 * P));
        assert_eq!(regions.gap(10 * P, 100 * P, 2), Some(14 * P));
        assert_eq!(regions.gap(0, 100 * P, 10), Some(0));
        assert_eq!(regions.gap(10 * P, 15 * P, 2), None);
        assert_eq!(regions.gap(u64::MAX - P, u64::MAX, 4), None);
        assert!(regions.overlaps(11 * P, 12 * P));
        assert!(!regions.overlaps(12 * P, 13 * P));
    }

    #[test]
    fn removing_the_middle_splits() {
        let mut regions = Regions::new();
        regions.insert(private(0, 10)).unwrap();
        let removed = regions.remove(3 * P, 5 * P).unwrap();
        assert_eq!(removed.as_slice(), &[private(3 * P, 2)]);
        let left: Vec<(u64, u64), 4> = regions.iter().map(|r| (r.start, r.pages)).collect();
        assert_eq!(left.as_slice(), &[(0, 3), (5 * P, 5)]);
        // Removing across both and beyond.
        let removed = regions.remove(2 * P, 20 * P).unwrap();
        assert_eq!(removed.len(), 2);
        assert_eq!(regions.iter().count(), 1);
    }

    #[test]
    fn object_pieces_keep_their_offsets() {
        let mut regions = Regions::new();
        let window = Region {
            backing: Backing::Object { object: 3, offset: 1 },
            ..private(8 * P, 4)
        };
        regions.insert(window).unwrap();
        let removed = regions.remove(9 * P, 10 * P).unwrap();
        assert_eq!(removed[0].backing, Backing::Object { object: 3, offset: 2 });
        let tail = regions.find(10 * P).unwrap();
        assert_eq!(tail.backing, Backing::Object { object: 3, offset: 3 });
    }

    #[test]
    fn protect_needs_a_mapped_range_within_the_maximum() {
        let mut regions = Regions::new();
        regions.insert(private(0, 4)).unwrap();
        regions.insert(private(5 * P, 1)).unwrap();
        assert_eq!(regions.protect(0, 6 * P, Perms::READ), Err(Error::INVAL));
        let object = Region {
            max: Perms::READ,
            ..private(8 * P, 1)
        };
        regions.insert(object).unwrap();
        assert_eq!(
            regions.protect(8 * P, 9 * P, Perms::READ | Perms::WRITE),
            Err(Error::NORIGHTS)
        );
        let changed = regions.protect(P, 2 * P, Perms::READ).unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(regions.len(), 5);
        assert_eq!(regions.find(P).unwrap().perms, Perms::READ);
        assert_eq!(regions.find(0).unwrap().perms, Perms::READ | Perms::WRITE);
    }

    #[test]
    fn a_full_table_refuses_a_split_and_changes_nothing() {
        let mut regions = Regions::new();
        for i in 0..MAX_REGIONS as u64 {
            regions.insert(private(i * 4 * P, 3)).unwrap();
        }
        let before = regions.clone();
        assert_eq!(regions.remove(P, 2 * P), Err(Error::TABLEFULL));
        assert_eq!(regions, before);
        // Removing a whole region needs no split.
        assert_eq!(regions.remove(0, 3 * P).unwrap().len(), 1);
        assert_eq!(regions.insert(private(200 * P, 1)), Ok(()));
        assert_eq!(regions.insert(private(300 * P, 1)), Err(Error::TABLEFULL));
    }
}
