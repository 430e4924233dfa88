//! Runs promqltest files (being written).
fn main() {}
