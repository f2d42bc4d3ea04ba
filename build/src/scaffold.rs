//! `cargo xtask new NAME [--path DIR]`: writes a server crate that lives
//! anywhere: a server, a client that calls it (and can fault on purpose), a
//! boot manifest for both, and the cargo set-up that lets plain `cargo
//! build`, `cargo check` and rust-analyzer work inside it:
//!
//! ```text
//! DIR/
//!   Cargo.toml             libsys by absolute path; its own workspace
//!   Cargo.lock             the versions this repository uses
//!   .cargo/config.toml     build.target, the rustflags, the `xtask` alias
//!   rust-toolchain.toml    the toolchain this repository pins
//!   NAME.toml              the manifest: console, NAME, client
//!   README.md              how to build and boot it
//!   src/lib.rs             the protocol the two share
//!   src/bin/NAME.rs        the server
//!   src/bin/NAME-client.rs the client
//! ```

use crate::Error;
use std::path::{Path, PathBuf};

/// Names a new crate may not take: they would clash with the programs of
/// its manifest or with crates it depends on.
const RESERVED: &[&str] = &["console", "client", "libsys", "abi", "core", "std", "alloc", "test"];

/// Checks a crate name: it must also be a program name (1 to 16 of a-z,
/// 0-9, `-`, `_`), start with a letter, and not be one of the reserved names (`console`, `client`, `libsys`, `abi`, `core`, `std`, `alloc`, `test`).
pub fn check_name(name: &str) -> Result<(), String> {
    if abi::manifest::check_name(name).is_err() || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!(
            "bad name `{name}`: a crate's name is also its server's program name: 1 to {} characters \
             of a-z, 0-9, - and _, starting with a letter",
            abi::manifest::MAX_NAME
        ));
    }
    if RESERVED.contains(&name) {
        return Err(format!(
            "the name `{name}` is taken (reserved: {})",
            RESERVED.join(", ")
        ));
    }
    Ok(())
}

