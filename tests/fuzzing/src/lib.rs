//! The harness shared by the host-side fuzz targets of `abi`
//! (`abi/tests/fuzz.rs`) and of the kernel core
//! (`microkernel/core/tests/parsers.rs`): a deterministic generator, the
//! `FUZZ_SEED` / `FUZZ_ITERATIONS` / `FUZZ_ONLY` settings, the loop that runs
//! a target and saves a failing input, the corpus readers, and the
//! byte-level [`Mutation`] both use.
//!
//! Each test binary describes itself once with a [`Suite`]: its base seed,
//! the absolute path of its corpus directory, and the directory under the
//! system's temporary directory where failing inputs are saved.

#![warn(missing_docs)]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Once, OnceLock};
use std::time::Instant;

/// How [`Mutation::apply`] mutates bytes: the bytes it likes to write, and
/// where and how much it changes.
#[derive(Clone, Copy, Debug)]
pub struct Mutation {
    /// Bytes that tend to matter to the parser (delimiters, digits, 0).
    pub interesting: &'static [u8],
    /// Positions fall in the first `hot` bytes three times out of four
    /// (the headers of a format); `None`: anywhere, evenly.
    pub hot: Option<usize>,
    /// The longest chunk a mutation duplicates.
    pub duplicate: usize,
}

impl Mutation {
    /// Applies one to a few random byte-level mutations to `data`: bit
    /// flips, interesting bytes, insertions, deletions, truncation,
    /// duplicated chunks, splices with and copies from `others`, and small
    /// arithmetic on little-endian words; then cuts it to `max_len`.
    pub fn apply(&self, rng: &mut Rng, data: &mut Vec<u8>, others: &[&[u8]], max_len: usize) {
        let interesting = self.interesting;
        let most = if rng.one_in(4) { 12 } else { 3 };
        let rounds = 1 + rng.index(most);
        for _ in 0..rounds {
            // A position below `len` (0 when `len` is 0).
            let position = |rng: &mut Rng, len: usize| match self.hot {
                _ if len == 0 => 0,
                Some(hot) if !rng.one_in(4) => rng.index(len.min(hot.max(1))),
                _ => rng.index(len),
            };
            let len = data.len();
            match rng.below(11) {
                0 if len > 0 => {
                    let at = position(rng, len);
                    data[at] ^= 1 << rng.below(8);
                }
                1 if len > 0 => {
                    let at = position(rng, len);
                    data[at] = rng.pick(interesting);
                }
                2 if len > 0 => {
                    let at = position(rng, len);
                    data[at] = rng.byte();
                }
                3 => {
                    let at = position(rng, len + 1);
                    let count = 1 + rng.index(8);
                    for _ in 0..count {
                        let byte = if rng.one_in(2) {
                            rng.byte()
                        } else {
                            rng.pick(interesting)
                        };
                        data.insert(at, byte);
                    }
                }
                4 if len > 0 => {
                    let at = position(rng, len);
                    let count = (1 + rng.index(16)).min(len - at);
                    data.drain(at..at + count);
                }
                5 => {
                    let at = rng.index(len + 1);
                    data.truncate(at);
                }
                6 if len > 0 => {
                    let from = position(rng, len);
                    let count = (1 + rng.index(self.duplicate)).min(len - from);
                    let chunk = data[from..from + count].to_vec();
                    let at = position(rng, len + 1);
                    data.splice(at..at, chunk);
                }
                7 if !others.is_empty() => {
                    let other = rng.pick(others);
                    let cut = rng.index(len + 1);
                    let from = rng.index(other.len() + 1);
                    data.truncate(cut);
                    data.extend_from_slice(&other[from..]);
                }
                8 if !others.is_empty() && len > 0 => {
                    let other = rng.pick(others);
                    let at = position(rng, len).min(other.len());
                    let count = (1 + rng.index(64)).min(len - at).min(other.len() - at);
                    data[at..at + count].copy_from_slice(&other[at..at + count]);
                }
                9 if len >= 8 => {
                    // Add or subtract a small amount to a little-endian word.
                    let width = rng.pick(&[1usize, 2, 4, 8]);
                    let at = position(rng, len - width + 1);
                    let mut word = [0u8; 8];
                    word[..width].copy_from_slice(&data[at..at + width]);
                    let delta = rng.below(33) as i64 - 16;
                    let value = u64::from_le_bytes(word).wrapping_add(delta as u64);
                    data[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
                }
                _ => {
                    let at = position(rng, len + 1);
                    let count = 1 + rng.index(32);
                    let byte = rng.pick(interesting);
                    data.splice(at..at, std::iter::repeat_n(byte, count));
                }
            }
        }
        data.truncate(max_len);
    }
}

/// splitmix64 (Steele, Lea and Flood, 2014): one add and three
/// xor-shift-multiplies per output; the same sequence on every host.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.u64() % n }
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// True once in `n` times on average.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    /// One of `items` (which must not be empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        self.u64() as u8
    }
}

/// One test binary's fuzz targets: where their seeds, corpus and failures
/// live.
#[derive(Clone, Copy, Debug)]
pub struct Suite {
    /// The base seed when `FUZZ_SEED` is not set.
    pub default_seed: u64,
    /// Absolute path of the corpus directory (one subdirectory per kind).
    pub corpus_dir: &'static str,
    /// Directory under the system's temporary directory for failing inputs.
    pub save_dir: &'static str,
}

struct Settings {
    seed: u64,
    iterations: Option<u64>,
    only: Option<u64>,
}

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim().replace('_', "");
    let value = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(value.unwrap_or_else(|_| panic!("{name}={text} is not a number")))
}

