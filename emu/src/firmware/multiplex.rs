//! The bottoms of Int 2Fh (the multiplex interrupt) and Int 28h (DOS idle). DOS owns both
//! vectors and their stubs (`dos/mod.rs`), and a guest hooking either chains down to them,
//! but the calls that reach the bottom belong to whichever part of the firmware the
//! function number names. The dispatch sits here, above DOS, the XMS driver, the DPMI host
//! and the VMM, so that DOS needs none of them.
//!
//! Sources: RBIL INT 2F (who claims which AH: 43h HIMEM, 16h Windows and DPMI, 4Ah DOS 5's
//! HMA functions) and RBIL INT 28; `../shared/reference/dos-memory.md` sections 1.1 (XMS
//! detection), 3.1 (1687h), 4.1 (the 16xxh calls) and 4.5 (Int 28h as a switch point).
//!
//! | AH | answered by |
//! |---|---|
//! | 43h | the XMS driver, when installed (4300h, 4309h, 4310h) |
//! | 16h | the DPMI host for 1687h (in plain DOS with `[dpmi]`, and in every VM), else the VMM while its VMs run (`vmm/mod.rs`) |
//! | any other | DOS ([`dos::int2f`]: 4A01h/4A02h, the HMA under `DOS=HIGH`) |
//!
//! Everything not answered (1600h: no Windows; 1605h with no handler; 1680h unsupported)
//! returns with the registers unchanged, which is what callers test for. The firmware
//! observes every call that reaches the bottom of Int 2Fh with its registers before and
//! after (`Observation::Multiplex`, in [`super::Firmware::service`]).
//!
//! Int 28h: while the VMM's VMs run, a VM reaching the bottom of Int 28h (DOS waiting for
//! a key, or a program calling it) asks the scheduler to give the processor to the next VM
//! that is not halted (`SwitchReason::DosIdle`, allowed with InDOS set; `vmm/sched.rs`).

use super::{Ctx, Firmware, dos, dpmi, vmm};
use crate::observe::SwitchReason;

/// Int 2Fh at the bottom of the chain.
pub(crate) fn int2f(fw: &mut Firmware, ctx: &mut Ctx) {
    match ctx.ah() {
        0x43 => {
            if let Some(x) = fw.xms.as_mut() {
                x.int2f(ctx);
            }
        }
        0x16 => {
            if dpmi::int2f_real_mode(fw, ctx) {
                // 1687h: the DPMI host (in plain DOS with [dpmi], and in every VM).
            } else if let Some(v) = fw.vmm.as_deref_mut().filter(|v| v.running()) {
                vmm::int2f(v, ctx);
            }
        }
        _ => dos::int2f(&mut fw.dos, ctx),
    }
}

/// Int 28h at the bottom of the chain.
pub(crate) fn dos_idle(fw: &mut Firmware) {
    if let Some(v) = fw.vmm.as_deref_mut().filter(|v| v.running()) {
        vmm::sched::request(v, vmm::Request::next(SwitchReason::DosIdle));
    }
}
