//! The machine as gdb sees it: the i386 register file and memory by linear address.
//!
//! Registers follow gdb's i386 target description (the GDB manual, appendix "Target
//! Descriptions", section "i386 Features": the `org.gnu.gdb.i386.core` feature): EAX, ECX,
//! EDX, EBX, ESP, EBP, ESI, EDI, EIP, EFLAGS, CS, SS, DS, ES, FS, GS (32 bits each), then the
//! x87 registers ST0-ST7 (80 bits) and FCTRL ... FOP (32 bits). vexed models no FPU: the x87
//! registers read as zero and writes to them are refused. The `g` packet is the registers
//! in that order, each little-endian (Remote Serial Protocol, "Packets": `g`).
//!
//! # The program counter
//!
//! gdb sees one flat address space: the *linear* address. The PC gdb reads (register `eip`)
//! is CS.base + EIP in every mode: in real and virtual-8086 mode that is CS*16 + IP, as other
//! PC emulators' gdb stubs report it; in protected mode with a flat code segment it is EIP.
//! Breakpoints are set at linear addresses and memory is read by linear address, so the three
//! agree. Writing the PC moves CS:IP to the new linear address: in real and virtual-8086 mode
//! CS stays if the address lies within CS's 64 KiB (IP = address - CS*16), otherwise CS
//! becomes address >> 4 (at most FFFFh) and IP the rest; in protected mode EIP = address -
//! CS.base.
//! (`info registers` in gdb shows the real EIP only through `monitor vm` or `p $cs`.)
//!
//! # Memory
//!
//! Memory is read by linear address through the page tables when paging is on, without
//! side effects (no accessed or dirty bits, no TLB entry, no CR2: `Cpu::linear_to_physical`),
//! in the running VM's view under the VM manager, and the physical address is not cut by the
//! A20 gate (extended memory, such as an XMS block, reads as it is while the gate is off). A
//! page that is not mapped reads as an error. Writes from gdb change the machine at the current tick only: the debugger then
//! runs a machine the recording never saw (see `tape.rs`, "diverged").

use vexed_emu::cpu::{Reg32, SegReg};
use vexed_emu::machine::Machine;

/// Registers in the `g` packet: 16 of 4 bytes, 8 of 10, 8 of 4.
pub const REGISTERS: usize = 32;
/// Bytes of the `g` packet.
pub const G_BYTES: usize = 16 * 4 + 8 * 10 + 8 * 4;

/// The general registers in gdb's order, which is the encoding order.
const GPRS: [Reg32; 8] = Reg32::ALL;
/// The segment registers in gdb's order (register numbers 10-15).
const SEGS: [SegReg; 6] = [
    SegReg::CS,
    SegReg::SS,
    SegReg::DS,
    SegReg::ES,
    SegReg::FS,
    SegReg::GS,
];

/// Register number of the PC.
pub const PC: usize = 8;

/// The target description XML (`qXfer:features:read:target.xml`).
pub fn target_xml() -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n<architecture>i386</architecture>\n<feature name=\"org.gnu.gdb.i386.core\">\n",
    );
    let names32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"];
    for n in names32 {
        let ty = match n {
            "esp" | "ebp" => "data_ptr",
            _ => "int32",
        };
        x.push_str(&format!(
            "<reg name=\"{n}\" bitsize=\"32\" type=\"{ty}\"/>\n"
        ));
    }
    x.push_str("<reg name=\"eip\" bitsize=\"32\" type=\"code_ptr\"/>\n");
    x.push_str("<reg name=\"eflags\" bitsize=\"32\" type=\"int32\"/>\n");
    for n in ["cs", "ss", "ds", "es", "fs", "gs"] {
        x.push_str(&format!(
            "<reg name=\"{n}\" bitsize=\"32\" type=\"int32\"/>\n"
        ));
    }
    for i in 0..8 {
        x.push_str(&format!(
            "<reg name=\"st{i}\" bitsize=\"80\" type=\"i387_ext\"/>\n"
        ));
    }
    for n in [
        "fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop",
    ] {
        x.push_str(&format!(
            "<reg name=\"{n}\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
        ));
    }
    x.push_str("</feature>\n</target>\n");
    x
}

/// The linear address of CS:EIP.
pub fn pc(m: &Machine) -> u32 {
    let cpu = m.cpu();
    cpu.segment(SegReg::CS).base.wrapping_add(cpu.eip())
}

/// Whether CS:IP is real-mode style (real or virtual-8086 mode).
fn segmented(m: &Machine) -> bool {
    let cpu = m.cpu();
    !cpu.in_protected_mode() || cpu.in_v86_mode()
}

/// Register `n`'s bytes, little-endian (`None`: no such register).
pub fn read_register(m: &Machine, n: usize) -> Option<Vec<u8>> {
    let cpu = m.cpu();
    let v = match n {
        0..=7 => cpu.reg32(GPRS[n]),
        PC => pc(m),
        9 => cpu.flags(),
        10..=15 => u32::from(cpu.sreg(SEGS[n - 10])),
        16..=23 => return Some(vec![0; 10]),
        24..=31 => 0,
        _ => return None,
    };
    Some(v.to_le_bytes().to_vec())
}

/// Every register, as the `g` packet carries them.
pub fn read_registers(m: &Machine) -> Vec<u8> {
    (0..REGISTERS)
        .flat_map(|n| read_register(m, n).unwrap_or_default())
        .collect()
}

