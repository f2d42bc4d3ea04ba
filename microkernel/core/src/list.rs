//! Intrusive doubly linked lists of thread slots, without a heap.
//!
//! A [`Links`] array holds one `next`/`prev` pair per thread slot; a [`List`]
//! is a head, a tail and a length. A thread is on at most one list of a given
//! `Links` at a time, which the run queues and the endpoint queues both
//! guarantee. Every operation is O(1).

const NONE: u16 = u16::MAX;

/// Link fields for `N` thread slots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Links<const N: usize> {
    next: [u16; N],
    prev: [u16; N],
    member: [bool; N],
}

impl<const N: usize> Links<N> {
    /// No slot on any list.
    pub const fn new() -> Self {
        assert!(N < NONE as usize);
        Links {
            next: [NONE; N],
            prev: [NONE; N],
            member: [false; N],
        }
    }

    /// Whether `slot` is on some list of these links.
    #[inline(always)]
    pub fn is_linked(&self, slot: usize) -> bool {
        self.member[slot]
    }
}

impl<const N: usize> Default for Links<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// A FIFO of thread slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct List {
    head: u16,
    tail: u16,
    len: u16,
}

impl List {
    /// A list with no slot on it.
    pub const EMPTY: List = List {
        head: NONE,
        tail: NONE,
        len: 0,
    };

    /// Whether the list is empty.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many slots are on the list.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// The first slot.
    #[inline(always)]
    pub fn front(&self) -> Option<usize> {
        (self.head != NONE).then_some(self.head as usize)
    }

    /// Appends `slot`, which must be on no list of `links` (checked: a slot
    /// on two lists would corrupt both, so the kernel stops instead).
    #[inline(always)]
    pub fn push_back<const N: usize>(&mut self, links: &mut Links<N>, slot: usize) {
        assert!(!links.member[slot], "thread {slot} is already on a list");
        links.member[slot] = true;
        links.next[slot] = NONE;
        links.prev[slot] = self.tail;
        if self.tail == NONE {
            self.head = slot as u16;
        } else {
            links.next[self.tail as usize] = slot as u16;
        }
        self.tail = slot as u16;
        self.len += 1;
    }

    /// Puts `slot` first, ahead of every slot already queued; `slot` must be
    /// on no list of `links`, as for [`List::push_back`].
    #[inline(always)]
    pub fn push_front<const N: usize>(&mut self, links: &mut Links<N>, slot: usize) {
        assert!(!links.member[slot], "thread {slot} is already on a list");
        links.member[slot] = true;
        links.prev[slot] = NONE;
        links.next[slot] = self.head;
        if self.head == NONE {
            self.tail = slot as u16;
        } else {
            links.prev[self.head as usize] = slot as u16;
        }
        self.head = slot as u16;
        self.len += 1;
    }

    /// Takes the first slot off the list, or `None` if it is empty.
    #[inline(always)]
    pub fn pop_front<const N: usize>(&mut self, links: &mut Links<N>) -> Option<usize> {
        let slot = self.front()?;
        let next = links.next[slot];
        self.head = next;
        if next == NONE {
            self.tail = NONE;
        } else {
            links.prev[next as usize] = NONE;
        }
        links.member[slot] = false;
        links.next[slot] = NONE;
        self.len -= 1;
        Some(slot)
    }

    /// Unlinks `slot`, which must be on this list.
    #[inline(always)]
    pub fn remove<const N: usize>(&mut self, links: &mut Links<N>, slot: usize) {
        assert!(links.member[slot], "thread {slot} is not on a list");
        let (prev, next) = (links.prev[slot], links.next[slot]);
        if prev == NONE {
            self.head = next;
        } else {
            links.next[prev as usize] = next;
        }
        if next == NONE {
            self.tail = prev;
        } else {
            links.prev[next as usize] = prev;
        }
        links.member[slot] = false;
        links.next[slot] = NONE;
        links.prev[slot] = NONE;
        self.len -= 1;
    }

    /// The slots in order.
    pub fn iter<'a, const N: usize>(&self, links: &'a Links<N>) -> impl Iterator<Item = usize> + 'a {
        let mut cursor = self.head;
        core::iter::from_fn(move || {
            if cursor == NONE {
                return None;
            }
            let slot = cursor as usize;
            cursor = links.next[slot];
            Some(slot)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(list: &List, links: &Links<8>) -> std::vec::Vec<usize> {
        list.iter(links).collect()
    }

    #[test]
    fn fifo_order_and_removal_anywhere() {
        let mut links = Links::<8>::new();
        let mut list = List::EMPTY;
        for slot in [3, 1, 4, 5] {
            list.push_back(&mut links, slot);
        }
        list.push_front(&mut links, 0);
        assert_eq!(collect(&list, &links), [0, 3, 1, 4, 5]);
        list.remove(&mut links, 4);
        list.remove(&mut links, 0);
        list.remove(&mut links, 5);
        assert_eq!(collect(&list, &links), [3, 1]);
        assert_eq!(list.len(), 2);
        assert_eq!(list.pop_front(&mut links), Some(3));
        assert_eq!(list.pop_front(&mut links), Some(1));
        assert_eq!(list.pop_front(&mut links), None);
        assert!(list.is_empty());
        assert!(!links.is_linked(3));
    }

    #[test]
    #[should_panic(expected = "already on a list")]
    fn double_insert_is_caught() {
        let mut links = Links::<8>::new();
        let mut a = List::EMPTY;
        let mut b = List::EMPTY;
        a.push_back(&mut links, 2);
        b.push_back(&mut links, 2);
    }
}
