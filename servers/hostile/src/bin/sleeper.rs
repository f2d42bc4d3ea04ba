//! sleeper: `libsys::time::sleep` blocks without spinning. It sleeps `ms=`
//! milliseconds (default 200) and reports the timer ticks that takes by
//! `get_ticks` (`slept_ticks=`) against the ticks asked
//! (`asked_ticks=`, the duration rounded up to whole ticks), the time by
//! the time page's clock (`slept_us=`), and the CPU ticks it was charged
//! meanwhile (`sleep_cpu_ticks=`, from its `process_info` record). Then it
//! spins for `spin=` ticks (default 10) reading the time page, and reports
//! the CPU ticks that cost (`spin_cpu_ticks=`): the measure sees spinning.
//! It also reports whether the time page's tick count agrees with
//! `get_ticks` (`page_ticks_agree=yes`) and its rates (`tick_hz=`,
//! `tsc_clock=yes` when the TSC is the clock).

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::time::Duration;
use hostile::{my_cpu_ticks, number_arg, report, report_result};
use libsys::time::{self, Instant};

libsys::entry!(main);

fn main() -> i32 {
    let ms = number_arg("ms", 200);
    let spin = number_arg("spin", 10);
    let duration = Duration::from_millis(ms);
    report("tick_hz", time::tick_hz());
    report("tsc_clock", if time::tsc_hz() != 0 { "yes" } else { "no" });
    let (page, syscall) = (time::ticks(), libsys::get_ticks());
    report(
        "page_ticks_agree",
        if syscall.abs_diff(page) <= 1 { "yes" } else { "no" },
    );

    let cpu_before = my_cpu_ticks();
    let (ticks_before, start) = (libsys::get_ticks(), Instant::now());
    let slept = time::sleep(duration);
    let (elapsed, ticks_after) = (start.elapsed(), libsys::get_ticks());
    let cpu_after = my_cpu_ticks();
    report_result("sleep", &slept);
    report("asked_ms", ms);
    report("asked_ticks", time::ticks_for(duration));
    report("slept_ticks", ticks_after - ticks_before);
    report("slept_us", elapsed.as_micros());
    report("sleep_cpu_ticks", cpu_after.wrapping_sub(cpu_before));

    let cpu_before = my_cpu_ticks();
    let until = time::ticks() + spin;
    while time::ticks() < until {
        core::hint::spin_loop();
    }
    report("spin_ticks", spin);
    report("spin_cpu_ticks", my_cpu_ticks().wrapping_sub(cpu_before));
    report_result("sleep_zero", &time::sleep(Duration::ZERO));
    0
}
