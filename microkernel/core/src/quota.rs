//! A process's memory limit: the pages it may use, the pages it uses, and
//! the memory objects it refers to (each counted once, however many
//! handles and mappings it has of it). Pure bookkeeping, tested on the
//! host; `crate::vm` and `crate::objects` charge and uncharge it.

use crate::config::MAX_PROCESS_OBJECTS;
use abi::Error;
use heapless::Vec;

/// What a process may use and uses: pages of memory, and the memory objects
/// it refers to (each counted once, however many handles and mappings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Pages it may use.
    pub limit: u64,
    /// Pages it uses.
    pub used: u64,
    /// Memory objects it refers to, and by how many handles and mappings.
    objects: Vec<(usize, u32), MAX_PROCESS_OBJECTS>,
}

impl Quota {
    /// Nothing used, `limit` pages allowed.
    pub const fn new(limit: u64) -> Quota {
        Quota {
            limit,
            used: 0,
            objects: Vec::new(),
        }
    }

    /// Takes `pages` more; ENOMEM past the limit.
    pub fn charge(&mut self, pages: u64) -> Result<(), Error> {
        match self.used.checked_add(pages) {
            Some(used) if used <= self.limit => {
                self.used = used;
                Ok(())
            }
            _ => Err(Error::NOMEM),
        }
    }

    /// Gives `pages` back.
    pub fn uncharge(&mut self, pages: u64) {
        self.used = self.used.checked_sub(pages).expect("uncharging more than was charged");
    }

    /// Whether one more reference to `object` (of `pages` pages) fits:
    /// ENOMEM when it is new and past the limit, ETABLEFULL when the process
    /// refers to too many objects already.
    pub fn can_refer(&self, object: usize, pages: u64) -> Result<(), Error> {
        if self.objects.iter().any(|(o, _)| *o == object) {
            return Ok(());
        }
        if self.objects.is_full() {
            return Err(Error::TABLEFULL);
        }
        match self.used.checked_add(pages) {
            Some(used) if used <= self.limit => Ok(()),
            _ => Err(Error::NOMEM),
        }
    }

    /// One more reference to `object`; the first charges its `pages`.
    pub fn refer(&mut self, object: usize, pages: u64) -> Result<(), Error> {
        self.can_refer(object, pages)?;
        match self.objects.iter_mut().find(|(o, _)| *o == object) {
            Some((_, count)) => *count += 1,
            None => {
                self.used += pages;
                let _ = self.objects.push((object, 1));
            }
        }
        Ok(())
    }

    /// One reference to `object` fewer; the last gives its `pages` back.
    pub fn unrefer(&mut self, object: usize, pages: u64) {
        let at = self
            .objects
            .iter()
            .position(|(o, _)| *o == object)
            .expect("a reference the process does not count");
        self.objects[at].1 -= 1;
        if self.objects[at].1 == 0 {
            self.objects.swap_remove(at);
            self.uncharge(pages);
        }
    }

    /// How many handles and mappings of `object` the process counts.
    pub fn references(&self, object: usize) -> u32 {
        self.objects.iter().find(|(o, _)| *o == object).map_or(0, |(_, n)| *n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_count_once_however_often_they_are_referred_to() {
        let mut quota = Quota::new(10);
        quota.charge(4).unwrap();
        quota.refer(7, 5).unwrap();
        quota.refer(7, 5).unwrap();
        assert_eq!(quota.used, 9);
        assert_eq!(quota.can_refer(8, 2), Err(Error::NOMEM));
        assert_eq!(quota.can_refer(7, 5), Ok(()));
        quota.unrefer(7, 5);
        assert_eq!(quota.used, 9);
        quota.unrefer(7, 5);
        assert_eq!(quota.used, 4);
        assert_eq!(quota.charge(7), Err(Error::NOMEM));
        quota.uncharge(4);
        assert_eq!(quota.references(7), 0);
    }
}
