//! DOS 5 in Rust. Skeleton: being written.

pub mod drive;
pub mod files;

use serde::{Deserialize, Serialize};

use super::bios::DateTime;
use super::{Ctx, Firmware, Flow, Program, Termination};
pub use drive::DriveC;

/// DOS settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DosConfig {
    /// The wall-clock time at tick 0.
    pub boot_time: DateTime,
}

/// DOS's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Dos {
    pub(crate) drive: DriveC,
    /// The system file table: open files and devices (see `files.rs`).
    pub(crate) files: files::FileTable,
    /// The current PSP (Int 21h AH=50h/51h/62h).
    pub(crate) current_psp: u16,
    /// The disk transfer address (AH=1Ah/2Fh), segment and offset.
    pub(crate) dta: (u16, u16),
    programs: Vec<Program>,
    terminations: Vec<Termination>,
}

impl Dos {
    pub fn new(_config: &DosConfig, drive: DriveC, programs: Vec<Program>) -> Dos {
        Dos {
            drive,
            files: files::FileTable::new(),
            current_psp: 0,
            dta: (0, 0x80),
            programs,
            terminations: Vec::new(),
        }
    }

    pub fn shell_terminations(&self) -> &[Termination] {
        &self.terminations
    }

    pub fn drive(&self) -> &DriveC {
        &self.drive
    }
}

/// The text of DOS error code `code`.
pub fn error_text(code: u16) -> &'static str {
    match code {
        0x01 => "function number invalid",
        0x02 => "file not found",
        0x03 => "path not found",
        0x04 => "too many open files",
        0x05 => "access denied",
        0x06 => "invalid handle",
        0x07 => "memory control blocks destroyed",
        0x08 => "insufficient memory",
        0x09 => "memory block address invalid",
        0x0A => "environment invalid",
        0x0B => "format invalid",
        0x0C => "access code invalid",
        0x0D => "data invalid",
        0x0F => "invalid drive",
        0x10 => "attempted to remove current directory",
        0x11 => "not same device",
        0x12 => "no more files",
        0x13 => "disk write-protected",
        0x50 => "file exists",
        _ => "unknown error",
    }
}

/// Success of an Int 21h function: CF clear in the caller's FLAGS.
pub(crate) fn ok(ctx: &mut Ctx) {
    ctx.set_cf(false);
}

/// Failure of an Int 21h function: CF set, AX = DOS error code.
pub(crate) fn fail(ctx: &mut Ctx, code: u16) {
    ctx.set_ax(code);
    ctx.set_cf(true);
}

pub(crate) fn install(_fw: &mut Firmware, _ctx: &mut Ctx) {}

pub(crate) fn start_shell(_fw: &mut Firmware, _ctx: &mut Ctx) {}

pub(crate) fn service(_fw: &mut Firmware, _service: u16, _ctx: &mut Ctx) -> Flow {
    Flow::Continue
}
