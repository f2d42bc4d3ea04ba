//! System tests of the syscall entry paths: `syscall` and `int 0x80` work,
//! kernel memory is out of reach, unknown numbers and bad pointers are
//! refused with the right error, odd RFLAGS and the canonical edge cannot
//! hurt the kernel, and an image that breaks W^X is never started. Each boots
//! its own scenario with `hello` as a bystander that must still finish.

use abi::machine::EXIT_SUCCESS;
use systests::*;
use testspec::{CANONICAL_EDGE, KERNEL_DIRECT_MAP, KERNEL_TEXT};

#[test]
fn hello_through_syscall() {
    let outcome = boot("hello_through_syscall", &scenario(&hello(2)), "");
    assert_exit(&outcome, EXIT_SUCCESS);
    // Its greeting names the pid `get_pid` returned: the one the exit
    // notice names.
    assert_hello_greeted(&outcome);
}

#[test]
fn hello_through_int80() {
    let toml = scenario(&format!("{}{}", test_program("int80", 2), hello(1)));
    let outcome = boot("hello_through_int80", &toml, "");
    assert_kernel_alive(&outcome);
    assert_exited(&outcome, "int80", 0);
    let int80 = values(&outcome, "int80");
    assert_eq!(
        value(&outcome, &int80, "greeting"),
        testspec::int80::GREETING,
        "{}",
        report(&outcome)
    );
    // The whole line: `greeting=...` and its newline.
    let sent = format!("greeting={}\n", testspec::int80::GREETING).len() as u64;
    assert_eq!(
        (number(&outcome, &int80, "written"), number(&outcome, &int80, "sent")),
        (sent, sent),
        "{}",
        report(&outcome)
    );
}

#[test]
fn registers_survive_syscalls() {
    // hello shares registers' priority, so the yields really switch threads.
    let toml = scenario(&format!("{}{}", test_program("registers", 2), hello(2)));
    let outcome = boot("registers_survive_syscalls", &toml, "");
    assert_kernel_alive(&outcome);
    assert_exited(&outcome, "registers", 0);
    // Through `syscall` all but RAX, RCX and R11 (12 of the 14 checked);
    // through `int 0x80` all but RAX.
    let preserved: Vec<(&str, &str)> = [
        ("preserved.syscall_get_pid", "12"),
        ("preserved.syscall_yield", "12"),
        ("preserved.syscall_write", "12"),
        ("preserved.int80_get_pid", "14"),
        ("preserved.int80_yield", "14"),
        ("preserved.int80_write", "14"),
    ]
    .to_vec();
    assert_values(&outcome, "registers", &[&preserved[..], &[("changed", "0")]].concat());
    // Both writes made with every register filled arrived whole.
    let (key, line) = abi::results::parse(testspec::registers::FILLED_LINE.trim_end()).unwrap();
    assert_eq!(
        values(&outcome, "registers").all(key),
        [line, line],
        "{}",
        report(&outcome)
    );
}

#[test]
fn kernel_read_is_killed() {
    let toml = scenario(&format!("{}{}", test_program("kread", 2), hello(1)));
    let outcome = boot("kernel_read_is_killed", &toml, "");
    assert_kernel_alive(&outcome);
    assert_page_fault(
        &outcome,
        "kread",
        Access::Read,
        KERNEL_DIRECT_MAP,
        Cause::ProtectionViolation,
    );
    // It announced the address and never got further.
    assert_values(&outcome, "kread", &[("target", &format!("{KERNEL_DIRECT_MAP:#x}"))]);
    assert_only_keys(&outcome, "kread", &["target"]);
}

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
        "{KERNEL_TEXT:#x} is not kernel text any more (executable segments: {text:#x?}): move testspec::KERNEL_TEXT"
    );
    let outcome = run_image(&image, options(""));
    assert_kernel_alive(&outcome);
    assert_page_fault(
        &outcome,
        "kwrite",
        Access::Write,
        KERNEL_TEXT,
        Cause::ProtectionViolation,
    );
    assert_values(&outcome, "kwrite", &[("target", &format!("{KERNEL_TEXT:#x}"))]);
    assert_only_keys(&outcome, "kwrite", &["target"]);
}

