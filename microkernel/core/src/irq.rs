//! Interrupt lines as kernel objects: a driver holds a handle to a line
//! (the manifest grants it), routes it to a notification with `irq_bind`,
//! and acknowledges each interrupt with `irq_ack`.
//!
//! The kernel masks a line when it fires and signals the bound
//! notification; the line stays masked until the driver acks, so a driver
//! that never acks loses only its own interrupts. A line with no binding or
//! no handle stays masked.

use abi::Error;

/// Lines the kernel manages: the first I/O APIC's (`abi::manifest::IRQ_LINES`).
pub const LINES: usize = abi::manifest::IRQ_LINES as usize;

/// One line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line {
    /// Open handles naming it.
    pub handles: u32,
    /// The notification it signals, and with which bits.
    pub binding: Option<(usize, u64)>,
    /// Whether it is masked (the machine delivers nothing).
    pub masked: bool,
    /// Interrupts taken on it since boot.
    pub count: u64,
}

impl Line {
    const IDLE: Line = Line {
        handles: 0,
        binding: None,
        masked: true,
        count: 0,
    };
}

/// What the machine should do with a line after a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mask {
    /// Leave it as it is.
    Keep,
    /// Mask it.
    Mask,
    /// Unmask it.
    Unmask,
}

/// Every line's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IrqLines {
    lines: [Line; LINES],
}

impl IrqLines {
    /// Every line masked, unbound, unheld.
    pub const fn new() -> Self {
        IrqLines {
            lines: [Line::IDLE; LINES],
        }
    }

    /// Line `line`.
    pub fn get(&self, line: usize) -> &Line {
        &self.lines[line]
    }

    /// Counts a new handle.
    pub fn opened(&mut self, line: usize) {
        self.lines[line].handles += 1;
    }

    /// Counts a closed handle; with the last the line is unbound and masked.
    pub fn closed(&mut self, line: usize) -> Mask {
        let l = &mut self.lines[line];
        assert!(l.handles > 0, "a closed handle was counted");
        l.handles -= 1;
        if l.handles > 0 {
            return Mask::Keep;
        }
        l.binding = None;
        Self::set_masked(l, true)
    }

    /// Routes the line to `notification` with `bits`, and unmasks it.
    pub fn bind(&mut self, line: usize, notification: usize, bits: u64) -> Result<Mask, Error> {
        if bits == 0 {
            return Err(Error::INVAL);
        }
        let l = &mut self.lines[line];
        l.binding = Some((notification, bits));
        Ok(Self::set_masked(l, false))
    }

    /// The driver handled an interrupt: unmask. EINVAL if unbound.
    pub fn ack(&mut self, line: usize) -> Result<Mask, Error> {
        let l = &mut self.lines[line];
        if l.binding.is_none() {
            return Err(Error::INVAL);
        }
        Ok(Self::set_masked(l, false))
    }

    /// The line fired: it is masked, and the binding (if any) is returned
    /// for the kernel to signal.
    pub fn fired(&mut self, line: usize) -> (Mask, Option<(usize, u64)>) {
        let l = &mut self.lines[line];
        l.count += 1;
        (Self::set_masked(l, true), l.binding)
    }

    /// A notification was freed: lines bound to it are unbound and masked.
    /// Returns the lines to mask.
    pub fn forget_notification(&mut self, notification: usize) -> impl Iterator<Item = usize> + '_ {
        self.lines.iter_mut().enumerate().filter_map(move |(index, l)| {
            if l.binding.is_some_and(|(n, _)| n == notification) {
                l.binding = None;
                (Self::set_masked(l, true) == Mask::Mask).then_some(index)
            } else {
                None
            }
        })
    }

    /// Whether some line is bound and unmasked: an interrupt may come.
    pub fn armed(&self) -> bool {
        self.lines.iter().any(|l| l.binding.is_some() && !l.masked)
    }

    fn set_masked(l: &mut Line, masked: bool) -> Mask {
        if l.masked == masked {
            return Mask::Keep;
        }
        l.masked = masked;
        if masked { Mask::Mask } else { Mask::Unmask }
    }

    /// Checks that a line is unmasked only while bound and held.
    pub fn check(&self) -> Result<(), &'static str> {
        for l in &self.lines {
            if !l.masked && (l.binding.is_none() || l.handles == 0) {
                return Err("a line is unmasked only while bound and held");
            }
            if l.handles == 0 && l.binding.is_some() {
                return Err("a line nobody holds is unbound");
            }
        }
        Ok(())
    }
}

impl Default for IrqLines {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_fires_once_until_acked() {
        let mut irqs = IrqLines::new();
        irqs.opened(4);
        assert_eq!(irqs.ack(4), Err(Error::INVAL));
        assert_eq!(irqs.bind(4, 2, 0), Err(Error::INVAL));
        assert_eq!(irqs.bind(4, 2, 1), Ok(Mask::Unmask));
        assert!(irqs.armed());
        assert_eq!(irqs.fired(4), (Mask::Mask, Some((2, 1))));
        assert!(!irqs.armed());
        assert_eq!(irqs.ack(4), Ok(Mask::Unmask));
        assert_eq!(irqs.ack(4), Ok(Mask::Keep));
        irqs.check().unwrap();
        assert_eq!(irqs.get(4).count, 1);
    }

    #[test]
    fn the_last_handle_or_the_notification_going_masks_the_line() {
        let mut irqs = IrqLines::new();
        irqs.opened(3);
        irqs.opened(3);
        irqs.bind(3, 1, 1).unwrap();
        assert_eq!(irqs.closed(3), Mask::Keep);
        assert_eq!(irqs.closed(3), Mask::Mask);
        assert_eq!(irqs.get(3).binding, None);
        irqs.opened(3);
        irqs.bind(3, 1, 1).unwrap();
        assert_eq!(irqs.forget_notification(1).collect::<std::vec::Vec<_>>(), [3]);
        assert_eq!(irqs.fired(3), (Mask::Keep, None));
        irqs.check().unwrap();
    }
}
