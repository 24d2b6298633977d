//! String instructions (MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS) and the REP prefixes.
//!
//! 80386 PRM chapter 17 (MOVS ... REP): the source is `seg:(E)SI` (DS unless overridden),
//! the destination `ES:(E)DI` (never overridden); the index registers step by the operand
//! size, down when DF is set; the address size picks SI/DI/CX or ESI/EDI/ECX.
//!
//! REP repeats while the count is not zero; for CMPS and SCAS, F3h (REPE) also stops when ZF
//! is clear and F2h (REPNE) when ZF is set; for the other instructions both prefixes mean
//! REP. Every iteration is one tick and an instruction boundary: when the run's budget ends
//! between iterations (or TF is set), EIP points back at the instruction's first prefix and
//! the registers hold the progress so far, so an interrupt can be taken and the instruction
//! resumes afterwards (80386 PRM 17, REP: "the instruction is restartable").

use super::regs::{AX, CX, DI, DX, ES, SI};
use super::{Cpu, Exit, Fault, Model, R};
use crate::bus::{Bus, IoSize};

impl Cpu {
    /// Executes string opcode `op` (A4h-A7h, AAh-AFh, 6Ch-6Fh) with any REP prefix.
    pub(crate) fn string_op<B: Bus>(&mut self, bus: &mut B, op: u8) -> R<()> {
        let bytes: u32 = if op & 1 == 0 { 1 } else { self.vbits() / 8 };
        if self.d.rep == 0 {
            self.string_iteration(bus, op, bytes).map_err(|(f, _)| f)?;
            if matches!(op, 0x6C..=0x6F) && bus.yield_requested() {
                self.stop(Exit::IoYield);
            }
            return Ok(());
        }
        let a32 = self.d.a32;
        let count = |cpu: &Cpu| {
            if a32 {
                cpu.regs[CX]
            } else {
                cpu.regs[CX] & 0xFFFF
            }
        };
        if count(self) == 0 {
            return Ok(());
        }
        // This tick is already paid for; further iterations draw on the remaining budget.
        // With TF set every iteration is followed by a single-step trap.
        let allowed = if self.flags.tf() {
            1
        } else {
            self.budget.saturating_add(1)
        };
        let compares = matches!(op, 0xA6 | 0xA7 | 0xAE | 0xAF);
        let io = matches!(op, 0x6C..=0x6F);
        let mut done: u64 = 0;
        let mut yield_now = false;
        let result = loop {
            if let Err((f, phase)) = self.string_iteration(bus, op, bytes) {
                if self.model == Model::I80286 {
                    let n = match phase {
                        Phase::Uncounted => 0,
                        Phase::Counted => 1,
                        Phase::Write => 2,
                    };
                    let c = count(self).wrapping_sub(n);
                    if a32 {
                        self.regs[CX] = c;
                    } else {
                        self.set_r16(CX, c as u16);
                    }
                }
                break Err(f);
            }
            let c = count(self).wrapping_sub(1);
            if a32 {
                self.regs[CX] = c;
            } else {
                self.set_r16(CX, c as u16);
            }
            done += 1;
            let finished = c == 0 || (compares && (self.flags.zf() != (self.d.rep == 0xF3)));
            if finished {
                break Ok(());
            }
            yield_now = io && bus.yield_requested();
            if done >= allowed || yield_now {
                // Resume this instruction on the next tick.
                self.eip = self.d.start_eip;
                self.d.rep_more = true;
                break Ok(());
            }
        };
        // The first iteration (or the faulting one) is this tick; each further one costs one.
        let extra = if result.is_err() {
            done
        } else {
            done.saturating_sub(1)
        };
        self.budget -= extra.min(self.budget);
        if yield_now {
            self.stop(Exit::IoYield);
        }
        result
    }

    /// Advances index register `r` by one element in the direction DF gives.
    #[inline(always)]
    fn step_index(&mut self, r: usize, bytes: u32) {
        let delta = if self.flags.df() {
            bytes.wrapping_neg()
        } else {
            bytes
        };
        if self.d.a32 {
            self.regs[r] = self.regs[r].wrapping_add(delta);
        } else {
            let v = (self.regs[r] as u16).wrapping_add(delta as u16);
            self.set_r16(r, v);
        }
    }

    #[inline(always)]
    fn index(&self, r: usize) -> u32 {
        if self.d.a32 {
            self.regs[r]
        } else {
            self.regs[r] & 0xFFFF
        }
    }

    #[inline(always)]
    fn read_elem<B: Bus>(&mut self, bus: &mut B, seg: usize, off: u32, bytes: u32) -> R<u32> {
        match bytes {
            1 => Ok(u32::from(self.rd8(bus, seg, off)?)),
            2 => Ok(u32::from(self.rd16(bus, seg, off)?)),
            _ => self.rd32(bus, seg, off),
        }
    }

    #[inline(always)]
    fn write_elem<B: Bus>(
        &mut self,
        bus: &mut B,
        seg: usize,
        off: u32,
        bytes: u32,
        v: u32,
    ) -> R<()> {
        match bytes {
            1 => self.wr8(bus, seg, off, v as u8),
            2 => self.wr16(bus, seg, off, v as u16),
            _ => self.wr32(bus, seg, off, v),
        }
    }