#[test]
fn unknown_syscall_is_enosys() {
    let toml = scenario(&format!("{}{}", test_program("enosys", 2), hello(1)));
    let outcome = boot("unknown_syscall_is_enosys", &toml, "");
    assert_kernel_alive(&outcome);
    // Each number of testspec::UNKNOWN_SYSCALLS (just past the table, a
    // small number, one above 32 bits, all ones) was refused.
    let keys: Vec<String> = testspec::UNKNOWN_SYSCALLS
        .iter()
        .map(|number| format!("syscall.{number:#x}"))
        .collect();
    let mut expected: Vec<(&str, &str)> = keys.iter().map(|key| (key.as_str(), "ENOSYS")).collect();
    expected.push(("refused", "4"));
    assert_values(&outcome, "enosys", &expected);
    assert_exited(&outcome, "enosys", 0);
}

#[test]
fn bad_write_pointers_are_efault() {
    let toml = scenario(&format!("{}{}", test_program("bad-write", 2), hello(1)));
    let outcome = boot("bad_write_pointers_are_efault", &toml, "");
    assert_kernel_alive(&outcome);
    let keys: Vec<String> = testspec::bad_write::EFAULT_CASES
        .iter()
        .map(|(name, _)| format!("write.{name}"))
        .collect();
    let mut expected: Vec<(&str, &str)> = keys.iter().map(|key| (key.as_str(), "EFAULT")).collect();
    expected.extend([
        ("write.bad_fd", "EINVAL"),
        // The normal write went through, all of it.
        ("write.normal_line", "a normal write still works"),
        ("wrong", "0"),
    ]);
    assert_values(&outcome, "bad-write", &expected);
    let normal = values(&outcome, "bad-write");
    let line = "write.normal_line=a normal write still works\n";
    assert_eq!(
        value(&outcome, &normal, "write.normal"),
        format!("ok {}", line.len()),
        "{}",
        report(&outcome)
    );
    assert_exited(&outcome, "bad-write", 0);
}

#[test]
fn flags_do_not_break_the_kernel() {
    let toml = scenario(&format!("{}{}", test_program("flags", 2), hello(1)));
    let outcome = boot("flags_do_not_break_the_kernel", &toml, "");
    assert_kernel_alive(&outcome);
    // The line written with DF and AC set arrived whole, and the syscalls
    // made with them set returned the right values and kept both flags.
    let (key, line) = abi::results::parse(testspec::flags::DF_AC_LINE.trim_end()).unwrap();
    let flags = assert_checks(&outcome, "flags", &["df_ac_syscalls"]);
    assert_eq!(value(&outcome, &flags, key), line, "{}", report(&outcome));
    // The single-step trap is reported in ring 3, on the instruction right
    // after the `syscall`, where the program said it would be; it got no
    // further.
    let expected = number(&outcome, &flags, "trap_expected");
    let fault = assert_fault(&outcome, "flags", vector::DEBUG, FaultDetail::None);
    assert_eq!(fault.rip, expected, "{}", report(&outcome));
    assert_only_keys(&outcome, "flags", &[key, "check.df_ac_syscalls", "trap_expected"]);
}

