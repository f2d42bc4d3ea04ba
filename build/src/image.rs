//! Boot images: builds the kernel and a manifest's programs, then writes
//! `target/image/<name>/kernel` and `target/image/<name>/initrd.cpio` (the
//! generated `manifest` plus `bin/<program>` for every program), and keeps a
//! copy of every program's ELF in `target/image/<name>/elf/<program>`, with
//! its debug info, for symbolizing faults and for debuggers.

use crate::cargo::{self, Executables, Output, Package};
use crate::manifest::{Manifest, Source};
use crate::{Error, lock};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The kernel's package and binary name.
pub const KERNEL: &str = "microkernel";
/// The initrd's file name inside an image directory.
pub const INITRD: &str = "initrd.cpio";

/// A packed boot image.
#[derive(Clone, Debug)]
pub struct Image {
    /// The image directory's name under `target/image/`.
    pub name: String,
    pub dir: PathBuf,
    /// Copy of the kernel ELF (with its debug info, for gdb).
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// The generated kernel manifest (the initrd's `manifest` file).
    pub manifest_text: String,
    /// The manifest's `[kernel] cmdline`.
    pub cmdline: String,
    /// The manifest's `[kernel] cpus`: how many CPUs QEMU gives it.
    pub cpus: usize,
    /// Program name → a copy of the ELF file it runs (as packed into the
    /// initrd, debug info included): `target/image/<name>/elf/<program>`.
    pub programs: BTreeMap<String, PathBuf>,
}

/// How to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuildOptions {
    /// Show cargo's output as it happens; otherwise only when a build fails.
    pub echo_cargo: bool,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self { echo_cargo: true }
    }
}

/// Serializes builds and image writes of this process (cargo's own lock
/// covers other processes).
static BUILD: Mutex<()> = Mutex::new(());

/// Builds the kernel and every program of `manifest` (cargo skips what is up
/// to date) and packs them into `target/image/<name>/`.
pub fn build_image(manifest: &Manifest, name: &str) -> Result<Image, Error> {
    build_image_with(manifest, name, &BuildOptions::default())
}

/// [`build_image`] with options.
pub fn build_image_with(manifest: &Manifest, name: &str, options: &BuildOptions) -> Result<Image, Error> {
    let valid_name = !name.is_empty()
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !valid_name {
        return Err(Error::Usage(format!(
            "bad image name `{name}`: use letters, digits, `-`, `_` and `.`"
        )));
    }
    let manifest_text = manifest.kernel_text()?;
    let output = if options.echo_cargo {
        Output::Stream
    } else {
        Output::OnFailure
    };

    check_sources(manifest)?;

    let _guard = lock(&BUILD);
    let mut packages = vec![KERNEL];
    packages.extend(manifest.workspace_packages());
    let mut bins = vec![KERNEL];
    let mut external_bins: BTreeMap<&Path, Vec<&str>> = BTreeMap::new();
    for program in &manifest.programs {
        let wanted = match &program.source {
            Source::Crate(_) => &mut bins,
            Source::Path(dir) => external_bins.entry(dir).or_default(),
            Source::Elf(_) => continue,
        };
        if !wanted.contains(&program.bin.as_str()) {
            wanted.push(&program.bin);
        }
    }
    let workspace = cargo::build_workspace(&packages, &bins, output)?;
    let mut external: BTreeMap<PathBuf, Executables> = BTreeMap::new();
    for (dir, bins) in external_bins {
        let built = cargo::build_external(dir, &bins, output).map_err(|e| {
            let users: Vec<&str> = manifest
                .programs
                .iter()
                .filter(|p| p.source == Source::Path(dir.to_path_buf()))
                .map(|p| p.name.as_str())
                .collect();
            Error::Build(format!("program `{}`: {e}", users.join("`, `")))
        })?;
        external.insert(dir.to_path_buf(), built);
    }

    let kernel_elf = workspace
        .get(KERNEL)
        .ok_or_else(|| Error::Build(format!("cargo built no `{KERNEL}` binary")))?;
    let kernel_bytes = read_elf(kernel_elf)?;

    let mut writer = abi::initrd::Writer::new();
    writer.file(abi::manifest::FILE_NAME, 0o644, manifest_text.as_bytes());
    let mut program_elfs: Vec<(String, Vec<u8>)> = Vec::new();
    for program in &manifest.programs {
        let (built, from) = match &program.source {
            Source::Crate(package) => (&workspace, format!("package `{package}`")),
            Source::Path(dir) => (&external[dir], format!("crate {}", dir.display())),
            Source::Elf(file) => {
                let bytes = std::fs::read(file)
                    .map_err(|e| Error::io(format!("program `{}`: cannot read {}", program.name, file.display()), e))?;
                writer.file(&program.file_in_initrd(), 0o755, &bytes);
                program_elfs.push((program.name.clone(), bytes));
                continue;
            }
        };
        let elf = built.get(&program.bin).ok_or_else(|| {
            Error::Build(format!(
                "program `{}`: {from} has no binary `{}` (it built: {})",
                program.name,
                program.bin,
                names(built)
            ))
        })?;
        let bytes = read_elf(elf)?;
        writer.file(&program.file_in_initrd(), 0o755, &bytes);
        program_elfs.push((program.name.clone(), bytes));
    }
    let initrd_bytes = writer.finish();

    let dir = crate::target_dir().join("image").join(name);
    let elf_dir = dir.join("elf");
    std::fs::create_dir_all(&elf_dir).map_err(|e| Error::io(format!("cannot create {}", elf_dir.display()), e))?;
    let kernel = dir.join("kernel");
    let initrd = dir.join(INITRD);
    write_if_changed(&kernel, &kernel_bytes)?;
    write_if_changed(&initrd, &initrd_bytes)?;
    let mut programs = BTreeMap::new();
    for (program, bytes) in program_elfs {
        let path = elf_dir.join(&program);
        write_if_changed(&path, &bytes)?;
        programs.insert(program, path);
    }
    Ok(Image {
        name: name.to_string(),
        dir,
        kernel,
        initrd,
        manifest_text,
        cmdline: manifest.cmdline.clone(),
        cpus: manifest.cpus,
        programs,
    })
}

