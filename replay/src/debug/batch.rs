//! `vexed debug TRACE --batch FILE`: the debugger without gdb. Each line of the script is a
//! command of vexed's debugger language (`monitor.rs`, the same commands gdb's `monitor`
//! runs); the answers are written in order, each after the command echoed as `> COMMAND`.
//! The first command that fails stops the script with its line number and the reason.

use std::io::Write;

use super::{DebugError, Debugger, monitor};

/// The largest script read.
pub const MAX_SCRIPT: usize = 1 << 20;

/// A failed script: where and why.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {command:?}")]
pub struct ScriptError {
    pub line: usize,
    pub command: String,
    #[source]
    pub source: DebugError,
}

/// Runs `script` on `d`, writing the answers to `out`.
pub fn run(d: &mut Debugger, script: &str, out: &mut dyn Write) -> Result<(), ScriptError> {
    for (i, line) in script.lines().enumerate() {
        let fail = |source| ScriptError {
            line: i + 1,
            command: line.trim().to_string(),
            source,
        };
        let text = line.split('#').next().unwrap_or("").trim();
        if text.is_empty() {
            continue;
        }
        writeln!(out, "> {text}").map_err(|e| fail(DebugError::Io(e)))?;
        let answer = monitor::execute(d, text).map_err(fail)?;
        if !answer.is_empty() {
            writeln!(out, "{answer}").map_err(|e| fail(DebugError::Io(e)))?;
        }
    }
    Ok(())
}
