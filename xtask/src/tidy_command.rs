//! `cargo xtask tidy`: runs the checks of [`xtask::tidy`] over this checkout and prints
//! every problem; fails when there is one.

use anyhow::Result;

use crate::util;

/// Runs tidy; returns the exit code (0 when every rule holds, 1 otherwise).
pub(crate) fn run() -> Result<u8> {
    let problems = xtask::tidy::run(&util::project_root())?;
    if problems.is_empty() {
        println!("xtask: tidy: every rule holds");
        return Ok(0);
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    eprintln!(
        "xtask: tidy: {} problem(s); the rules are described in xtask/src/tidy/mod.rs",
        problems.len()
    );
    Ok(1)
}
