//! args: prints the argument string its manifest entry gave it, and a few
//! values looked up in it.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

libsys::entry!(main);

fn main() {
    libsys::println!("args: {:?}", libsys::args());
    let value = |key| libsys::arg(key).unwrap_or("none");
    libsys::println!(
        "seed = {}, calls = {}, missing = {}",
        value("seed"),
        value("calls"),
        value("missing")
    );
}