#[test]
fn no_syscall_from_the_canonical_edge() {
    let toml = scenario(&format!("{}{}", test_program("canonical-edge", 2), hello(1)));
    let outcome = boot("no_syscall_from_the_canonical_edge", &toml, "");
    assert_kernel_alive(&outcome);
    let fault = assert_page_fault(
        &outcome,
        "canonical-edge",
        Access::Execute,
        CANONICAL_EDGE,
        Cause::NotPresent,
    );
    assert_eq!(fault.rip, CANONICAL_EDGE, "{}", report(&outcome));
    assert_only_keys(&outcome, "canonical-edge", &["target"]);
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
    // It never ran: it printed nothing and nothing reports its end.
    assert_silent(&outcome, "wx-elf");
    assert_never_ended(&outcome, "wx-elf");
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
    assert_values(
        &outcome,
        "args",
        &[
            ("args", "seed=42 calls=1000 mode=quick"),
            ("arg.seed", "42"),
            ("arg.calls", "1000"),
            ("arg.missing", "none"),
        ],
    );
    assert_values(&outcome, "noargs", &[("args", ""), ("arg.seed", "none")]);
    assert_exited(&outcome, "args", 0);
    assert_exited(&outcome, "noargs", 0);
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
        let (_, ended) = ending(&outcome, program);
        assert_eq!(
            (ended.how, ended.by),
            (Ending::Exited(126), Reporter::Kernel),
            "{}",
            report(&outcome)
        );
    }
    // hello's main never ran.
    assert_silent(&outcome, "hello");

    // A newer minor version of the same major runs old programs.
    let outcome = boot(
        "programs_run_on_a_newer_minor_version",
        &toml,
        &format!("abi_version={major}.9"),
    );
    assert_exit(&outcome, EXIT_SUCCESS);
    assert_hello_greeted(&outcome);
}

#[test]
fn raw_layer_binds_the_abi_registers() {
    // raw-registers calls each raw function with a number of its own that
    // the kernel does not know and a value of its own in every argument;
    // the kernel's trace records the registers each call entered with.
    use abi::regs::{self, Reg};
    use testspec::raw_layer::{FUNCTIONS, Function};
    let toml = scenario(&format!("{}{}", test_program("raw-registers", 2), hello(1)));
    let (outcome, trace) = boot_traced("raw_layer_binds_the_abi_registers", &toml, "");
    assert_kernel_alive(&outcome);
    assert_exited(&outcome, "raw-registers", 0);
    let refused: Vec<(&str, &str)> = FUNCTIONS.iter().map(|function| (function.key(), "ENOSYS")).collect();
    assert_values(&outcome, "raw-registers", &refused);
    // The IPC registers came back as they went (inputs and outputs alike).
    assert_checks(&outcome, "raw-registers", &["ipc_registers_kept"]);

    let pid = trace
        .names
        .iter()
        .find(|(_, name)| *name == "raw-registers")
        .map(|(pid, _)| *pid)
        .unwrap_or_else(|| panic!("no Start record names raw-registers\n{}", report(&outcome)));
    for function in FUNCTIONS {
        let call = trace
            .events
            .iter()
            .filter(|event| event.pid == pid)
            .find_map(|event| match &event.kind {
                xtask::trace::EventKind::Syscall(call) if call.number == function.number() => Some(call),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{}: not in the trace\n{}", function.key(), report(&outcome)));
        let enter = call.enter.expect("the trace has the syscall's entry");
        let register = |reg: Reg| {
            let slot = abi::trace::REGS.iter().position(|traced| *traced == reg);
            enter.regs[slot.expect("the trace records every argument register")]
        };
        // Where the ABI puts each argument: the argument registers in
        // order, or the IPC registers.
        let expected: Vec<Reg> = match function {
            Function::Syscall(count) => regs::ARGS[..count].to_vec(),
            Function::Int80 => regs::ARGS[..3].to_vec(),
            Function::Ipc => [
                regs::ipc::HANDLE,
                regs::ipc::INFO,
                regs::ipc::BUFFER,
                regs::ipc::CAPACITY,
            ]
            .into_iter()
            .chain(regs::ipc::WORDS)
            .collect(),
        };
        for (index, reg) in expected.into_iter().enumerate() {
            assert_eq!(
                register(reg),
                function.value(index),
                "{}: argument {index} is not in {reg}\n{}",
                function.key(),
                report(&outcome)
            );
        }
        let exit = call.exit.expect("the syscall returned");
        assert_eq!(exit.result, abi::Error::NOSYS.to_return(), "{}", function.key());
    }
}
