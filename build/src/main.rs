//! `cargo xtask`: the command line of the build tool. The commands and their
//! options are declared in `build/src/cli.rs`; `cargo xtask help` lists them.

fn main() -> std::process::ExitCode {
    xtask::cli::main()
}