/// A TOML basic string holding `text`.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The files of a new crate called `name`: path relative to the crate's
/// directory, and contents. `repository` is this repository's root.
pub fn files(name: &str, repository: &Path) -> Result<Vec<(PathBuf, String)>, Error> {
    check_name(name).map_err(Error::Usage)?;
    let toolchain = crate::setup::toolchain()?;
    let repo = repository.display().to_string();
    let module = name.replace('-', "_");
    let list = |items: &[String]| items.iter().map(|i| quoted(i)).collect::<Vec<_>>().join(", ");
    let rustflags: Vec<String> = crate::cargo::RUSTFLAGS.split_whitespace().map(String::from).collect();

    let cargo_toml = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
# The user runtime of the microkernel (syscalls, println!, the server loop).
libsys = {{ path = {libsys} }}

[profile.release]
# Line tables: `cargo xtask run` names the source line of a fault.
debug = "limited"

# A workspace of its own, wherever this directory is.
[workspace]
"#,
        libsys = quoted(&format!("{repo}/libsys")),
    );

    let cargo_config = format!(
        r#"# Every build in this directory is for the microkernel: bare-metal x86_64,
# so plain `cargo build`, `cargo check` and rust-analyzer work here.
[build]
target = {target}

[target.{target_key}]
# Static executables (ET_EXEC), as the kernel loads them: the flags of
# {repo}/.cargo/config.toml.
rustflags = [{rustflags}]

[alias]
# `cargo xtask run --manifest {name}.toml`: the build tool of {repo},
# built for this machine (--target host-tuple overrides build.target).
xtask = {alias}
"#,
        target = quoted(crate::cargo::TARGET),
        target_key = crate::cargo::TARGET,
        rustflags = list(&rustflags),
        alias = quoted(&format!(
            "run --manifest-path {} --target host-tuple --",
            Path::new(&repo).join("build").join("Cargo.toml").display()
        )),
    );

    let mut components = toolchain.components.clone();
    if !components.iter().any(|c| c == "rust-src") {
        components.push("rust-src".into());
    }
    let toolchain_toml = format!(
        r#"# The toolchain {repo} pins, with the bare-metal target
# (and rust-src: rust-analyzer reads the sources of `core`).
[toolchain]
channel = {channel}
components = [{components}]
targets = [{targets}]
profile = "minimal"
"#,
        channel = quoted(&toolchain.channel),
        components = list(&components),
        targets = list(&toolchain.targets),
    );

    let manifest = format!(
        r#"# {name}: its server and a client that calls it, with the console server of
# the microkernel. Boot it with `cargo xtask run --manifest {name}.toml`.
# Every field is described in {repo}/docs/manifest.md.

# Exit and fault notices of every program go here.
[[endpoint]]
name = "console"
notices = true

# Where {name} receives its requests.
[[endpoint]]
name = "{name}"

[[program]]
name = "console"
crate = "console"                # the console server of the microkernel
priority = 6
io = ["serial"]
irqs = [4]                       # COM1: typed input (libsys::io::Stdin)
handles = [{{ endpoint = "console", rights = ["recv"] }}]

[[program]]
name = "{name}"
path = "."                       # this crate: its binary `{name}`
priority = 4
handles = [
    {{ endpoint = "console", rights = ["send"], badge = 1 }},   # handle 0: println!
    {{ endpoint = "{name}", rights = ["recv"] }},{pad}# handle 1: requests
]

[[program]]
name = "client"
path = "."
bin = "{name}-client"
priority = 2
args = "7"                       # the number to square; "fault" reads address 0
# expect = "fault"               # with args = "fault": what --strict then wants
handles = [
    {{ endpoint = "console", rights = ["send"], badge = 2 }},   # handle 0: println!
    {{ endpoint = "{name}", rights = ["send"] }},{pad}# handle 1: the server
]
"#,
        // Aligns the comments of the handle lines.
        pad = " ".repeat(23usize.saturating_sub(name.len()).max(1)),
    );

    let lib_rs = format!(
        r#"//! {name}: what its server and its client agree on.

#![no_std]

/// A request: word 0 is a number; the reply's word 0 is its square.
pub const SQUARE: u32 = 1;
/// The reply to a request with any other label (no words).
pub const UNKNOWN: u32 = 0xffff;
"#
    );

    let server_rs = format!(
        r#"//! {name}: the server. It answers every SQUARE request with the square
//! of the request's word 0.

#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use libsys::server::{{Reply, Request, Server, serve}};
use {module}::{{SQUARE, UNKNOWN}};

libsys::entry!(main);

/// Handle 1: the endpoint the manifest gives it (handle 0 is the console).
const ENDPOINT: libsys::Handle = 1;

struct Squares {{
    served: u64,
}}

impl Server for Squares {{
    fn handle(&mut self, request: &Request, _buffer: &mut [u8]) -> Reply {{
        if request.label != SQUARE {{
            return Reply::label(UNKNOWN);
        }}
        self.served += 1;
        let number = request.word(0).unwrap_or(0);
        Reply::with_words(SQUARE, &[number.wrapping_mul(number)])
    }}
}}

fn main() {{
    libsys::println!("ready");
    serve(ENDPOINT, &mut Squares {{ served: 0 }})
}}
"#
    );

    let client_rs = format!(
        r#"//! {name}-client: asks the {name} server for the square of the number in
//! its arguments (`args = "7"` in the manifest) and prints `answer=49`.
//! With `args = "fault"` it reads address 0 instead: the kernel kills it,
//! and `cargo xtask run` reports the fault with this file's line.

#![no_std]
#![no_main]

use libsys::ipc::{{self, Msg}};
use {module}::SQUARE;

libsys::entry!(main);

/// Handle 1: the server's endpoint (handle 0 is the console).
const SERVER: libsys::Handle = 1;

fn main() -> i32 {{
    let args = libsys::args().trim();
    if args == "fault" {{
        libsys::println!("about to read address 0");
        // SAFETY: deliberately unsound: this read faults on purpose, to show
        // how a fault is reported.
        let value = unsafe {{ core::ptr::read_volatile(core::ptr::null::<u64>()) }};
        libsys::println!("read {{value}} from address 0?");
        return 1;
    }}
    let Ok(number) = args.parse::<u64>() else {{
        libsys::println!("error=expected a number or `fault` in args, not `{{args}}`");
        return 2;
    }};
    match ipc::call_words(SERVER, &Msg::with_words(SQUARE, &[number])) {{
        Ok(reply) if reply.label == SQUARE => {{
            libsys::println!("question={{number}}");
            libsys::println!("answer={{}}", reply.word(0).unwrap_or(0));
            0
        }}
        Ok(reply) => {{
            libsys::println!("error=the server answered label {{}}", reply.label);
            1
        }}
        Err(error) => {{
            libsys::println!("error=the call failed: {{error}}");
            1
        }}
    }}
}}
"#
    );

    let readme = format!(
        r#"# {name}

A server for the microkernel in {repo}, and a client that calls it.

| file | what |
|---|---|
| `src/bin/{name}.rs` | the server: answers each `SQUARE` request with the square of its word 0 |
| `src/bin/{name}-client.rs` | the client: asks for the square of its `args` and prints `answer=...` |
| `src/lib.rs` | the labels both use |
| `{name}.toml` | the boot manifest: the console server, `{name}` and `client` ([fields]({repo}/docs/manifest.md)) |

## Build

```
cargo build          # or cargo check, or open the directory in rust-analyzer
```

`.cargo/config.toml` makes every build here a build for `x86_64-unknown-none`
(with the static relocation model the kernel loads), and
`rust-toolchain.toml` pins the toolchain of the microkernel.

## Boot

```
cargo xtask run --manifest {name}.toml
```

`cargo xtask` is an alias (in `.cargo/config.toml`) for the build tool of
{repo}; the first run compiles it. It builds the kernel, the console
server and the binaries the manifest names (with line tables), boots
them in QEMU, and exits with the guest's status: 0 once the client is done.
The client prints `answer=49`. From any other directory the same is

```
cargo +{channel} run --manifest-path {repo}/build/Cargo.toml -- run --manifest <this directory>/{name}.toml
```

## Faults

Set the client's `args = "fault"` in `{name}.toml` and boot again (with
`expect = "fault"` too, `cargo xtask run --strict` accepts it): the kernel
kills the client, the console prints `[console] client[N] killed: page fault
at ...`, and `cargo xtask run` names the line of `src/bin/{name}-client.rs`
that faulted. `cargo xtask help run` lists the other options.
"#,
        channel = toolchain.channel,
    );

    Ok(vec![
        ("Cargo.toml".into(), cargo_toml),
        (".cargo/config.toml".into(), cargo_config),
        ("rust-toolchain.toml".into(), toolchain_toml),
        (format!("{name}.toml").into(), manifest),
        ("README.md".into(), readme),
        (".gitignore".into(), "/target\n".into()),
        ("src/lib.rs".into(), lib_rs),
        (format!("src/bin/{name}.rs").into(), server_rs),
        (format!("src/bin/{name}-client.rs").into(), client_rs),
    ])
}

