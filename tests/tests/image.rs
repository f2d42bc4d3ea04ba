//! System tests of the boot image itself: the initrd is a standard newc
//! cpio archive holding the generated manifest and one ELF per program.

use systests::*;

#[test]
fn initrd_is_a_standard_newc_archive() {
    let image = image("initrd_newc", NO_PROGRAMS);
    let archive = read(&image.initrd);

    // The reader the kernel runs (abi::initrd) checks what `cpio -t` needs
    // to list it: every header is newc (`070701` and thirteen hex fields),
    // every name ends in NUL, every entry is padded to 4 bytes, and the
    // archive ends with its `TRAILER!!!` entry.
    assert!(archive.starts_with(abi::initrd::MAGIC));
    assert_eq!(abi::initrd::Reader::validate(&archive), Ok(1));
    let entries: Vec<abi::initrd::Entry> = abi::initrd::Reader::new(&archive)
        .map(|entry| entry.expect("a valid archive"))
        .collect();
    let listed: Vec<(&str, u32)> = entries.iter().map(|entry| (entry.name, entry.mode)).collect();
    assert_eq!(listed, [("manifest", 0o100644)]);
    let manifest = abi::initrd::Reader::find(&archive, abi::manifest::FILE_NAME)
        .unwrap()
        .unwrap();
    assert_eq!(manifest.data, image.manifest_text.as_bytes());
    assert_eq!(image.manifest_text, "manifest 1\nendpoint console notices\n");
    abi::manifest::Manifest::parse(manifest.data).expect("the kernel accepts the manifest");
    assert!(read(&image.kernel).starts_with(b"\x7fELF"));
}

#[test]
fn missing_workspace_package_is_a_clear_error() {
    let toml = format!("{NO_PROGRAMS}\n[[program]]\nname = \"ghost\"\ncrate = \"no-such-package\"\npriority = 1\n");
    let options = xtask::BuildOptions { echo_cargo: false };
    let error = xtask::build_image_with(&manifest(&toml), "systest-missing-package", &options).unwrap_err();
    let message = error.to_string();
    let line = toml.lines().position(|l| l.starts_with("crate = ")).unwrap() + 1;
    assert!(
        matches!(error, xtask::Error::Manifest { line: Some(l), .. } if l == line),
        "{message}"
    );
    assert!(
        message.contains("`crate = \"no-such-package\"` names no package of this workspace"),
        "{message}"
    );
    assert!(message.contains("`path = "), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

/// Writes a minimal freestanding program crate (its own workspace) under
/// cargo's scratch directory and returns its path.
fn standalone_crate(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let cargo_toml = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
         [[bin]]\nname = \"{name}-bin\"\npath = \"src/main.rs\"\n\n\
         [profile.release]\npanic = \"abort\"\n\n\
         # Not part of the enclosing workspace.\n[workspace]\n"
    );
    let main_rs = "#![no_std]\n#![no_main]\n\n\
                   #[panic_handler]\nfn panic(_: &core::panic::PanicInfo) -> ! {\n    loop {}\n}\n\n\
                   #[unsafe(no_mangle)]\npub extern \"C\" fn _start() -> ! {\n    loop {}\n}\n";
    for (path, text) in [("Cargo.toml", cargo_toml.as_str()), ("src/main.rs", main_rs)] {
        let path = dir.join(path);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            std::fs::write(&path, text).unwrap();
        }
    }
    dir
}

#[test]
fn program_from_a_crate_path_is_packed() {
    let dir = standalone_crate("standalone");
    let toml = format!(
        "{NO_PROGRAMS}\n[[program]]\nname = \"outside\"\npath = {:?}\nbin = \"standalone-bin\"\npriority = 3\n\
         start = \"spawn\"\nhandles = [{{ endpoint = \"console\", rights = [\"send\"], badge = 5 }}]\n",
        dir.display().to_string()
    );
    let image = image("crate_path", &toml);
    assert_eq!(
        image.manifest_text,
        "manifest 1\nendpoint console notices\n\
         program outside file=bin/outside priority=3 start=spawn\n\
         handle console rights=send badge=5\n"
    );
    let archive = read(&image.initrd);
    let names: Vec<&str> = abi::initrd::Reader::new(&archive).map(|e| e.unwrap().name).collect();
    assert_eq!(names, ["manifest", "bin/outside"]);
    let elf = abi::initrd::Reader::find(&archive, "bin/outside").unwrap().unwrap();
    assert!(elf.data.starts_with(b"\x7fELF"));
    assert_eq!(elf.mode, 0o100755);
}

#[test]
fn missing_binary_is_a_clear_error_naming_the_program() {
    let dir = standalone_crate("standalone-nobin");
    let toml = format!(
        "{NO_PROGRAMS}\n[[program]]\nname = \"lost\"\npath = {:?}\npriority = 3\n",
        dir.display().to_string()
    );
    let options = xtask::BuildOptions { echo_cargo: false };
    let error = xtask::build_image_with(&manifest(&toml), "systest-missing-bin", &options).unwrap_err();
    let line = toml.lines().position(|l| l.starts_with("name = \"lost\"")).unwrap() + 1;
    assert_eq!(
        error.to_string(),
        format!(
            "manifest:{line}: program `lost`: crate {} has no binary `lost` (its binaries: standalone-nobin-bin); \
             name one with `bin = \"...\"`",
            dir.display()
        )
    );
}
