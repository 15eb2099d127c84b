//! host-test CLI.
fn main() {}