/// Why a register cannot be written.
#[derive(Debug, PartialEq, Eq)]
pub enum RegisterError {
    NoSuchRegister,
    Size,
    /// The x87 registers (no FPU) and protected-mode segment registers (a selector load
    /// would need the descriptor checks of a real instruction).
    ReadOnly,
}

/// Writes register `n` from its little-endian bytes.
pub fn write_register(m: &mut Machine, n: usize, bytes: &[u8]) -> Result<(), RegisterError> {
    if n >= REGISTERS {
        return Err(RegisterError::NoSuchRegister);
    }
    if (16..24).contains(&n) {
        return Err(RegisterError::ReadOnly);
    }
    let arr: [u8; 4] = bytes.try_into().map_err(|_| RegisterError::Size)?;
    let v = u32::from_le_bytes(arr);
    let seg = segmented(m);
    let cpu = m.cpu_mut();
    match n {
        0..=7 => cpu.set_reg32(GPRS[n], v),
        PC => {
            let cs = cpu.segment(SegReg::CS);
            if seg {
                let off = v.wrapping_sub(cs.base);
                if off <= 0xFFFF {
                    cpu.set_eip(off);
                } else if v <= 0xFFFF * 16 + 0xFFFF {
                    // CS = v / 16 (at most FFFFh), IP the rest (at most FFFFh).
                    let cs = (v >> 4).min(0xFFFF);
                    cpu.set_sreg(SegReg::CS, cs as u16);
                    cpu.set_eip(v - cs * 16);
                } else {
                    return Err(RegisterError::ReadOnly);
                }
            } else {
                cpu.set_eip(v.wrapping_sub(cs.base));
            }
        }
        9 => cpu.set_flags(v),
        10..=15 if seg && v <= 0xFFFF => cpu.set_sreg(SEGS[n - 10], v as u16),
        24..=31 if v == 0 => {}
        _ => return Err(RegisterError::ReadOnly),
    }
    Ok(())
}

/// The byte at physical address `p` as the memory holds it, without the A20 gate (so the
/// debugger sees extended memory, an XMS block, whatever the gate's state); `None` where
/// nothing is mapped.
fn read_physical(m: &Machine, p: u32) -> Option<u8> {
    let (page, _) = m.bus().mem.page_mapping(p >> 12)?;
    let i = ((page.index() as usize) << 12) | (p & 0xFFF) as usize;
    m.memory_store().get(i).copied()
}

/// `len` bytes at linear `addr`: as many as are mapped from `addr` on (empty if the first
/// byte is not). Linear addresses go through the page tables; physical addresses are not
/// cut by the A20 gate.
pub fn read_memory(m: &Machine, addr: u32, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mem = &m.bus().mem;
    for i in 0..len {
        let lin = addr.wrapping_add(i as u32);
        match m
            .cpu()
            .linear_to_physical(mem, lin)
            .and_then(|p| read_physical(m, p))
        {
            Some(b) => out.push(b),
            None => break,
        }
    }
    out
}

/// Writes `bytes` at linear `addr`; false (nothing written) if any byte is not mapped.
pub fn write_memory(m: &mut Machine, addr: u32, bytes: &[u8]) -> bool {
    let mut phys = Vec::with_capacity(bytes.len());
    for i in 0..bytes.len() {
        match m
            .cpu()
            .linear_to_physical(&m.bus().mem, addr.wrapping_add(i as u32))
        {
            Some(p) => phys.push(p),
            None => return false,
        }
    }
    let mem = &mut m.bus_mut().mem;
    for (p, b) in phys.into_iter().zip(bytes) {
        mem.write_u8(p, *b);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use vexed_emu::machine::MachineConfig;

    #[test]
    fn writing_the_pc_moves_cs_ip_in_real_mode() {
        let mut m = Machine::new(MachineConfig::default()).expect("machine");
        m.cpu_mut().set_sreg(SegReg::CS, 0x1000);
        m.cpu_mut().set_ip(0);
        // Within CS's 64 KiB: IP moves.
        write_register(&mut m, PC, &0x1_0123u32.to_le_bytes()).expect("pc");
        assert_eq!((m.cpu().sreg(SegReg::CS), m.cpu().ip()), (0x1000, 0x0123));
        assert_eq!(pc(&m), 0x1_0123);
        // Outside: CS = address >> 4.
        write_register(&mut m, PC, &0x5_4321u32.to_le_bytes()).expect("pc");
        assert_eq!((m.cpu().sreg(SegReg::CS), m.cpu().ip()), (0x5432, 0x0001));
        // Above 1 MiB: the HMA through CS = FFFFh; beyond FFFF:FFFF it cannot be reached.
        write_register(&mut m, PC, &0x10_FFEFu32.to_le_bytes()).expect("pc");
        assert_eq!((m.cpu().sreg(SegReg::CS), m.cpu().ip()), (0xFFFF, 0xFFFF));
        assert_eq!(
            write_register(&mut m, PC, &0x11_0000u32.to_le_bytes()),
            Err(RegisterError::ReadOnly)
        );
        // The g packet: 16 registers of 4 bytes, 8 of 10, 8 of 4.
        assert_eq!(read_registers(&m).len(), G_BYTES);
        assert_eq!(write_register(&mut m, 3, &[1, 2]), Err(RegisterError::Size));
        assert_eq!(
            write_register(&mut m, 16, &[0; 10]),
            Err(RegisterError::ReadOnly)
        );
    }
}