/// The settings of this process (one test binary, so one suite).
fn settings(suite: &Suite) -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(|| Settings {
        seed: env_u64("FUZZ_SEED").unwrap_or(suite.default_seed),
        iterations: env_u64("FUZZ_ITERATIONS"),
        only: env_u64("FUZZ_ONLY"),
    })
}

thread_local! {
    /// The target and iteration this thread is running, for the panic hook:
    /// a panic that cannot unwind (a failed `unsafe` precondition in a
    /// dependency) aborts before `catch_unwind` could report it.
    static CURRENT: Cell<Option<(&'static str, u64)>> = const { Cell::new(None) };
}

fn install_panic_hook(seed: u64) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if let Some((target, iteration)) = CURRENT.with(Cell::get) {
                eprintln!(
                    "fuzz target `{target}` failed at iteration {iteration}; replay it with \
                     FUZZ_SEED={seed:#x} FUZZ_ONLY={iteration}"
                );
            }
            previous(info);
        }));
    });
}

/// What one input did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The target took the input.
    Accepted,
    /// Refused, and why (the error variant), for the summary.
    Refused(&'static str),
}

/// An input that can be written to a file when it fails.
pub trait Input: fmt::Debug {
    /// The bytes saved for a failing input.
    fn raw(&self) -> Vec<u8>;
}

impl Suite {
    /// Runs `check` on `iterations` inputs from `generate`; on a failure,
    /// prints and saves the input before failing the test.
    pub fn fuzz<T: Input>(
        &self,
        target: &'static str,
        default_iterations: u64,
        generate: impl Fn(&mut Rng) -> T,
        check: impl Fn(&T) -> Outcome,
    ) {
        fuzz(self, target, default_iterations, generate, check);
    }

    /// The files of one corpus directory, sorted by name.
    pub fn corpus(&self, kind: &str) -> Vec<(String, Vec<u8>)> {
        corpus(self, kind)
    }

    /// One file of a corpus directory.
    pub fn corpus_file(&self, kind: &str, name: &str) -> Vec<u8> {
        let path = self.corpus_dir(kind).join(name);
        std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    }

    /// The directory of one corpus kind.
    pub fn corpus_dir(&self, kind: &str) -> PathBuf {
        PathBuf::from(self.corpus_dir).join(kind)
    }
}

fn fuzz<T: Input>(
    suite: &Suite,
    target: &'static str,
    default_iterations: u64,
    generate: impl Fn(&mut Rng) -> T,
    check: impl Fn(&T) -> Outcome,
) {
    let settings = settings(suite);
    install_panic_hook(settings.seed);
    let iterations = settings.iterations.unwrap_or(default_iterations);
    let range = match settings.only {
        Some(only) => only..only + 1,
        None => 0..iterations,
    };
    let salt = target.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let started = Instant::now();
    let mut accepted = 0u64;
    let mut refused: BTreeMap<&'static str, u64> = BTreeMap::new();
    for iteration in range.clone() {
        let mut rng = Rng::new(settings.seed ^ salt ^ iteration.wrapping_mul(0xd134_2543_de82_ef95));
        rng.u64();
        CURRENT.with(|c| c.set(Some((target, iteration))));
        let input = generate(&mut rng);
        let result = panic::catch_unwind(AssertUnwindSafe(|| check(&input)));
        CURRENT.with(|c| c.set(None));
        match result {
            Ok(Outcome::Accepted) => accepted += 1,
            Ok(Outcome::Refused(why)) => *refused.entry(why).or_default() += 1,
            Err(payload) => {
                save_failure(suite, target, iteration, &input);
                panic::resume_unwind(payload);
            }
        }
    }
    let mut reasons: Vec<(u64, &str)> = refused.iter().map(|(why, n)| (*n, *why)).collect();
    reasons.sort_unstable_by(|a, b| b.cmp(a));
    let reasons: Vec<String> = reasons.iter().map(|(n, why)| format!("{why} {n}")).collect();
    eprintln!(
        "fuzz {target}: {} iterations in {:.2?} (seed {:#x}): {accepted} accepted, {} refused ({})",
        range.end - range.start,
        started.elapsed(),
        settings.seed,
        refused.values().sum::<u64>(),
        reasons.join(", "),
    );
}

fn save_failure(suite: &Suite, target: &str, iteration: u64, input: &impl Input) {
    let mut shown = format!("{input:?}");
    if shown.len() > 4000 {
        let mut cut = 4000;
        while !shown.is_char_boundary(cut) {
            cut -= 1;
        }
        shown.truncate(cut);
        shown.push('…');
    }
    let dir = std::env::temp_dir().join(suite.save_dir);
    let path = dir.join(format!("{target}-{iteration}.bin"));
    let saved = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, input.raw()));
    eprintln!("failing input of `{target}` (iteration {iteration}): {shown}");
    match saved {
        Ok(()) => eprintln!("saved to {}", path.display()),
        Err(error) => eprintln!("could not save it to {}: {error}", path.display()),
    }
}

/// `bytes` as a Rust byte-string literal.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::from("b\"");
    for &b in bytes {
        out.extend(std::ascii::escape_default(b).map(char::from));
    }
    out.push('"');
    out
}

fn corpus(suite: &Suite, kind: &str) -> Vec<(String, Vec<u8>)> {
    let dir = suite.corpus_dir(kind);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let name = path.file_name().expect("file name").to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("corpus file"))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
}
