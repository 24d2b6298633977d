//! Each virtual machine's part of the EMS driver under the VMM: its own handle table and
//! frame mapping ([`EmsInstance`]), swapped at every VM switch (`vmm/switch.rs`) and drawn
//! from the one pool of pages, so two VMs get the same handle numbers and different pages.
//!
//! Sources: Microsoft KB Q30590 (What EMS Means to Developers), as
//! `../shared/reference/dos-memory.md` section 2 cites it; the model is in the module notes
//! ([`super`]) and in `vmm/mod.rs`.

use super::{Ems, EmsInstance};
use crate::mem::Memory;

impl Ems {
    /// A copy of the handles and the frame mapping (what a new VM starts from, or what a
    /// VM leaves behind at a switch).
    pub(crate) fn instance(&self) -> EmsInstance {
        EmsInstance {
            handles: self.handles.clone(),
            frame: self.frame,
        }
    }

    /// Makes `inst` the driver's handles and mapping and maps the frame accordingly.
    pub(crate) fn set_instance(&mut self, mem: &mut Memory, inst: EmsInstance) {
        self.handles = inst.handles;
        // A window that cannot be mapped is left as it was; `set_window` fails only for a
        // driver without a pool, which has no mappings either.
        let _ = self.set_frame(mem, inst.frame);
    }

    /// A VM ends: the pages of the handles it opened return to the pool (handles it
    /// inherited from `start` keep theirs, other VMs still see them).
    pub(crate) fn release_instance(&mut self, start: &EmsInstance) {
        let inherited: Vec<u16> = start
            .handles
            .iter()
            .flatten()
            .flat_map(|h| h.pages.iter().copied())
            .collect();
        for h in self.handles.iter().flatten() {
            for &p in &h.pages {
                if !inherited.contains(&p)
                    && let Some(u) = self.used.get_mut(usize::from(p))
                {
                    *u = false;
                }
            }
        }
    }
}
