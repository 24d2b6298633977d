//! The CPU benchmark workload: the real-mode integer loop of `corpora/guests/cpuloop.asm`,
//! and the same loop in protected mode with paging (`corpora/guests/cpuloop32.asm`).
//!
//! The loop body is
//! `mov ax,[data]; add ax,cx; xor bx,ax; mov [data],bx; shl ax,1; adc dx,ax; inc si;
//! and si,0FFh; mov al,[si+data]; sub di,ax; loop` and it runs 65,536 x 1,000 times:
//! 720,896,000 loop-body instructions plus 2,001 of outer-loop and set-up code. The
//! protected-mode version runs the same body with 32-bit registers in flat 4 GiB segments
//! with paging on, after a set-up that builds the page tables and switches modes.

use std::time::Instant;

use vexed_emu::bare::{BareError, BareSystem};
use vexed_emu::cpu::{Model, Reg16, SegReg};
use vexed_emu::machine::{Machine, MachineConfig};

/// The assembled guest (`nasm -f bin corpora/guests/cpuloop.asm`).
pub const CPU_LOOP: &[u8] = include_bytes!("../../corpora/guests/cpuloop.bin");

/// The protected-mode loop (`nasm -f bin corpora/guests/cpuloop32.asm`).
pub const CPU_LOOP_PROTECTED: &[u8] = include_bytes!("../../corpora/guests/cpuloop32.bin");

/// Instructions in the whole protected-mode loop up to and including its final `HLT`: the
/// real-mode loop's 720,899,003 and 7,192 more for building the page tables (2 x 1,024
/// entries) and switching modes.
pub const CPU_LOOP_PROTECTED_TICKS: u64 = 720_906_195;

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
    sys.cpu.set_reg16(Reg16::SP, 0xFFFE);
    sys
}

/// A bare 80386 with the protected-mode loop loaded at 1000:0000 and 4 MiB of RAM (the
/// page tables sit at 20000h), ready to run from real mode.
pub fn cpu_loop_protected_system() -> BareSystem {
    let mut sys = match BareSystem::new(Model::I80386, 0x40_0000) {
        Ok(s) => s,
        Err(e) => unreachable!("4 MiB of RAM is always valid: {e}"),
    };
    sys.load_code(LOAD_SEGMENT, 0, CPU_LOOP_PROTECTED);
    sys
}

/// Runs the protected-mode loop for `ticks` ticks, or to its final `HLT`.
pub fn run_cpu_loop_protected(ticks: Option<u64>) -> Result<CpuBench, BareError> {
    let mut sys = cpu_loop_protected_system();
    let start = Instant::now();
    let instructions = match ticks {
        None => sys.run_to_halt(CPU_LOOP_PROTECTED_TICKS)?,
        Some(n) => sys.run(n.min(CPU_LOOP_PROTECTED_TICKS)).ticks,
    };
    let seconds = start.elapsed().as_secs_f64();
    Ok(CpuBench {
        instructions,
        seconds,
        mips: instructions as f64 / seconds / 1e6,
    })
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

/// Where the timer interrupt handler (a lone `IRET`) sits in the machine benchmark.
const IRET_STUB: u32 = 0x0600;

/// Runs the same loop inside a [`Machine`] with the 8254 live: channel 0 in mode 3 with
/// count 0 (18.2 Hz, as the BIOS leaves it), the 8259A in auto-EOI mode, IF set, and vector
/// 08h pointing at an `IRET`. Counts every instruction, the handler's included, and stops
/// after `ticks` ticks (default: the loop's length, which the interrupts keep it just short
/// of finishing).
pub fn run_cpu_loop_in_machine(
    model: Model,
    ticks: Option<u64>,
) -> Result<CpuBench, crate::engine::EngineError> {
    let mut m = Machine::new(MachineConfig {
        model,
        ..MachineConfig::default()
    })?;
    let base = u32::from(LOAD_SEGMENT) << 4;
    let mem = &mut m.bus_mut().mem;
    mem.write_bytes(base, CPU_LOOP);
    mem.write_u8(IRET_STUB, 0xCF);
    mem.write_u16(0x08 * 4, IRET_STUB as u16);
    mem.write_u16(0x08 * 4 + 2, 0);
    for (port, value) in [
        // 8259A master: ICW1 edge/cascade/ICW4, ICW2 vector 08h, ICW3 slave on IR2,
        // ICW4 8086 mode + auto EOI; OCW1 unmasks IRQ0 only.
        (0x20, 0x11),
        (0x21, 0x08),
        (0x21, 0x04),
        (0x21, 0x03),
        (0x21, 0xFE),
        // 8254 channel 0: lsb/msb, mode 3, binary; count 0 = 65,536.
        (0x43, 0x36),
        (0x40, 0x00),
        (0x40, 0x00),
    ] {
        m.io_write(port, value);
    }
    let cpu = m.cpu_mut();
    cpu.set_sreg(SegReg::CS, LOAD_SEGMENT);
    cpu.set_ip(0);
    for s in [SegReg::DS, SegReg::SS, SegReg::ES] {
        cpu.set_sreg(s, LOAD_SEGMENT);
    }
    cpu.set_reg16(Reg16::SP, 0xFFFE);
    cpu.set_flags(0x0202); // IF
    let limit = ticks.unwrap_or(CPU_LOOP_TICKS).min(CPU_LOOP_TICKS);
    let mut engine = crate::engine::Engine::new(m, limit);
    let start = Instant::now();
    engine.run(limit, &mut crate::source::NoInputs, &mut [])?;
    let seconds = start.elapsed().as_secs_f64();
    let instructions = engine.now();
    Ok(CpuBench {
        instructions,
        seconds,
        mips: instructions as f64 / seconds / 1e6,
    })
}
