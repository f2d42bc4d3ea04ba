//! The build tool (in progress).
fn main() {}
