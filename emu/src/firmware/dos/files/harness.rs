//! Test support for DOS's file handles: a machine with DOS's first process at a fixed PSP
//! and drive C:, and helpers that call Int 21h with registers and read the results.

use super::{init_psp_handles, int21, read_needs_input};
use crate::cpu::{Reg16, SegReg};
use crate::firmware::dos::DriveC;
use crate::firmware::dos::sda;
use crate::firmware::{Firmware, FirmwareConfig};
use crate::machine::{Machine, MachineConfig};

pub(super) const PSP: u16 = 0x1000;
pub(super) const STACK: u16 = 0x2000;
/// DS = ES for names and buffers.
pub(super) const DATA: u16 = 0x3000;
pub(super) const NAME: u16 = 0x0000;
pub(super) const NAME2: u16 = 0x0100;
pub(super) const BUF: u16 = 0x1000;
pub(super) const DTA: u16 = 0x0800;

/// Boot time 1994-01-01 00:00:00 in directory-entry form: date (14 << 9) | (1 << 5) | 1.
pub(super) const BOOT_DATE: u16 = 0x1C21;
pub(super) const BOOT_TIME: u16 = 0x0000;

#[derive(Clone, Copy, Default)]
pub(super) struct Regs {
    pub(super) ax: u16,
    pub(super) bx: u16,
    pub(super) cx: u16,
    pub(super) dx: u16,
    pub(super) si: u16,
    pub(super) di: u16,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Out {
    pub(super) ax: u16,
    pub(super) bx: u16,
    pub(super) cx: u16,
    pub(super) dx: u16,
    pub(super) cf: bool,
}

impl Out {
    pub(super) fn result(self) -> Result<u16, u16> {
        if self.cf { Err(self.ax) } else { Ok(self.ax) }
    }
}

pub(super) struct T {
    pub(super) m: Machine,
}

pub(super) fn sample_drive(writable: bool) -> DriveC {
    let mut d = DriveC::new(writable);
    d.insert_file("README.TXT", b"0123456789".to_vec()).unwrap();
    d.insert_file("SUB\\INNER.DAT", b"inner".to_vec()).unwrap();
    d
}

impl T {
    pub(super) fn new(drive: DriveC) -> T {
        T::with_config(FirmwareConfig::default(), drive)
    }

    pub(super) fn with_config(config: FirmwareConfig, drive: DriveC) -> T {
        let fw = Firmware::new(config, drive, vec![]);
        let mut m = Machine::with_firmware(MachineConfig::default(), fw).unwrap();
        m.with_service_context(|fw, ctx| {
            let fw = fw.unwrap();
            ctx.cpu.set_sreg(SegReg::SS, STACK);
            ctx.cpu.set_reg16(Reg16::SP, 0x100);
            sda::install(ctx);
            sda::set_current_psp(ctx, PSP);
            sda::set_dta(ctx, DATA, DTA);
            init_psp_handles(fw, ctx, PSP, None);
        });
        T { m }
    }

    pub(super) fn fw(&mut self) -> &mut Firmware {
        self.m.firmware_mut().unwrap()
    }

    pub(super) fn drive(&mut self) -> &DriveC {
        self.fw().drive_c()
    }

    pub(super) fn put(&mut self, off: u16, bytes: &[u8]) {
        self.m
            .with_service_context(|_, ctx| ctx.write_bytes(DATA, off, bytes));
    }

    pub(super) fn put_asciz(&mut self, off: u16, s: &str) {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.put(off, &b);
    }

    pub(super) fn get(&mut self, off: u16, len: usize) -> Vec<u8> {
        self.m
            .with_service_context(|_, ctx| ctx.read_bytes(DATA, off, len))
    }

    pub(super) fn set_psp(&mut self, psp: u16) {
        self.m
            .with_service_context(|_, ctx| sda::set_current_psp(ctx, psp));
    }

    pub(super) fn call(&mut self, r: Regs) -> Out {
        self.m.with_service_context(|fw, ctx| {
            ctx.set_ax(r.ax);
            ctx.set_bx(r.bx);
            ctx.set_cx(r.cx);
            ctx.set_dx(r.dx);
            ctx.set_si(r.si);
            ctx.set_di(r.di);
            ctx.set_ds(DATA);
            ctx.set_es(DATA);
            // CF set before the call: success must clear it.
            ctx.wr16(STACK, 0x104, 0x0203);
            assert!(int21(fw.unwrap(), ctx), "AX={:04X} not handled", r.ax);
            Out {
                ax: ctx.ax(),
                bx: ctx.bx(),
                cx: ctx.cx(),
                dx: ctx.dx(),
                cf: ctx.rd16(STACK, 0x104) & 1 != 0,
            }
        })
    }

