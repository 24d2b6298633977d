//! Drive C: an in-memory directory tree handed in by the host. Skeleton.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The files of drive C:, keyed by upper-case DOS path without the drive (`SUB\FILE.EXT`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveC {
    files: BTreeMap<String, Vec<u8>>,
    writable: bool,
}
