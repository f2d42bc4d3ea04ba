//! System tests of console input: COM1's receive interrupt, through the
//! console's line discipline, to the program that holds the input
//! (`libsys::io::Stdin`). The harness types into QEMU's serial port the
//! way a person (or a paste) does; the reader (`testprogs`' `readlines`)
//! prints what it got as `key=value` lines, which the tests compare with
//! what they typed.

use abi::machine::EXIT_SUCCESS;
use systests::*;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a, 64 bits: what `readlines` prints as `input_fnv`.
fn fnv(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(FNV_OFFSET, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
    });
    format!("{hash:#018x}")
}

/// A scenario of the console and `readlines` with `args`.
fn reader(args: &str) -> String {
    scenario(&format!(
        r#"
[[program]]
name = "readlines"
crate = "testprogs"
priority = 2
args = "{args}"
handles = [{{ endpoint = "console", rights = ["send"], badge = 1 }}]
"#
    ))
}

/// Lines of printable text (`tag` and a count, then letters), of varied
/// lengths up to `longest`, adding up to exactly `total` bytes.
fn lines(tag: &str, total: usize, longest: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut state: u64 = 7;
    let mut count = 0;
    while out.len() < total {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut len = 1 + (state >> 33) as usize % longest;
        if count == 3 {
            len = longest;
        }
        let left = total - out.len();
        if left < len + 12 {
            len = left;
        }
        let mut line = format!("{tag}{count} ").into_bytes();
        while line.len() + 1 < len {
            line.push(b'a' + (line.len() % 26) as u8);
        }
        line.truncate(len - 1);
        line.push(b'\n');
        out.extend_from_slice(&line);
        count += 1;
    }
    assert_eq!(out.len(), total);
    out
}

/// 4 KiB pasted at once into a program that sleeps before it reads, so
/// that the console's buffer fills and it leaves the rest in the UART
/// (QEMU then holds back what is still to come): every byte arrives, in
/// order, none dropped.
#[test]
fn a_pasted_4_kib_reaches_the_reader_whole() {
    let paste = lines("paste", 4096, 900);
    let line_count = paste.iter().filter(|&&b| b == b'\n').count();
    let longest = paste.split_inclusive(|&b| b == b'\n').map(<[u8]>::len).max().unwrap();
    assert_eq!(longest, 900);
    let typing = Typing::new().expect("input=attached").send(&paste).send("end\n");
    let outcome = boot_typing("input-paste", &reader("delay=50"), typing);
    assert_exit(&outcome, EXIT_SUCCESS);
    assert_values(
        &outcome,
        "readlines",
        &[
            ("input_bytes", "4096"),
            ("input_lines", &line_count.to_string()),
            ("input_fnv", &fnv(&paste)),
            ("input_longest", &longest.to_string()),
            ("input_dropped", "0"),
        ],
    );
    assert_exited(&outcome, "readlines", 0);
}

/// Erase (DEL and backspace), Enter as a terminal sends it (`\r`, and
/// `\r\n` as one line end), and Ctrl-C, which drops what was typed and
/// not read and, since `readlines` holds the input, tells it (it ends with
/// 130).
#[test]
fn line_editing_and_ctrl_c_reach_the_reader() {
    let typing = Typing::new()
        .expect("input=attached")
        .send("ab\x7fc\r")
        .expect("got=3")
        .send("x\x08y\r\n")
        .expect("got=2")
        .send("unread\nlost\x03");
    let outcome = boot_typing("input-editing", &reader("verbose=1"), typing);
    assert_exit(&outcome, EXIT_SUCCESS);
    assert_values(
        &outcome,
        "readlines",
        &[
            ("interrupted", "1"),
            ("input_bytes", "5"),
            ("input_lines", "2"),
            ("input_fnv", &fnv(b"ac\ny\n")),
            ("input_dropped", "0"),
        ],
    );
    assert_exited(&outcome, "readlines", 130);
    // The echo: the erase rubs the character out, Ctrl-C shows as ^C.
    assert!(
        outcome.serial.contains("ab\x08 \x08c\r\n") && outcome.serial.contains("unread\nlost^C\r\n"),
        "no echo of the editing\n{}",
        report(&outcome)
    );
}

/// Typed while no program holds the input, bytes are dropped and counted
/// (the console says so once), never kept for whoever attaches next, and
/// never stop the UART from being drained. `readlines` attaches a second
/// after it says `input=later`; 8 KiB typed at once in that second are
/// dropped, except what the console has not taken by the time it attaches
/// (which it then reads, whole lines or a line's end): every byte is either
/// dropped or read, and the line typed after it attached is read.
#[test]
fn input_nobody_holds_is_dropped_and_counted() {
    let junk = lines("junk", 8192, 200);
    let typing = Typing::new()
        .expect("input=later")
        .send(&junk)
        .expect("input=attached")
        .send("after\nend\n");
    let outcome = boot_typing("input-nobody", &reader("predelay=100"), typing);
    assert_exit(&outcome, EXIT_SUCCESS);
    let values = values(&outcome, "readlines");
    let dropped = number(&outcome, &values, "input_dropped");
    let read = number(&outcome, &values, "input_bytes");
    assert!(dropped > 0, "nothing was dropped\n{}", report(&outcome));
    assert_eq!(
        dropped + read,
        (junk.len() + "after\n".len()) as u64,
        "{}",
        report(&outcome)
    );
    assert!(number(&outcome, &values, "input_lines") >= 1);
    assert_exited(&outcome, "readlines", 0);
}

/// What a careless or hostile client sends the console's input protocol:
/// a READ without attaching, an ATTACH without a handle, with an endpoint
/// (which cannot be signalled), with a notification it may not signal, a READ whose reply cannot fit
/// its buffer (the bytes are then reported dropped). Each gets its error,
/// and a proper READ works after them.
#[test]
fn bad_input_requests_get_errors() {
    let toml = scenario(
        r#"
[[program]]
name = "input-abuse"
crate = "testprogs"
priority = 2
handles = [{ endpoint = "console", rights = ["send"], badge = 1 }]
"#,
    );
    let typing = Typing::new()
        .expect("input=attached")
        .send("first line\n")
        .expect("input=again")
        .send("second\n");
    let outcome = boot_typing("input-abuse", &toml, typing);
    assert_exit(&outcome, EXIT_SUCCESS);
    assert_checks(
        &outcome,
        "input-abuse",
        &[
            "read_unattached",
            "attach_no_handle",
            "attach_endpoint",
            "attach_no_signal",
            "attach",
            "read_too_long",
            "read_after",
        ],
    );
    assert_values(
        &outcome,
        "input-abuse",
        &[("dropped", &"first line\n".len().to_string())],
    );
    assert_exited(&outcome, "input-abuse", 0);
}
