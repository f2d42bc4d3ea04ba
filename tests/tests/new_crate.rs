//! System test of `cargo xtask new`: a crate written outside the repository
//! builds with plain `cargo build` in its own directory, boots through the
//! build tool (which builds only the binaries its manifest names, with line
//! tables), its client prints the server's answer, and a fault in the
//! client is reported with the client's own source file and line.

use std::path::Path;
use std::process::Command;
use systests::*;

/// A second client, which reads address 0 (`args = "fault"`).
const FAULTING_CLIENT: &str = r#"
[[program]]
name = "faulting-client"
path = "."
bin = "squares-client"
priority = 2
args = "fault"
expect = "fault"
handles = [
    { endpoint = "console", rights = ["send"], badge = 3 },
    { endpoint = "squares", rights = ["send"] },
]
"#;

/// Plain `cargo build` in `dir`, as a user would type it: the crate's own
/// `.cargo/config.toml` and `rust-toolchain.toml` decide everything.
fn plain_cargo_build(dir: &Path) {
    let output = Command::new("cargo")
        .arg("build")
        .current_dir(dir)
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("running cargo");
    assert!(
        output.status.success(),
        "cargo build in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_new_crate_builds_by_itself_and_reports_its_own_faults() {
    let root = std::env::temp_dir().join(format!("systest-new-crate-{}", std::process::id()));
    let dir = root.join("squares");
    let _ = std::fs::remove_dir_all(&root);
    xtask::scaffold::new_crate("squares", &dir).unwrap_or_else(|error| panic!("{error}"));

    plain_cargo_build(&dir);
    for bin in ["squares", "squares-client"] {
        let elf = dir.join("target/x86_64-unknown-none/debug").join(bin);
        assert!(read(&elf).starts_with(b"\x7fELF"), "{}", elf.display());
    }

    // A broken binary that no manifest names does not stop the build tool.
    std::fs::write(dir.join("src/bin/broken.rs"), "fn main() { this is not rust }\n").unwrap();
    // The build tool gives line tables to every crate, whatever its own
    // profile says: take the generated crate's `debug = "limited"` away.
    let cargo_toml = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let without_profile = cargo_toml.replace("[profile.release]", "[profile.dev]");
    assert_ne!(cargo_toml, without_profile);
    std::fs::write(dir.join("Cargo.toml"), without_profile).unwrap();

    let generated = std::fs::read_to_string(dir.join("squares.toml")).unwrap();
    let both = dir.join("both.toml");
    std::fs::write(&both, format!("{generated}{FAULTING_CLIENT}")).unwrap();
    let manifest = Manifest::from_file(&both).unwrap_or_else(|error| panic!("{error}"));
    let options = xtask::BuildOptions { echo_cargo: false };
    let image = xtask::build_image_with(&manifest, "systest-new-crate", &options)
        .unwrap_or_else(|error| panic!("building the new crate's image: {error}"));
    let outcome = run_image(&image, systests::options(""));

    assert_exit(&outcome, abi::machine::EXIT_SUCCESS);
    assert_eq!(
        xtask::endings::unexpected(&manifest, &outcome.serial),
        Vec::<String>::new(),
        "{}",
        report(&outcome)
    );
    assert_values(&outcome, "client", &[("answer", "49")]);
    assert_exited(&outcome, "client", 0);
    assert_page_fault(&outcome, "faulting-client", Access::Read, 0, Cause::NotPresent);
    let source = std::fs::read_to_string(dir.join("src/bin/squares-client.rs")).unwrap();
    let line = 1 + source
        .lines()
        .position(|line| line.contains("read_volatile"))
        .expect("the client reads address 0 somewhere");
    assert_symbolized(
        &outcome,
        &[
            "squares_client::main at ",
            &format!("{}:{line}:", dir.join("src/bin/squares-client.rs").display()),
        ],
    );
    std::fs::remove_dir_all(&root).unwrap();
}
