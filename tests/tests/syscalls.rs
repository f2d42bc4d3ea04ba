//! System tests of the syscall entry paths: `syscall` and `int 0x80` work,
//! kernel memory is out of reach, unknown numbers and bad pointers are
//! refused with the right error, odd RFLAGS and the canonical edge cannot
//! hurt the kernel, and an image that breaks W^X is never started. Each boots
//! its own scenario with `hello` as a bystander that must still finish.

use abi::machine::EXIT_SUCCESS;
use systests::*;

#[test]
fn hello_through_syscall() {
    let outcome = boot("hello_through_syscall", &scenario(&hello(2)), "");
    assert_exit(&outcome, EXIT_SUCCESS);
    let pid = assert_exited(&outcome, "hello", 0);
    assert_serial_contains(
        &outcome,
        &format!("hello[{pid}]: Hello from ring 3! I am process {pid}."),
    );
}

#[test]
fn hello_through_int80() {
    let toml = scenario(&format!("{}{}", test_program("int80", 2), hello(1)));
    let outcome = boot("hello_through_int80", &toml, "");
    assert_kernel_alive(&outcome);
    let pid = assert_exited(&outcome, "int80", 0);
    assert_serial_contains(&outcome, &format!("int80[{pid}]: hello through int 0x80"));
    assert_serial_contains(
        &outcome,
        &format!("int80[{pid}]: int 0x80 write returned 23 of 23 bytes"),
    );
}

#[test]
fn registers_survive_syscalls() {
    // hello shares registers' priority, so the yields really switch threads.
    let toml = scenario(&format!("{}{}", test_program("registers", 2), hello(2)));
    let outcome = boot("registers_survive_syscalls", &toml, "");
    assert_kernel_alive(&outcome);
    let pid = assert_exited(&outcome, "registers", 0);
    for (what, count) in [
        ("syscall get_pid", 12),
        ("syscall yield", 12),
        ("syscall write", 12),
        ("int 0x80 get_pid", 14),
        ("int 0x80 yield", 14),
        ("int 0x80 write", 14),
    ] {
        assert_serial_contains(
            &outcome,
            &format!("registers[{pid}]: registers: {what}: all {count} preserved"),
        );
    }
    assert_eq!(
        lines_with_all(
            &outcome,
            &["registers: this line was written with every register filled"]
        )
        .len(),
        2,
        "{}",
        report(&outcome)
    );
    assert_serial_contains(&outcome, "registers: 0 registers changed");
}

#[test]
fn kernel_read_is_killed() {
    let toml = scenario(&format!("{}{}", test_program("kread", 2), hello(1)));
    let outcome = boot("kernel_read_is_killed", &toml, "");
    assert_kernel_alive(&outcome);
    assert_killed(
        &outcome,
        "kread",
        &[
            "killed: page fault at 0x",
            "(read of 0xffff800000000000, protection violation)",
        ],
    );
    assert_serial_lacks(&outcome, "from kernel memory");
}

/// Where `kwrite` writes (its `KERNEL_TEXT`): inside the kernel's text.
const KERNEL_TEXT: u64 = 0xffff_ffff_8011_0000;

/// The `[start, end)` virtual ranges of the executable PT_LOAD segments of an
/// ELF64 file.
fn executable_segments(elf: &[u8]) -> Vec<(u64, u64)> {
    use object::elf::{PF_X, PT_LOAD};
    use object::read::elf::{ElfFile64, ProgramHeader as _};
    let file = ElfFile64::<object::Endianness>::parse(elf).expect("the kernel is an ELF64 file");
    let endian = file.endian();
    file.elf_program_headers()
        .iter()
        .filter(|header| header.p_type(endian) == PT_LOAD && header.p_flags(endian).contains(PF_X))
        .map(|header| (header.p_vaddr(endian), header.p_vaddr(endian) + header.p_memsz(endian)))
        .collect()
}

