//! The syscall reference as Markdown (`cargo xtask abi --markdown`), the
//! generated part of `docs/abi.md`.

use super::layout::{self, BitField};
use abi::syscall::{ArgKind, Field, Returns, SYSCALLS, SyscallDesc};
use abi::{Error, regs};

/// The generated reference: every table of the ABI, from the `abi` crate.
pub fn markdown() -> String {
    let mut out = String::new();
    let (major, minor) = (abi::ABI_VERSION >> 16, abi::ABI_VERSION & 0xffff);
    line(&mut out, "## Reference");
    line(&mut out, "");
    line(
        &mut out,
        &format!(
            "ABI version {major}.{minor} (`abi::ABI_VERSION` = {:#x}); JSON export schema version {} \
             (`schema_version`). Everything below is generated from the `abi` crate; edit the crate, then \
             run `cargo xtask abi --markdown --write`.",
            abi::ABI_VERSION,
            super::SCHEMA_VERSION,
        ),
    );
    line(&mut out, "");
    registers(&mut out);
    syscall_index(&mut out);
    for entry in SYSCALLS {
        syscall(&mut out, entry);
    }
    argument_kinds(&mut out);
    errors(&mut out);
    message(&mut out);
    handles(&mut out);
    memory(&mut out);
    stats(&mut out);
    notifications(&mut out);
    interrupt_lines(&mut out);
    processes(&mut out);
    time_page(&mut out);
    console(&mut out);
    exit_values(&mut out);
    trace(&mut out);
    out
}

fn line(out: &mut String, text: &str) {
    out.push_str(text);
    out.push('\n');
}

/// Text for a table cell: no line breaks, `|` escaped.
fn cell(text: &str) -> String {
    text.replace('\n', " ").replace('|', "\\|")
}