/// Checks, before anything is built, that every program's package or
/// crate exists and has the binary it names; a mistake is a manifest error
/// naming the file and line.
fn check_sources(manifest: &Manifest) -> Result<(), Error> {
    let mut crates: BTreeMap<&Path, Vec<Package>> = BTreeMap::new();
    for program in &manifest.programs {
        let name = &program.name;
        let (packages, what) = match &program.source {
            Source::Elf(_) => continue,
            Source::Crate(package) => match cargo::workspace_packages()?.into_iter().find(|p| &p.name == package) {
                Some(found) => (vec![found], format!("package `{package}`")),
                None => {
                    let message = format!(
                        "program `{name}`: `crate = \"{package}\"` names no package of this workspace; \
                         give a crate outside it by its directory: {}",
                        path_suggestion(manifest, package)
                    );
                    return Err(manifest.error_at(program.source_line, message));
                }
            },
            Source::Path(dir) => {
                if !crates.contains_key(dir.as_path()) {
                    if !dir.join("Cargo.toml").is_file() {
                        let message = format!("program `{name}`: {} has no Cargo.toml", dir.display());
                        return Err(manifest.error_at(program.source_line, message));
                    }
                    let found = cargo::packages(dir)
                        .map_err(|e| manifest.error_at(program.source_line, format!("program `{name}`: {e}")))?;
                    crates.insert(dir, found);
                }
                (crates[dir.as_path()].clone(), format!("crate {}", dir.display()))
            }
        };
        let binaries: Vec<&str> = packages
            .iter()
            .flat_map(|package| package.binaries.iter().map(String::as_str))
            .collect();
        if !binaries.contains(&program.bin.as_str()) {
            let listed = if binaries.is_empty() {
                "none".to_string()
            } else {
                binaries.join(", ")
            };
            let hint = if program.bin_line.is_none() && !binaries.is_empty() {
                "; name one with `bin = \"...\"`"
            } else {
                ""
            };
            let message = format!(
                "program `{name}`: {what} has no binary `{}` (its binaries: {listed}){hint}",
                program.bin
            );
            return Err(manifest.error_at(program.bin_line.or(program.line), message));
        }
    }
    Ok(())
}

/// `path = "..."` for a crate called `package` that is not in this
/// workspace: the manifest's own directory or a directory beside it when
/// one holds that crate, a placeholder otherwise.
fn path_suggestion(manifest: &Manifest, package: &str) -> String {
    let holds = |dir: &Path| {
        dir.join("Cargo.toml").is_file()
            && cargo::packages(dir).is_ok_and(|packages| packages.iter().any(|p| p.name == package))
    };
    if holds(&manifest.base_dir) {
        "`path = \".\"`".into()
    } else if holds(&manifest.base_dir.join(package)) {
        format!("`path = \"{package}\"`")
    } else {
        "`path = \"<its directory, relative to this manifest>\"`".into()
    }
}

fn names(built: &Executables) -> String {
    if built.is_empty() {
        "no binaries".into()
    } else {
        built.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

fn read_elf(path: &Path) -> Result<Vec<u8>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    if !bytes.starts_with(b"\x7fELF") {
        return Err(Error::Build(format!("{} is not an ELF file", path.display())));
    }
    Ok(bytes)
}

/// Writes `bytes` unless the file already holds them, so an unchanged
/// kernel keeps its modification time (the KVM probe cache relies on it).
/// Writes go through a temporary file and a rename, so a concurrent reader
/// (QEMU of another process) never sees half a file.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}