/// Writes a new crate called `name` into `dir`, which must not exist or be
/// empty. Returns the paths written.
pub fn new_crate(name: &str, dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let files = files(name, crate::workspace_root())?;
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?
            .next()
            .is_none();
        if !empty {
            return Err(Error::Usage(format!(
                "{} exists and is not empty; give another with --path",
                dir.display()
            )));
        }
    }
    let mut files = files;
    // The versions this repository builds libsys with (cargo drops what
    // the crate does not use): its first build needs no registry update.
    if let Ok(lock) = std::fs::read_to_string(crate::workspace_root().join("Cargo.lock")) {
        files.push(("Cargo.lock".into(), lock));
    }
    let mut written = Vec::new();
    for (relative, text) in files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(format!("cannot create {}", parent.display()), e))?;
        }
        std::fs::write(&path, text).map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["kv", "my-server", "a_b9"] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "Kv",
            "9lives",
            "-x",
            "a b",
            "abcdefghijklmnopq",
            "console",
            "client",
            "core",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(quoted(r#"/a "b"\c"#), r#""/a \"b\"\\c""#);
        let value: toml::Table = toml::from_str(&format!("x = {}", quoted("tab\there"))).unwrap();
        assert_eq!(value["x"].as_str(), Some("tab\there"));
    }

    fn generated(name: &str) -> std::collections::BTreeMap<String, String> {
        files(name, crate::workspace_root())
            .unwrap()
            .into_iter()
            .map(|(path, text)| (path.display().to_string(), text))
            .collect()
    }

    #[test]
    fn the_cargo_files_say_what_they_must() {
        let files = generated("kv");
        let root = crate::workspace_root();
        let cargo: toml::Table = toml::from_str(&files["Cargo.toml"]).unwrap();
        assert_eq!(cargo["package"]["name"].as_str(), Some("kv"));
        let libsys = cargo["dependencies"]["libsys"]["path"].as_str().unwrap();
        assert!(Path::new(libsys).is_absolute() && Path::new(libsys).join("Cargo.toml").is_file());
        assert!(cargo.contains_key("workspace"));

        let config: toml::Table = toml::from_str(&files[".cargo/config.toml"]).unwrap();
        assert_eq!(config["build"]["target"].as_str(), Some(crate::cargo::TARGET));
        // The same flags as this workspace's own configuration.
        let ours: toml::Table =
            toml::from_str(&std::fs::read_to_string(root.join(".cargo/config.toml")).unwrap()).unwrap();
        assert_eq!(
            config["target"][crate::cargo::TARGET]["rustflags"],
            ours["target"][crate::cargo::TARGET]["rustflags"]
        );
        let alias = config["alias"]["xtask"].as_str().unwrap();
        let words: Vec<&str> = alias.split_whitespace().collect();
        assert_eq!(words[0], "run");
        let manifest_path = words[words.iter().position(|w| *w == "--manifest-path").unwrap() + 1];
        assert_eq!(Path::new(manifest_path), root.join("build/Cargo.toml"));
        assert!(alias.ends_with(" --"), "{alias}");

        let toolchain: toml::Table = toml::from_str(&files["rust-toolchain.toml"]).unwrap();
        let pinned = crate::setup::toolchain().unwrap();
        assert_eq!(
            toolchain["toolchain"]["channel"].as_str(),
            Some(pinned.channel.as_str())
        );
        assert_eq!(
            toolchain["toolchain"]["targets"].as_array().unwrap()[0].as_str(),
            Some(crate::cargo::TARGET)
        );
    }

    #[test]
    fn the_manifest_boots_the_server_and_its_client() {
        let files = generated("kv");
        let dir = Path::new("/somewhere/kv");
        let manifest = crate::Manifest::from_toml_str(&files["kv.toml"], dir).unwrap();
        let names: Vec<&str> = manifest.programs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["console", "kv", "client"]);
        for program in &manifest.programs[1..] {
            assert_eq!(program.source, crate::manifest::Source::Path(dir.to_path_buf()));
        }
        assert_eq!(manifest.programs[1].bin, "kv");
        assert_eq!(manifest.programs[2].bin, "kv-client");
        assert_eq!(manifest.programs[2].args, "7");
        assert!(files.contains_key("src/bin/kv.rs") && files.contains_key("src/bin/kv-client.rs"));
        assert!(files["src/bin/kv-client.rs"].contains("use kv::SQUARE;"));
        // The longest name keeps the manifest valid too.
        let long = "a".repeat(abi::manifest::MAX_NAME);
        let files = generated(&long);
        crate::Manifest::from_toml_str(&files[&format!("{long}.toml")], dir).unwrap();
    }

    #[test]
    fn an_existing_directory_is_left_alone() {
        let dir = std::env::temp_dir().join(format!("xtask-scaffold-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("keep"), "mine").unwrap();
        let error = new_crate("kv", &dir).unwrap_err();
        assert!(error.to_string().contains("is not empty"), "{error}");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