#[test]
fn kernel_write_is_killed() {
    let toml = scenario(&format!("{}{}", test_program("kwrite", 2), hello(1)));
    let image = image("kernel_write_is_killed", &toml);
    let text = executable_segments(&read(&image.kernel));
    assert!(
        text.iter().any(|&(start, end)| (start..end).contains(&KERNEL_TEXT)),
        "{KERNEL_TEXT:#x} is not kernel text any more (executable segments: {text:#x?}): move KERNEL_TEXT here and in kwrite"
    );
    let outcome = run_image(&image, options(""));
    assert_kernel_alive(&outcome);
    assert_killed(
        &outcome,
        "kwrite",
        &[
            "killed: page fault at 0x",
            &format!("(write of {KERNEL_TEXT:#x}, protection violation)"),
        ],
    );
    assert_serial_lacks(&outcome, "wrote kernel text");
}

#[test]
fn unknown_syscall_is_enosys() {
    let toml = scenario(&format!("{}{}", test_program("enosys", 2), hello(1)));
    let outcome = boot("unknown_syscall_is_enosys", &toml, "");
    assert_kernel_alive(&outcome);
    let count = abi::syscall::SYSCALLS.len();
    for number in [
        format!("{count:#x}"),
        "0x3e7".into(),
        "0x100000000".into(),
        "0xffffffffffffffff".into(),
    ] {
        assert_line_with_all(&outcome, &["enosys[", &format!("syscall {number}: ENOSYS")]);
    }
    assert_serial_contains(&outcome, "enosys: all 4 unknown numbers returned ENOSYS");
    assert_exited(&outcome, "enosys", 0);
}

#[test]
fn bad_write_pointers_are_efault() {
    let toml = scenario(&format!("{}{}", test_program("bad-write", 2), hello(1)));
    let outcome = boot("bad_write_pointers_are_efault", &toml, "");
    assert_kernel_alive(&outcome);
    for case in [
        "kernel address 0xffff800000001000",
        "non-canonical 0x8000000000000000",
        "unmapped 0x1000000000",
        "null with length 10",
        "wrapping length",
        "straddling the stack top",
        "straddling the image end",
    ] {
        assert_serial_contains(&outcome, &format!("bad-write: {case}: EFAULT"));
    }
    assert_serial_contains(&outcome, "bad-write: fd 3: EINVAL");
    assert_serial_contains(&outcome, "bad-write: a normal write still works");
    assert_serial_contains(&outcome, "bad-write: 0 wrong answers");
    assert_exited(&outcome, "bad-write", 0);
}

#[test]
fn flags_do_not_break_the_kernel() {
    let toml = scenario(&format!("{}{}", test_program("flags", 2), hello(1)));
    let outcome = boot("flags_do_not_break_the_kernel", &toml, "");
    assert_kernel_alive(&outcome);
    assert_serial_contains(&outcome, "flags: this line was written with DF and AC set");
    assert_serial_contains(&outcome, "flags: DF and AC set across syscalls, kernel fine");
    // The single-step trap is reported in ring 3, on the instruction right
    // after the `syscall`, where the program said it would be.
    let announced = find_line(
        &outcome,
        &["flags: setting TF before a syscall; the trap should come at "],
    );
    let expected = announced.rsplit(' ').next().unwrap();
    assert_killed(&outcome, "flags", &[&format!("killed: debug at {expected}")]);
    assert_serial_lacks(&outcome, "no debug exception came");
}

#[test]
fn no_syscall_from_the_canonical_edge() {
    let toml = scenario(&format!("{}{}", test_program("canonical-edge", 2), hello(1)));
    let outcome = boot("no_syscall_from_the_canonical_edge", &toml, "");
    assert_kernel_alive(&outcome);
    assert_killed(
        &outcome,
        "canonical-edge",
        &["killed: page fault at 0x7ffffffffffe (execute of 0x7ffffffffffe, not present)"],
    );
}

#[test]
fn wx_elf_is_refused_and_others_run() {
    // wx-elf is linked with --omagic (servers/testprogs/build.rs): one
    // segment, writable and executable.
    let toml = scenario(&format!("{}{}", test_program("wx-elf", 2), hello(1)));
    let outcome = boot("wx_elf_is_refused_and_others_run", &toml, "");
    assert_kernel_alive(&outcome);
    assert_line_with_all(
        &outcome,
        &[
            "[kernel]",
            "program wx-elf: refused: segment 0 is both writable and executable (W^X)",
        ],
    );
    assert_line_with_all(&outcome, &["[kernel]", "boot: program wx-elf not started: EINVAL"]);
    assert_serial_lacks(&outcome, "a writable and executable image was started");
    assert_serial_lacks(&outcome, "wx-elf[");
}

