//! XMS 3.0 driver (HIMEM). Skeleton: the full driver is being written.

use serde::{Deserialize, Serialize};

use super::{Ctx, Flow};

/// XMS driver settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct XmsConfig {
    /// Number of EMB handles (HIMEM's /NUMHANDLES=).
    pub handles: u16,
    /// /HMAMIN= in KB (0-63).
    pub hma_min_kb: u16,
}

impl Default for XmsConfig {
    fn default() -> XmsConfig {
        XmsConfig {
            handles: 32,
            hma_min_kb: 0,
        }
    }
}

/// The driver's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Xms {
    config: XmsConfig,
}

impl Xms {
    pub fn new(config: XmsConfig) -> Xms {
        Xms { config }
    }

    /// Places the driver in guest memory (called once by POST).
    pub fn install(&mut self, _ctx: &mut Ctx) {}

    /// Int 2Fh AH=43h: returns whether the call was the driver's.
    pub fn int2f(&mut self, _ctx: &mut Ctx) -> bool {
        false
    }

    pub fn service(&mut self, _service: u16, _ctx: &mut Ctx) -> Flow {
        let _ = &self.config;
        Flow::Continue
    }
}
