//! Linker arguments for the one test program that must be refused by the
//! kernel's ELF checks: `wx-elf` is linked with `--omagic`, which puts code
//! and data in a single writable and executable segment (W^X violated).

fn main() {
    println!("cargo:rustc-link-arg-bin=wx-elf=--omagic");
    println!("cargo:rerun-if-changed=build.rs");
}