#[test]
fn malformed_elf_is_refused_and_others_run() {
    // Three broken images packed as they are (`elf = ...`): not an ELF at
    // all, an ELF header cut short, and a 32-bit ELF. Each is refused with
    // the reason, and the boot goes on with the others.
    let dir = xtask::target_dir().join("tmp").join("malformed-elf");
    std::fs::create_dir_all(&dir).unwrap();
    let files = [
        ("garbage", b"this is not an executable at all".to_vec()),
        ("truncated", b"\x7fELF\x02\x01\x01\x00".to_vec()),
        ("elf32", {
            let mut bytes = b"\x7fELF\x01\x01\x01\x00".to_vec();
            bytes.resize(64, 0);
            bytes
        }),
    ];
    let mut programs = String::new();
    for (name, bytes) in &files {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        programs.push_str(&format!(
            "\n[[program]]\nname = \"{name}\"\nelf = \"{}\"\npriority = 2\n\
             handles = [{{ endpoint = \"console\", rights = [\"send\"] }}]\n",
            path.display()
        ));
    }
    let toml = scenario(&format!("{programs}{}", hello(1)));
    let outcome = boot("malformed_elf_is_refused_and_others_run", &toml, "");
    assert_kernel_alive(&outcome);
    assert_line_with_all(&outcome, &["[kernel]", "program garbage: refused: not an ELF file"]);
    assert_line_with_all(
        &outcome,
        &["[kernel]", "program truncated: refused: headers are truncated"],
    );
    assert_line_with_all(&outcome, &["[kernel]", "program elf32: refused: not a 64-bit ELF"]);
    for (name, _) in &files {
        assert_line_with_all(
            &outcome,
            &["[kernel]", &format!("boot: program {name} not started: EINVAL")],
        );
    }
}

#[test]
fn programs_receive_their_arguments() {
    let toml = scenario(
        "\n[[program]]\nname = \"args\"\ncrate = \"testprogs\"\npriority = 2\n\
         args = \"seed=42 calls=1000 mode=quick\"\n\
         handles = [{ endpoint = \"console\", rights = [\"send\"] }]\n\
         \n[[program]]\nname = \"noargs\"\ncrate = \"testprogs\"\nbin = \"args\"\npriority = 2\n\
         handles = [{ endpoint = \"console\", rights = [\"send\"] }]\n",
    );
    let outcome = boot("programs_receive_their_arguments", &toml, "");
    assert_exit(&outcome, 0);
    assert_line_with_all(&outcome, &["args[", "args: \"seed=42 calls=1000 mode=quick\""]);
    assert_line_with_all(&outcome, &["args[", "seed = 42, calls = 1000, missing = none"]);
    assert_line_with_all(&outcome, &["noargs[", "args: \"\""]);
}

#[test]
fn programs_refuse_an_incompatible_kernel() {
    // The kernel reports another major version (abi_version= is a test
    // hook): libsys's _start refuses to run main and exits with 126. The
    // console is a libsys program too, so it refuses as well, and the kernel
    // prints the exit notices itself (no one receives them any more).
    let toml = scenario(&hello(2));
    let major = abi::ABI_VERSION >> 16;
    let next = format!("{}.0", major + 1);
    let outcome = boot(
        "programs_refuse_an_incompatible_kernel",
        &toml,
        &format!("abi_version={next}"),
    );
    assert_exit(&outcome, EXIT_SUCCESS);
    assert_line_with_all(&outcome, &["[kernel]", &format!("reporting ABI version {next}")]);
    for program in ["console", "hello"] {
        assert_line_with_all(
            &outcome,
            &["[kernel] INFO", &format!("{program}["), "exited with status 126"],
        );
    }
    assert_serial_lacks(&outcome, "Hello from ring 3");

    // A newer minor version of the same major runs old programs.
    let outcome = boot(
        "programs_run_on_a_newer_minor_version",
        &toml,
        &format!("abi_version={major}.9"),
    );
    assert_exit(&outcome, EXIT_SUCCESS);
    assert_line_with_all(&outcome, &["hello[", "Hello from ring 3!"]);
    assert_exited(&outcome, "hello", 0);
}
