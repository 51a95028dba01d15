//! The library half of xtask: the checks that `cargo xtask tidy` runs, kept in a library
//! so that the tidy tests (`xtask/tests/tidy.rs`) call the very same implementation.

pub mod tidy;
