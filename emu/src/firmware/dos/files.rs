//! DOS file handles on drive C: and the character devices. Skeleton: being written.

use serde::{Deserialize, Serialize};

use super::super::{Ctx, Firmware};

/// The system file table.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FileTable {}

impl FileTable {
    pub fn new() -> FileTable {
        FileTable::default()
    }
}

/// Int 21h functions of this module; returns false when `ctx.ah()` is not one of them.
pub(crate) fn int21(_fw: &mut Firmware, _ctx: &mut Ctx) -> bool {
    false
}

/// Closes every handle of the process whose PSP is at `psp` (termination).
pub(crate) fn close_all(_fw: &mut Firmware, _ctx: &mut Ctx, _psp: u16) {}