    fn io_size(bytes: u32) -> IoSize {
        match bytes {
            1 => IoSize::Byte,
            2 => IoSize::Word,
            _ => IoSize::Dword,
        }
    }

    /// One iteration of a string instruction. On a fault, also says where in the iteration
    /// it happened (the 80286's REP bookkeeping depends on it).
    #[inline(always)]
    fn string_iteration<B: Bus>(
        &mut self,
        bus: &mut B,
        op: u8,
        bytes: u32,
    ) -> Result<(), (Fault, Phase)> {
        let bits = bytes * 8;
        let src_seg = self.seg_or(super::regs::DS);
        // The 80286 steps an index register together with its access, so a segment-limit
        // fault leaves it already stepped; the 80386 changes nothing before a fault.
        let late = self.model == Model::I80286;
        match op {
            0xA4 | 0xA5 => {
                let v = self.read_elem(bus, src_seg, self.index(SI), bytes);
                if late {
                    self.step_index(SI, bytes);
                }
                let v = v.map_err(|f| (f, Phase::Counted))?;
                let w = self.write_elem(bus, ES, self.index(DI), bytes, v);
                if late {
                    self.step_index(DI, bytes);
                }
                w.map_err(|f| (f, Phase::Write))?;
                if !late {
                    self.step_index(SI, bytes);
                    self.step_index(DI, bytes);
                }
            }
            0xA6 | 0xA7 => {
                let (a, b) = if late {
                    // The 80286 reads ES:DI before DS:SI, and counts between the two.
                    let b = self.read_elem(bus, ES, self.index(DI), bytes);
                    self.step_index(DI, bytes);
                    let b = b.map_err(|f| (f, Phase::Uncounted))?;
                    let a = self.read_elem(bus, src_seg, self.index(SI), bytes);
                    self.step_index(SI, bytes);
                    (a.map_err(|f| (f, Phase::Counted))?, b)
                } else {
                    let a = self
                        .read_elem(bus, src_seg, self.index(SI), bytes)
                        .map_err(|f| (f, Phase::Counted))?;
                    let b = self
                        .read_elem(bus, ES, self.index(DI), bytes)
                        .map_err(|f| (f, Phase::Counted))?;
                    self.step_index(SI, bytes);
                    self.step_index(DI, bytes);
                    (a, b)
                };
                self.alu(7, a, b, bits);
            }
            0xAA | 0xAB => {
                let v = self.regs[AX];
                let w = self.write_elem(bus, ES, self.index(DI), bytes, v);
                if w.is_ok() || late {
                    self.step_index(DI, bytes);
                }
                w.map_err(|f| (f, Phase::Write))?;
            }
            0xAC | 0xAD => {
                let v = self.read_elem(bus, src_seg, self.index(SI), bytes);
                if v.is_ok() || late {
                    self.step_index(SI, bytes);
                }
                let v = v.map_err(|f| (f, Phase::Counted))?;
                match bytes {
                    1 => self.set_r8(0, v as u8),
                    2 => self.set_r16(AX, v as u16),
                    _ => self.regs[AX] = v,
                }
            }
            0xAE | 0xAF => {
                let b = self.read_elem(bus, ES, self.index(DI), bytes);
                if b.is_ok() || late {
                    self.step_index(DI, bytes);
                }
                let b = b.map_err(|f| (f, Phase::Counted))?;
                let a = self.regs[AX] & super::alu::width_mask(bits);
                self.alu(7, a, b, bits);
            }
            0x6C | 0x6D => {
                let port = self.r16(DX);
                self.check_io(bus, port, bytes)
                    .map_err(|f| (f, Phase::Uncounted))?;
                let di = self.index(DI);
                if !late {
                    // The destination is checked before the port is read, so a fault does not
                    // consume input.
                    self.check_range(ES, di, bytes)
                        .map_err(|f| (f, Phase::Write))?;
                }
                bus.sync_io_clock(self.ticks_into_run());
                let v = bus.io_read(self.r16(DX), Self::io_size(bytes));
                self.invalidate_code_window();
                let w = self.write_elem(bus, ES, di, bytes, v);
                if w.is_ok() || late {
                    self.step_index(DI, bytes);
                }
                w.map_err(|f| (f, Phase::Write))?;
            }
            _ => {
                let port = self.r16(DX);
                self.check_io(bus, port, bytes)
                    .map_err(|f| (f, Phase::Uncounted))?;
                let v = self.read_elem(bus, src_seg, self.index(SI), bytes);
                if v.is_ok() || late {
                    self.step_index(SI, bytes);
                }
                let v = v.map_err(|f| (f, Phase::Counted))?;
                bus.sync_io_clock(self.ticks_into_run());
                bus.io_write(self.r16(DX), Self::io_size(bytes), v);
                self.invalidate_code_window();
            }
        }
        Ok(())
    }
}

/// Where in a string iteration a fault happened, for the 80286's REP count: it decrements
/// CX at the start of an iteration (CMPS: between its two reads), and when a write faults
/// the next iteration's decrement has already happened.
#[derive(Clone, Copy)]
enum Phase {
    Uncounted,
    Counted,
    Write,
}
