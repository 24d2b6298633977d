//! The CPU benchmark workload: the real-mode integer loop of `corpora/guests/cpuloop.asm`.
//!
//! The loop body is
//! `mov ax,[data]; add ax,cx; xor bx,ax; mov [data],bx; shl ax,1; adc dx,ax; inc si;
//! and si,0FFh; mov al,[si+data]; sub di,ax; loop` and it runs 65,536 x 1,000 times:
//! 720,896,000 loop-body instructions plus 2,001 of outer-loop and set-up code.

use std::time::Instant;

use vexed_emu::bare::{BareError, BareSystem};
use vexed_emu::cpu::Model;

/// The assembled guest (`nasm -f bin corpora/guests/cpuloop.asm`).
pub const CPU_LOOP: &[u8] = include_bytes!("../../corpora/guests/cpuloop.bin");

/// Segment the loop is loaded at.
pub const LOAD_SEGMENT: u16 = 0x1000;

/// A bare system with the loop loaded at 1000:0000 and ready to run.
pub fn cpu_loop_system(model: Model) -> BareSystem {
    // 1 MiB is a valid RAM size for every model: this cannot fail.
    let mut sys = match BareSystem::new(model, 0x10_0000) {
        Ok(s) => s,
        Err(e) => unreachable!("1 MiB of RAM is always valid: {e}"),
    };
    sys.load_code(LOAD_SEGMENT, 0, CPU_LOOP);
    for s in [
        vexed_emu::cpu::SegReg::DS,
        vexed_emu::cpu::SegReg::SS,
        vexed_emu::cpu::SegReg::ES,
    ] {
        sys.cpu.set_sreg(s, LOAD_SEGMENT);
    }
    sys.cpu.set_reg16(vexed_emu::cpu::Reg16::SP, 0xFFFE);
    sys
}

/// What one benchmark run measured.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct CpuBench {
    pub instructions: u64,
    pub seconds: f64,
    pub mips: f64,
}

/// Instructions in the whole loop, up to and including its final `HLT`.
pub const CPU_LOOP_TICKS: u64 = 720_899_003;

/// Runs the loop for `ticks` ticks, or to its final `HLT` when `ticks` is `None`, and
/// times it with the host clock.
pub fn run_cpu_loop(model: Model, ticks: Option<u64>) -> Result<CpuBench, BareError> {
    let mut sys = cpu_loop_system(model);
    let start = Instant::now();
    let instructions = match ticks {
        None => sys.run_to_halt(CPU_LOOP_TICKS)?,
        Some(n) => sys.run(n.min(CPU_LOOP_TICKS)).ticks,
    };
    let seconds = start.elapsed().as_secs_f64();
    Ok(CpuBench {
        instructions,
        seconds,
        mips: instructions as f64 / seconds / 1e6,
    })
}
