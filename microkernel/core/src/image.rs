//! The boot image: the initrd's manifest, its endpoints, and the programs
//! started at boot.

use crate::kernel::{BootImage, Kernel};
use crate::machine::Machine;
use crate::process;
use abi::Rights;
use abi::initrd::Reader;
use abi::manifest::{self, Manifest, Start};
use core::fmt;

/// Why a boot image cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// The initrd is not a valid archive.
    Initrd(abi::initrd::CpioError),
    /// The initrd has no manifest file.
    NoManifest,
    /// The manifest does not parse.
    Manifest(abi::manifest::ManifestError),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Initrd(error) => write!(f, "initrd: {error}"),
            ImageError::NoManifest => write!(f, "initrd has no {} file", manifest::FILE_NAME),
            ImageError::Manifest(error) => write!(f, "{error}"),
        }
    }
}

/// Reads the boot image, creates the manifest's endpoints and starts every
/// program marked to start at boot. A program that cannot start is logged
/// and skipped. Returns how many started.
pub fn start<M: Machine>(k: &mut Kernel<M>, initrd: &'static [u8]) -> Result<usize, ImageError> {
    let files = Reader::validate(initrd).map_err(ImageError::Initrd)?;
    let text = match Reader::find(initrd, manifest::FILE_NAME) {
        Ok(Some(entry)) => entry.data,
        _ => return Err(ImageError::NoManifest),
    };
    // The manifest is parsed straight into the kernel state: it is too big
    // to move around on the kernel stack.
    let image = k.image.insert(BootImage {
        manifest: Manifest::default(),
        endpoints: [0; manifest::MAX_ENDPOINTS],
        files: [None; manifest::MAX_PROGRAMS],
    });
    image.manifest.parse_into(text).map_err(ImageError::Manifest)?;
    for (index, program) in image.manifest.programs.iter().enumerate() {
        image.files[index] = Reader::find(initrd, program.file)
            .ok()
            .flatten()
            .map(|entry| entry.data);
    }
    crate::info!(
        "initrd: {files} files, {} bytes; manifest: {} programs, {} endpoints",
        initrd.len(),
        image.manifest.programs.len(),
        image.manifest.endpoints.len()
    );
    for index in 0..image.manifest.endpoints.len() {
        let endpoint = k
            .ipc
            .create_endpoint()
            .expect("the kernel has room for every manifest endpoint");
        // The kernel keeps one reference so the endpoint outlives any one
        // process (programs started later still find it).
        k.ipc.handle_opened(endpoint, Rights::empty());
        image.endpoints[index] = endpoint;
        if image.manifest.endpoints[index].notices {
            k.notices = Some(endpoint);
        }
    }
    let boot_programs: heapless::Vec<usize, { manifest::MAX_PROGRAMS }> = (0..image.manifest.programs.len())
        .filter(|&i| image.manifest.programs[i].start == Start::Boot)
        .collect();
    let mut started = 0;
    for program in boot_programs {
        match process::spawn(k, program, None) {
            Ok(_) => started += 1,
            Err(error) => {
                let name = k
                    .image
                    .as_ref()
                    .map_or("?", |image| image.manifest.programs[program].name);
                crate::error!("boot: program {name} not started: {error}");
            }
        }
    }
    Ok(started)
}
