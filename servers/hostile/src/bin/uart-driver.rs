//! uart-driver: takes real interrupts. Its manifest entry grants it COM1's
//! ports (`io = ["serial"]`) and line 4 (`irqs = [4]`, handle 1): it
//! enables the UART's transmitter-empty interrupt, which fires each time
//! the console finishes sending what this driver prints.
//!
//! Two phases of `rounds=` rounds (default 8); each prints a line and then
//! waits up to 5 ticks for the line's notification. In the first the
//! driver acknowledges every interrupt (reads the UART's IIR, `irq_ack`):
//! one interrupt per round (`acked_interrupts=`). In the second it never
//! acknowledges: the kernel masked the line when it fired, so it gets one
//! interrupt and then nothing (`unacked_interrupts=1`,
//! `unacked_timeouts=`), and nobody else is disturbed. Last, it
//! acknowledges once without printing: the edges the console made while the
//! line was masked were not kept (`masked_edges_kept=no`; the I/O APIC
//! ignores edges on a masked pin). It puts the UART's interrupt enable
//! register back before it exits.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use hostile::{number_arg, report, report_result};
use libsys::port::{inb, outb};
use libsys::{Error, Handle, Notification};

libsys::entry!(main);

/// Handle 1: interrupt line 4 (COM1).
const IRQ: Handle = 1;
/// COM1's interrupt enable and interrupt identification registers.
const IER: u16 = 0x3f9;
const IIR: u16 = 0x3fa;
/// IER: interrupt when the transmitter holding register is empty.
const IER_THR_EMPTY: u8 = 1 << 1;

/// Runs `rounds` rounds; returns (interrupts, timeouts).
fn phase(name: &str, notification: &Notification, rounds: u64, acknowledge: bool) -> (u64, u64) {
    let (mut interrupts, mut timeouts) = (0, 0);
    for round in 0..rounds {
        libsys::println!("uart-driver: {name} round {round}");
        match notification.wait_timeout(5) {
            Ok(_) => {
                interrupts += 1;
                if acknowledge {
                    let _ = inb(IIR);
                    if let Err(error) = libsys::irq_ack(IRQ) {
                        report("irq_ack", error.name());
                    }
                }
            }
            Err(Error::TIMEDOUT) => timeouts += 1,
            Err(error) => report("wait", error.name()),
        }
    }
    (interrupts, timeouts)
}

fn main() -> i32 {
    let rounds = number_arg("rounds", 8);
    let Some(notification) = hostile::notification() else {
        return 1;
    };
    report_result("bind", &libsys::irq_bind(IRQ, notification.handle(), 1));
    let enabled = inb(IER);
    outb(IER, enabled | IER_THR_EMPTY);
    let (acked, acked_timeouts) = phase("acked", &notification, rounds, true);
    let (unacked, unacked_timeouts) = phase("unacked", &notification, rounds, false);
    // The console sent lines while the line was masked: acknowledged now,
    // with nothing printed, does an interrupt come that was held?
    let _ = inb(IIR);
    let _ = libsys::irq_ack(IRQ);
    let held = notification.wait_timeout(5);
    outb(IER, enabled);
    report("acked_interrupts", acked);
    report("acked_timeouts", acked_timeouts);
    report("unacked_interrupts", unacked);
    report("unacked_timeouts", unacked_timeouts);
    report("masked_edges_kept", if held.is_ok() { "yes" } else { "no" });
    0
}
