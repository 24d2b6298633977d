//! What the command-line tests of `vexed` share.
#![allow(dead_code)]

use std::process::{Command, Output};

/// Runs this build's `vexed` with `args` and gives its output.
pub fn vexed(args: &[&str]) -> Output {
    match Command::new(env!("CARGO_BIN_EXE_vexed"))
        .args(args)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!("cannot run vexed: {e}"),
    }
}