    pub(super) fn path_call(&mut self, ax: u16, cx: u16, path: &str) -> Result<u16, u16> {
        self.put_asciz(NAME, path);
        self.call(Regs {
            ax,
            cx,
            dx: NAME,
            ..Regs::default()
        })
        .result()
    }

    pub(super) fn open(&mut self, path: &str, mode: u8) -> Result<u16, u16> {
        self.path_call(0x3D00 | u16::from(mode), 0, path)
    }

    pub(super) fn create(&mut self, path: &str, attr: u16) -> Result<u16, u16> {
        self.path_call(0x3C00, attr, path)
    }

    pub(super) fn close(&mut self, h: u16) -> Result<u16, u16> {
        self.call(Regs {
            ax: 0x3E00,
            bx: h,
            ..Regs::default()
        })
        .result()
    }

    pub(super) fn write(&mut self, h: u16, bytes: &[u8]) -> Result<u16, u16> {
        self.put(BUF, bytes);
        self.call(Regs {
            ax: 0x4000,
            bx: h,
            cx: bytes.len() as u16,
            dx: BUF,
            ..Regs::default()
        })
        .result()
    }

    pub(super) fn read(&mut self, h: u16, n: u16) -> Result<Vec<u8>, u16> {
        let got = self
            .call(Regs {
                ax: 0x3F00,
                bx: h,
                cx: n,
                dx: BUF,
                ..Regs::default()
            })
            .result()?;
        Ok(self.get(BUF, usize::from(got)))
    }

    pub(super) fn seek(&mut self, h: u16, origin: u8, offset: i32) -> Result<u32, u16> {
        let o = self.call(Regs {
            ax: 0x4200 | u16::from(origin),
            bx: h,
            cx: (offset as u32 >> 16) as u16,
            dx: offset as u16,
            ..Regs::default()
        });
        o.result().map(|ax| (u32::from(o.dx) << 16) | u32::from(ax))
    }

    pub(super) fn ioctl(&mut self, al: u8, h: u16, dx: u16) -> Out {
        self.call(Regs {
            ax: 0x4400 | u16::from(al),
            bx: h,
            dx,
            ..Regs::default()
        })
    }

    /// Find first; on success the name found.
    pub(super) fn find_first(&mut self, spec: &str, attr: u16) -> Result<String, u16> {
        self.path_call(0x4E00, attr, spec)?;
        Ok(self.found_name())
    }

    pub(super) fn find_next(&mut self) -> Result<String, u16> {
        self.call(Regs {
            ax: 0x4F00,
            ..Regs::default()
        })
        .result()?;
        Ok(self.found_name())
    }

    pub(super) fn find_all(&mut self, spec: &str, attr: u16) -> Result<Vec<String>, u16> {
        let mut names = vec![self.find_first(spec, attr)?];
        loop {
            match self.find_next() {
                Ok(n) => names.push(n),
                Err(0x12) => return Ok(names),
                Err(e) => return Err(e),
            }
        }
    }

    pub(super) fn found_name(&mut self) -> String {
        let b = self.get(DTA + 0x1E, 13);
        let end = b.iter().position(|&c| c == 0).unwrap_or(13);
        String::from_utf8_lossy(&b[..end]).into_owned()
    }

    pub(super) fn jft(&mut self, psp: u16) -> Vec<u8> {
        self.m
            .with_service_context(|_, ctx| ctx.read_bytes(psp, 0x18, 20))
    }

    /// Puts key words in the BIOS keyboard buffer (BDA 40:1Eh-3Dh).
    pub(super) fn type_keys(&mut self, words: &[u16]) {
        self.m.with_service_context(|_, ctx| {
            ctx.wr16(0x40, 0x80, 0x1E);
            ctx.wr16(0x40, 0x82, 0x3E);
            let mut tail = ctx.rd16(0x40, 0x1C);
            if tail < 0x1E {
                tail = 0x1E;
                ctx.wr16(0x40, 0x1A, 0x1E);
            }
            for &w in words {
                ctx.wr16(0x40, tail, w);
                tail = if tail + 2 >= 0x3E { 0x1E } else { tail + 2 };
            }
            ctx.wr16(0x40, 0x1C, tail);
        });
    }

    pub(super) fn needs_input(&mut self, h: u16, n: u16) -> bool {
        self.m.with_service_context(|fw, ctx| {
            ctx.set_ax(0x3F00);
            ctx.set_bx(h);
            ctx.set_cx(n);
            read_needs_input(fw.unwrap(), ctx)
        })
    }
}

/// An ASCII key word (scan code 0 is fine for DOS's purposes).
pub(super) fn key(c: u8) -> u16 {
    u16::from(c)
}