fn code(text: &str) -> String {
    format!("`{text}`")
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

fn register_list(registers: &[regs::Reg]) -> String {
    registers
        .iter()
        .map(|reg| code(reg.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    line(out, &format!("| {} |", header.join(" | ")));
    line(out, &format!("|{}|", vec!["---"; header.len()].join("|")));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        line(out, &format!("| {} |", cells.join(" | ")));
    }
    line(out, "");
}

fn registers(out: &mut String) {
    line(out, "### Registers");
    line(out, "");
    let ipc = |text: &str| format!("IPC: {text}");
    let rows = vec![
        vec!["syscall number (in)".into(), code(regs::NUMBER.name())],
        vec!["result or `-error` (out)".into(), code(regs::RESULT.name())],
        vec!["arguments 0 to 5, in order".into(), register_list(&regs::ARGS)],
        vec!["destroyed by `syscall`".into(), register_list(&regs::CLOBBERED)],
        vec![ipc("endpoint handle (in)"), code(regs::ipc::HANDLE.name())],
        vec![ipc("sender's badge (out)"), code(regs::ipc::BADGE.name())],
        vec![ipc("`MsgInfo` (in and out)"), code(regs::ipc::INFO.name())],
        vec![ipc("buffer address (in)"), code(regs::ipc::BUFFER.name())],
        vec![ipc("buffer capacity (in)"), code(regs::ipc::CAPACITY.name())],
        vec![
            ipc("message words 0 to 5 (in and out)"),
            register_list(&regs::ipc::WORDS),
        ],
    ];
    table(out, &["role", "registers"], &rows);
}

fn syscall_index(out: &mut String) {
    line(out, "### Syscalls");
    line(out, "");
    let rows: Vec<Vec<String>> = SYSCALLS
        .iter()
        .map(|entry| {
            vec![
                (entry.number as u64).to_string(),
                code(entry.name),
                yes_no(entry.blocks).into(),
                entry.returns.name().into(),
            ]
        })
        .collect();
    table(out, &["number", "name", "blocks", "returns"], &rows);
}

/// `in_ptr (length in `len`)`.
pub fn kind_text(kind: ArgKind) -> String {
    match kind {
        ArgKind::InPtr { len } => format!("{} (length in `{len}`)", kind.name()),
        ArgKind::OutPtr { len } => format!("{} (capacity in `{len}`)", kind.name()),
        ArgKind::InOutPtr { send, receive } => {
            format!("{} (sends `{send}` bytes, receives up to `{receive}`)", kind.name())
        }
        _ => kind.name().to_string(),
    }
}

fn field_rows(fields: &[Field]) -> Vec<Vec<String>> {
    fields
        .iter()
        .map(|field| {
            let name = if field.name == "-" {
                "- (ignored)".to_string()
            } else {
                code(field.name)
            };
            vec![name, code(field.reg.name()), kind_text(field.kind)]
        })
        .collect()
}

fn syscall(out: &mut String, entry: &SyscallDesc) {
    line(out, &format!("#### {} `{}`", entry.number as u64, entry.name));
    line(out, "");
    line(out, &entry.summary.split_whitespace().collect::<Vec<_>>().join(" "));
    line(out, "");
    line(
        out,
        &format!("Blocks: {}. Returns: {}.", yes_no(entry.blocks), entry.returns),
    );
    line(out, "");
    if entry.args.is_empty() {
        line(out, "Arguments: none.");
        line(out, "");
    } else {
        table(out, &["argument", "register", "kind"], &field_rows(entry.args));
    }
    match entry.returns {
        Returns::Never => {
            line(out, "Results: none (it does not return).");
            line(out, "");
        }
        Returns::Yes if entry.results.is_empty() => {
            line(out, &format!("Results: `{}` = 0 on success.", regs::RESULT.name()));
            line(out, "");
        }
        Returns::Yes => table(out, &["result", "register", "kind"], &field_rows(entry.results)),
    }
    if entry.errors.is_empty() {
        line(out, "Errors: none.");
        line(out, "");
    } else {
        let rows: Vec<Vec<String>> = entry
            .errors
            .iter()
            .map(|error| {
                vec![
                    code(error.name()),
                    (*error as u16).to_string(),
                    error.description().into(),
                ]
            })
            .collect();
        table(out, &["error", "code", "meaning"], &rows);
    }
}

fn argument_kinds(out: &mut String) {
    line(out, "### Argument kinds");
    line(out, "");
    let rows: Vec<Vec<String>> = layout::ARGUMENT_KINDS
        .iter()
        .map(|kind| vec![code(kind.name()), layout::kind_description(*kind)])
        .collect();
    table(out, &["kind", "meaning"], &rows);
}

fn errors(out: &mut String) {
    line(out, "### Errors");
    line(out, "");
    line(
        out,
        &format!(
            "A failed syscall returns `-code` in `{}`: values above {:#x} (the top 4095) are errors.",
            regs::RESULT.name(),
            (-4096i64) as u64
        ),
    );
    line(out, "");
    let rows: Vec<Vec<String>> = Error::ALL
        .iter()
        .map(|error| {
            vec![
                code(error.name()),
                (*error as u16).to_string(),
                format!("{:#x}", error.to_return()),
                error.description().into(),
            ]
        })
        .collect();
    table(out, &["error", "code", "`rax`", "meaning"], &rows);
}

fn bits(field: &BitField) -> String {
    if field.low == field.high {
        field.low.to_string()
    } else {
        format!("{}-{}", field.low, field.high)
    }
}

fn message(out: &mut String) {
    use abi::message::{MAX_BUFFER, MAX_WORDS};
    line(out, "### Messages");
    line(out, "");
    line(
        out,
        &format!(
            "A message is a `MsgInfo` (in `{}`), up to {MAX_WORDS} words in registers and up to \
             {MAX_BUFFER} bytes of buffer. `MsgInfo` bits:",
            regs::ipc::INFO.name()
        ),
    );
    line(out, "");
    let fields = layout::msginfo_fields();
    let rows: Vec<Vec<String>> = fields
        .iter()
        .map(|field| vec![bits(field), code(field.name), field.description.clone()])
        .collect();
    table(out, &["bits", "field", "meaning"], &rows);
    let flags_low = fields.iter().find(|f| f.name == "flags").map_or(0, |f| f.low);
    line(out, "Flags:");
    line(out, "");
    let rows: Vec<Vec<String>> = layout::msg_flags()
        .iter()
        .map(|flag| {
            vec![
                (flags_low + flag.bit).to_string(),
                code(flag.name),
                flag.description.clone(),
            ]
        })
        .collect();
    table(out, &["bit", "flag", "meaning"], &rows);
}

fn handles(out: &mut String) {
    line(out, "### Handles and rights");
    line(out, "");
    line(
        out,
        &format!(
            "A process holds at most {} handles; handle {} is the console.",
            abi::handle::MAX_HANDLES,
            abi::handle::CONSOLE
        ),
    );
    line(out, "");
    let rows: Vec<Vec<String>> = layout::rights()
        .iter()
        .map(|right| {
            vec![
                code(right.name),
                format!("{:#x}", right.value),
                right.description.clone(),
            ]
        })
        .collect();
    table(out, &["right", "bit", "meaning"], &rows);
}

fn memory(out: &mut String) {
    line(out, "### Memory");
    line(out, "");
    let rows = vec![
        vec![
            "`USER_BASE`".into(),
            format!("{:#x}", abi::USER_BASE),
            "lowest user address; programs load here or above".into(),
        ],
        vec![
            "`USER_END`".into(),
            format!("{:#x}", abi::USER_END),
            "first address above user space".into(),
        ],
        vec![
            "`PAGE_SIZE`".into(),
            abi::PAGE_SIZE.to_string(),
            "size of every user mapping's pages".into(),
        ],
    ];
    table(out, &["constant", "value", "meaning"], &rows);
}

fn struct_table(out: &mut String, fields: &[layout::FieldLayout]) {
    let rows: Vec<Vec<String>> = fields
        .iter()
        .map(|field| {
            vec![
                field.offset.to_string(),
                field.size.to_string(),
                code(field.type_name),
                code(field.name),
                field.description.clone(),
            ]
        })
        .collect();
    table(out, &["offset", "size", "type", "field", "meaning"], &rows);
}

fn stats(out: &mut String) {
    line(out, "### Resource counters (`stats`)");
    line(out, "");
    line(
        out,
        &format!(
            "`abi::stats::Stats`, {} bytes, `repr(C)`, little-endian:",
            abi::stats::Stats::SIZE
        ),
    );
    line(out, "");
    struct_table(out, &layout::stats_fields());
}

fn constant_table(out: &mut String, header: [&str; 3], constants: &[layout::Constant], hex: bool) {
    let rows: Vec<Vec<String>> = constants
        .iter()
        .map(|constant| {
            let value = if hex {
                format!("{:#x}", constant.value)
            } else {
                constant.value.to_string()
            };
            vec![value, code(constant.name), constant.description.clone()]
        })
        .collect();
    table(out, &header, &rows);
}

fn notifications(out: &mut String) {
    line(out, "### Notifications");
    line(out, "");
    line(
        out,
        &format!(
            "Flag bits of the waits (`abi::notify`; any other bit of `flags` is EINVAL). A \
             notification bound to an endpoint arrives there as a message with label \
             `NOTIFICATION_LABEL` ({:#x}), the flag `KERNEL`, badge 0, one word (the bits) and no \
             bytes.",
            abi::notify::NOTIFICATION_LABEL
        ),
    );
    line(out, "");
    constant_table(out, ["bit", "flag", "meaning"], &layout::wait_flags(), true);
}

fn interrupt_lines(out: &mut String) {
    line(out, "### Interrupt lines");
    line(out, "");
    line(
        out,
        &format!(
            "A manifest may grant lines 1 to {} of the first I/O APIC (`abi::manifest::IRQ_LINES` = \
             {}; line 0 is the kernel's timer), each to one program, which starts with a handle \
             (`wait`, `transfer`) to each after its endpoint handles.",
            abi::manifest::IRQ_LINES - 1,
            abi::manifest::IRQ_LINES
        ),
    );
    line(out, "");
}

fn processes(out: &mut String) {
    line(out, "### Processes");
    line(out, "");
    line(
        out,
        "How a process ended (`abi::process::Ending`): `process_wait`'s `rax`, with its detail in `rdx`.",
    );
    line(out, "");
    constant_table(out, ["code", "ending", "meaning"], &layout::endings(), false);
    line(
        out,
        &format!(
            "`process_info` copies one `abi::process::Info` record of {} bytes per live process, \
             little-endian (bytes not listed are 0):",
            abi::process::Info::SIZE
        ),
    );
    line(out, "");
    struct_table(out, &layout::info_fields());
    line(out, "Its `state` (`abi::process::State`):");
    line(out, "");
    constant_table(out, ["code", "state", "meaning"], &layout::process_states(), false);
}

fn time_page(out: &mut String) {
    line(out, "### Time page");
    line(out, "");
    line(
        out,
        &format!(
            "One page mapped read-only at {:#x} (`abi::time::TIME_PAGE`) in every process. \
             `abi::time::TimePage`, `repr(C)`, little-endian; each field is read with one aligned load:",
            abi::time::TIME_PAGE
        ),
    );
    line(out, "");
    struct_table(out, &layout::time_page_fields());
}

fn console(out: &mut String) {
    line(out, "### Console protocol");
    line(out, "");
    line(
        out,
        &format!(
            "Labels of the messages the kernel sends to the console server (flag `KERNEL`). The \
             process name is packed into words {} and {}.",
            abi::console::WORD_NAME[0],
            abi::console::WORD_NAME[1]
        ),
    );
    line(out, "");
    let rows: Vec<Vec<String>> = layout::console_labels()
        .iter()
        .map(|label| vec![label.value.to_string(), code(label.name), label.description.clone()])
        .collect();
    table(out, &["label", "name", "meaning"], &rows);
}

fn exit_values(out: &mut String) {
    line(out, "### Exit values");
    line(out, "");
    line(
        out,
        &format!(
            "Written by the kernel to `isa-debug-exit` at port {:#x}; QEMU exits with `value << 1 | 1`.",
            abi::machine::DEBUG_EXIT_PORT
        ),
    );
    line(out, "");
    let rows: Vec<Vec<String>> = layout::exit_codes()
        .iter()
        .map(|exit| vec![format!("{:#x}", exit.value), code(exit.name), exit.description.clone()])
        .collect();
    table(out, &["value", "name", "meaning"], &rows);
}

fn trace(out: &mut String) {
    use abi::trace::{DATA_BYTES, MAGIC, RECORD_SIZE, REGS, TRACE_PORT};
    line(out, "### Trace records");
    line(out, "");
    line(
        out,
        &format!(
            "{RECORD_SIZE}-byte little-endian records on port {TRACE_PORT:#x}, each starting with the \
             magic {MAGIC:#06x}. `regs` holds {} in this order; a `data` record carries up to \
             {DATA_BYTES} bytes in place of the registers.",
            register_list(&REGS)
        ),
    );
    line(out, "");
    struct_table(out, &layout::record_fields());
    let rows: Vec<Vec<String>> = layout::record_kinds()
        .iter()
        .map(|kind| vec![kind.value.to_string(), code(&kind.name), kind.description.clone()])
        .collect();
    table(out, &["kind", "name", "meaning"], &rows);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_syscall_has_a_section() {
        let text = markdown();
        for entry in SYSCALLS {
            let heading = format!("#### {} `{}`", entry.number as u64, entry.name);
            assert!(text.contains(&heading), "missing {heading}");
        }
        for error in Error::ALL {
            assert!(text.contains(&format!("| `{}` | {} |", error.name(), *error as u16)));
        }
        assert!(text.contains("| `buf` | `rsi` | in_ptr (length in `len`) |"), "{text}");
        assert!(text.ends_with("|\n\n"));
    }

    #[test]
    fn cells_are_escaped() {
        assert_eq!(cell("a | b\nc"), "a \\| b c");
    }
}
