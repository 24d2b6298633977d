//! EMS 4.0 driver. Skeleton: the full driver is being written.

use serde::{Deserialize, Serialize};

use super::{Ctx, Flow};

/// EMS driver settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmsConfig {
    /// Logical 16 KiB pages of expanded memory.
    pub pages: u16,
    /// Page frame segment (4 x 16 KiB windows).
    pub frame_segment: u16,
    /// Handles, including the OS handle 0.
    pub handles: u16,
}

impl Default for EmsConfig {
    fn default() -> EmsConfig {
        EmsConfig {
            pages: 256,
            frame_segment: 0xE000,
            handles: 64,
        }
    }
}

/// The driver's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ems {
    config: EmsConfig,
}

impl Ems {
    pub fn new(config: EmsConfig) -> Ems {
        Ems { config }
    }

    /// Places the driver in guest memory (called once by POST).
    pub fn install(&mut self, _ctx: &mut Ctx) {}

    pub fn service(&mut self, _service: u16, _ctx: &mut Ctx) -> Flow {
        let _ = &self.config;
        Flow::Continue
    }
}
