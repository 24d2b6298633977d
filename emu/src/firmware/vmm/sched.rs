//! The scheduler: when the VMM switches VMs, to which one, and what holds a switch back
//! (the rules are in the module documentation of [`super`]; dos-memory.md section 4.5).
//!
//! The machine calls in at four places: every timer interrupt edge
//! ([`Firmware::vmm_timer_edge`]), every pass of its run loop while a switch is wanted
//! ([`Firmware::vmm_switch_point`]), a halted processor ([`Firmware::vmm_idle`]) and a
//! pending keyboard interrupt ([`Firmware::vmm_hold_keyboard`]). Services ask for switches
//! with [`request`] (1680h, the bottom of Int 28h); the switch itself happens at the next
//! switch point, an instruction boundary after the service.

use super::super::stubs::{DOS_DATA_SEG, INDOS_OFF};
use super::super::{Ctx, Firmware};
use super::{Request, Vmm, switch};
use crate::devices::pic::{Chip, PicPair};
use crate::observe::SwitchReason;

/// Requests that wait for a rule to clear; the others are chances taken or dropped.
fn waits(reason: SwitchReason) -> bool {
    matches!(
        reason,
        SwitchReason::SliceEnd | SwitchReason::Input | SwitchReason::Exited
    )
}

/// Asks for a switch. A waiting slice end or focus switch is not replaced by a weaker
/// request.
pub(crate) fn request(vmm: &mut Vmm, req: Request) {
    match vmm.pending {
        Some(p) if waits(p.reason) && !waits(req.reason) => {}
        Some(p) if p.reason == SwitchReason::Input && req.reason == SwitchReason::SliceEnd => {}
        _ => vmm.pending = Some(req),
    }
}

impl Vmm {
    /// The VM a request goes to, if any other qualifies.
    fn target(&self, req: Request) -> Option<usize> {
        if let Some(to) = req.to {
            return (to != self.current && self.vms.get(to)?.ended.is_none()).then_some(to);
        }
        let n = self.vms.len();
        (1..n).map(|k| (self.current + k) % n).find(|&i| {
            let vm = &self.vms[i];
            vm.ended.is_none()
                && (!req.runnable_only || vm.cpu.as_ref().is_some_and(|c| !c.halted()))
        })
    }

    /// What holds a switch away from the running VM back, if anything.
    fn held_by(&self, ctx: &Ctx, reason: SwitchReason) -> Option<&'static str> {
        if reason == SwitchReason::Exited {
            return None;
        }
        let rules = self.config.rules;
        if rules.critical_sections && self.critical > 0 {
            return Some("critical section");
        }
        if rules.indos && reason != SwitchReason::DosIdle && ctx.rd8(DOS_DATA_SEG, INDOS_OFF) != 0 {
            return Some("InDOS");
        }
        if rules.interrupts_in_service && in_service(&ctx.bus.pic) {
            return Some("interrupt in service");
        }
        None
    }
}

/// A hardware interrupt is being handled (its in-service bit is still set).
fn in_service(pic: &PicPair) -> bool {
    pic.isr(Chip::Master) | pic.isr(Chip::Slave) != 0
}

impl Firmware {
    /// The VMs run and a switch is wanted: the machine should call
    /// [`Firmware::vmm_switch_point`].
    pub(crate) fn vmm_switch_wanted(&self) -> bool {
        self.vmm
            .as_deref()
            .is_some_and(|v| v.running() && v.pending.is_some())
    }

    /// An IRQ0 edge: counts down the running VM's slice; a halted VM passes the interrupt
    /// on to the next VM. `halted_at` is where the processor waits in `HLT`, if it does.
    pub(crate) fn vmm_timer_edge(&mut self, halted_at: Option<(u16, u16)>) {
        let in_dos_idle = halted_at.is_some_and(|(cs, ip)| self.dos.in_wait_loop(cs, ip));
        let Some(vmm) = self.vmm.as_deref_mut().filter(|v| v.running()) else {
            return;
        };
        if halted_at.is_some() {
            // An idle VM passes the interrupt on to the next VM, halted or not, so every
            // waiting VM gets timer interrupts in turn. One halted in DOS's wait for a key
            // is idle at Int 28h, where InDOS does not hold the switch back.
            let reason = if in_dos_idle {
                SwitchReason::DosIdle
            } else {
                SwitchReason::Idle
            };
            request(
                vmm,
                Request {
                    runnable_only: false,
                    ..Request::next(reason)
                },
            );
            return;
        }
        vmm.slice_left = vmm.slice_left.saturating_sub(1);
        if vmm.slice_left == 0 {
            request(vmm, Request::next(SwitchReason::SliceEnd));
        }
    }

    /// Makes the wanted switch if no rule holds it back (a held slice end or focus switch
    /// stays wanted; other requests are dropped). Returns whether it switched.
    pub(crate) fn vmm_switch_point(&mut self, ctx: &mut Ctx) -> bool {
        let Some(vmm) = self.vmm.as_deref_mut().filter(|v| v.running()) else {
            return false;
        };
        let Some(req) = vmm.pending else {
            return false;
        };
        if vmm.held_by(ctx, req.reason).is_some() {
            if !waits(req.reason) {
                vmm.pending = None;
            }
            return false;
        }
        vmm.pending = None;
        match vmm.target(req) {
            Some(to) => {
                switch::switch(self, ctx, to, req.reason);
                true
            }
            None => {
                // Nobody else can run: the slice starts over.
                vmm.slice_left = vmm.vms[vmm.current].slice;
                false
            }
        }
    }

    /// The running VM halted with interrupts enabled: another VM that is not halted gets
    /// the processor, if the rules allow. Returns whether it switched.
    pub(crate) fn vmm_idle(&mut self, ctx: &mut Ctx) -> bool {
        let Some(vmm) = self.vmm.as_deref_mut().filter(|v| v.running()) else {
            return false;
        };
        request(vmm, Request::next(SwitchReason::Idle));
        self.vmm_switch_point(ctx)
    }

    /// A keyboard interrupt is pending (and no timer interrupt before it) while a VM other
    /// than the one with the focus runs: the key belongs to the focus VM, so the VMM
    /// switches there and the interrupt waits. Returns whether to hold the interrupt back.
    pub(crate) fn vmm_hold_keyboard(&mut self, pic: &PicPair) -> bool {
        let Some(vmm) = self.vmm.as_deref_mut().filter(|v| v.running()) else {
            return false;
        };
        let pending = pic.irr(Chip::Master) & !pic.imr(Chip::Master);
        if pending & 0b11 != 0b10 {
            return false;
        }
        let focus = vmm.config.focus + 1;
        if focus == vmm.current || vmm.vms.get(focus).is_none_or(|v| v.ended.is_some()) {
            return false;
        }
        request(
            vmm,
            Request {
                reason: SwitchReason::Input,
                to: Some(focus),
                runnable_only: false,
            },
        );
        true
    }
}
