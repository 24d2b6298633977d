//! Programs: the program segment prefix, the environment block, the .COM and MZ .EXE
//! loader, EXEC (Int 21h AH=4Bh), termination (AH=00h/31h/4Ch, Int 20h/27h) and the root
//! process.
//!
//! Sources: RBIL INT 21/4B (parameter blocks, register contents at program start), table
//! #01378 (PSP layout), #01379 (environment block), #01594 (EXE header); the MS-DOS
//! Encyclopedia, article 4 (the loader and relocation); `../shared/reference/dos-memory.md`
//! sections 4.3 (the program path after the environment, read by seed Q74516) and 5.1.
//!
//! Loader rules kept from MS-DOS 5: a .COM program gets the largest free block, SP = FFFEh
//! (or the top of a smaller block) with a zero word pushed, so `RET` reaches `INT 20h` at
//! PSP:0000; an .EXE gets `e_maxalloc` paragraphs beyond its image if they are free, else
//! the largest block if that holds `e_minalloc`, and its relocations are applied; whether a
//! file is an .EXE is decided by the `MZ`/`ZM` signature, not the extension. Termination
//! restores Int 22h-24h from the PSP, frees the program's memory (all of it, unless it
//! stays resident), closes its files, and returns to the parent's `EXEC` on the parent's
//! stack (saved at PSP:2Eh on every Int 21h call).
//!
//! The root of the PSP tree is made by [`create_root_process`] (its own parent, as
//! COMMAND.COM makes itself). What runs in it, the shell that `EXEC`s each configured
//! program through Int 21h, is COMMAND.COM's role and lives above DOS, in
//! `firmware/shell.rs`; nothing here runs the scenario's programs or knows the VMM.

use super::super::stubs::DOS_CODE_SEG;
use super::super::{Ctx, Firmware, Termination};
use super::memory::set_name;
use super::sda;
use super::{DosCode, fail, files, ok};
use crate::cpu::{Reg16, SegReg};
use crate::observe::Observation;

/// DOS error codes used by the loader.
const FILE_NOT_FOUND: u16 = 0x02;
const NO_MEMORY: u16 = 0x08;
const BAD_ENVIRONMENT: u16 = 0x0A;
const BAD_FORMAT: u16 = 0x0B;
const BAD_FUNCTION: u16 = 0x01;

/// Owner of blocks while a program is being loaded (before its PSP exists).
const LOADING: u16 = 0xFFFF;
/// Paragraphs of the PSP.
const PSP_PARAS: u16 = 0x10;
/// The largest environment DOS accepts (32 KiB).
const MAX_ENV: usize = 0x8000;

// PSP offsets (RBIL #01378).
const PSP_TOP: u16 = 0x02;
const PSP_CPM_CALL: u16 = 0x05;
const PSP_INT22: u16 = 0x0A;
const PSP_INT23: u16 = 0x0E;
const PSP_INT24: u16 = 0x12;
pub(crate) const PSP_PARENT: u16 = 0x16;
pub(crate) const PSP_ENV: u16 = 0x2C;
pub(crate) const PSP_SAVED_SP: u16 = 0x2E;
const PSP_JFT_SIZE: u16 = 0x32;
const PSP_JFT_PTR: u16 = 0x34;
const PSP_PREV: u16 = 0x38;
const PSP_VERSION: u16 = 0x40;
const PSP_DISPATCH: u16 = 0x50;
const PSP_FCB1: u16 = 0x5C;
const PSP_FCB2: u16 = 0x6C;
const PSP_TAIL: u16 = 0x80;

/// The .EXE header fields the loader uses (RBIL #01594).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExeHeader {
    pub last_page_bytes: u16,
    pub pages: u16,
    pub relocations: u16,
    pub header_paras: u16,
    pub min_alloc: u16,
    pub max_alloc: u16,
    pub ss: u16,
    pub sp: u16,
    pub ip: u16,
    pub cs: u16,
    pub reloc_offset: u16,
}

impl ExeHeader {
    /// Parses and checks an MZ header: `None` if `file` is not an .EXE (no signature),
    /// `Some(Err(0Bh))` if it is one with a header that does not fit the file.
    pub fn parse(file: &[u8]) -> Option<Result<ExeHeader, u16>> {
        if file.len() < 2 || !(file[..2] == *b"MZ" || file[..2] == *b"ZM") {
            return None;
        }
        let w = |i: usize| -> Option<u16> {
            Some(u16::from_le_bytes([*file.get(i)?, *file.get(i + 1)?]))
        };
        let parse = || -> Option<ExeHeader> {
            Some(ExeHeader {
                last_page_bytes: w(2)?,
                pages: w(4)?,
                relocations: w(6)?,
                header_paras: w(8)?,
                min_alloc: w(10)?,
                max_alloc: w(12)?,
                ss: w(14)?,
                sp: w(16)?,
                ip: w(20)?,
                cs: w(22)?,
                reloc_offset: w(24)?,
            })
        };
        let Some(h) = parse() else {
            return Some(Err(BAD_FORMAT));
        };
        let header_bytes = usize::from(h.header_paras) * 16;
        let reloc_end = usize::from(h.reloc_offset) + usize::from(h.relocations) * 4;
        if h.pages == 0 || header_bytes < 0x1C || header_bytes > file.len() {
            return Some(Err(BAD_FORMAT));
        }
        if h.relocations > 0 && reloc_end > file.len() {
            return Some(Err(BAD_FORMAT));
        }
        if h.image_size() > 0xFFFF0 {
            return Some(Err(BAD_FORMAT));
        }
        Some(Ok(h))
    }

    /// Bytes of the load module according to the header (the file may be shorter: DOS
    /// then loads what there is).
    pub fn image_size(&self) -> usize {
        let total = usize::from(self.pages) * 512;
        let total = if self.last_page_bytes != 0 {
            total - 512 + usize::from(self.last_page_bytes & 0x1FF)
        } else {
            total
        };
        total.saturating_sub(usize::from(self.header_paras) * 16)
    }
}

/// What EXEC found on drive C:.
struct ProgramFile {
    /// Fully qualified DOS path (`C:\NAME.EXT`), stored after the environment.
    path: String,
    bytes: Vec<u8>,
}

/// Reads the program named by the ASCIZ string at `seg:off`.
fn find_program(fw: &Firmware, ctx: &Ctx, seg: u16, off: u16) -> Result<ProgramFile, u16> {
    let name = ctx.read_asciz(seg, off, 128);
    let key = fw.dos.resolve_path(&name)?;
    let bytes = fw.dos.drive.file(&key).ok_or(FILE_NOT_FOUND)?.to_vec();
    Ok(ProgramFile {
        path: format!("C:\\{key}"),
        bytes,
    })
}

/// The strings of the environment at `seg` up to and including the NUL that ends them
/// (the second NUL of the double NUL; an empty environment is a single NUL).
fn environment_strings(ctx: &Ctx, seg: u16) -> Result<Vec<u8>, u16> {
    let mut out = Vec::new();
    for off in 0..MAX_ENV as u16 {
        let b = ctx.rd8(seg, off);
        out.push(b);
        if b == 0 && (off == 0 || out[usize::from(off) - 1] == 0) {
            return Ok(out);
        }
    }
    Err(BAD_ENVIRONMENT)
}

/// Builds an environment block: the strings, a word count of 1 and the program's path
/// (RBIL #01379).
fn environment_block(strings: &[u8], path: &str) -> Vec<u8> {
    let mut env = strings.to_vec();
    env.extend_from_slice(&1u16.to_le_bytes());
    env.extend_from_slice(path.as_bytes());
    env.push(0);
    env
}

/// Copies `bytes` into a new arena block owned by `owner`; returns its segment.
fn alloc_copy(fw: &Firmware, ctx: &mut Ctx, bytes: &[u8], owner: u16) -> Result<u16, u16> {
    let paras = u16::try_from(bytes.len().div_ceil(16)).map_err(|_| NO_MEMORY)?;
    let seg = fw
        .dos
        .arena
        .alloc(ctx, paras.max(1), owner)
        .map_err(|(e, _)| e)?;
    ctx.write_bytes(seg, 0, bytes);
    Ok(seg)
}

/// Writes a fresh PSP at `psp` (RBIL #01378).
#[allow(clippy::too_many_arguments)]
fn build_psp(
    fw: &mut Firmware,
    ctx: &mut Ctx,
    psp: u16,
    top: u16,
    parent: u16,
    env: u16,
    tail: &[u8],
    fcbs: [[u8; 16]; 2],
) {
    for off in 0..0x100u16 {
        ctx.wr8(psp, off, 0);
    }
    ctx.write_bytes(psp, 0, &[0xCD, 0x20]);
    ctx.wr16(psp, PSP_TOP, top);
    // CALL FAR F01D:FEF0 = 1000C0h: with A20 off this wraps to the CP/M entry at 000C0h
    // (dos-memory.md section 1.8); the offset doubles as "bytes available" (FEF0h).
    ctx.write_bytes(psp, PSP_CPM_CALL, &[0x9A, 0xF0, 0xFE, 0x1D, 0xF0]);
    for (off, v) in [(PSP_INT22, 0x22u8), (PSP_INT23, 0x23), (PSP_INT24, 0x24)] {
        let (s, o) = ctx.vector(v);
        ctx.wr16(psp, off, o);
        ctx.wr16(psp, off + 2, s);
    }
    ctx.wr16(psp, PSP_PARENT, parent);
    ctx.wr16(psp, PSP_ENV, env);
    ctx.wr16(psp, PSP_JFT_SIZE, 20);
    ctx.wr16(psp, PSP_JFT_PTR, 0x18);
    ctx.wr16(psp, PSP_JFT_PTR + 2, psp);
    ctx.wr32(psp, PSP_PREV, 0xFFFF_FFFF);
    ctx.wr16(psp, PSP_VERSION, 0x0005);
    ctx.write_bytes(psp, PSP_DISPATCH, &[0xCD, 0x21, 0xCB]);
    ctx.write_bytes(psp, PSP_FCB1, &fcbs[0]);
    ctx.write_bytes(psp, PSP_FCB2, &fcbs[1]);
    let n = tail.len().min(126);
    ctx.wr8(psp, PSP_TAIL, n as u8);
    ctx.write_bytes(psp, PSP_TAIL + 1, &tail[..n]);
    ctx.wr8(psp, PSP_TAIL + 1 + n as u16, 0x0D);
    let inherit = (parent != psp).then_some(parent);
    files::init_psp_handles(fw, ctx, psp, inherit);
}

/// An unused FCB: drive 0 and a blank name.
fn blank_fcb() -> [u8; 16] {
    let mut f = [0u8; 16];
    f[1..12].fill(b' ');
    f
}

/// The 8-byte MCB name of a program path: its base name without extension.
fn mcb_name(path: &str) -> Vec<u8> {
    let base = path.rsplit('\\').next().unwrap_or(path);
    base.split('.')
        .next()
        .unwrap_or(base)
        .bytes()
        .take(8)
        .collect()
}

/// Where a loaded program starts.
struct Entry {
    psp: u16,
    cs: u16,
    ip: u16,
    ss: u16,
    sp: u16,
}

/// Loads `prog` as a new process (child of the current PSP) with environment `env_src`
/// (0 = a copy of the parent's) and the given command tail and FCBs.
fn load_process(
    fw: &mut Firmware,
    ctx: &mut Ctx,
    prog: &ProgramFile,
    env_src: u16,
    tail: &[u8],
    fcbs: [[u8; 16]; 2],
) -> Result<Entry, u16> {
    let parent = sda::current_psp(ctx);
    let env_src = if env_src == 0 {
        ctx.rd16(parent, PSP_ENV)
    } else {
        env_src
    };
    let strings = if env_src == 0 {
        vec![0]
    } else {
        environment_strings(ctx, env_src)?
    };
    let env_bytes = environment_block(&strings, &prog.path);
    let exe = match ExeHeader::parse(&prog.bytes) {
        None => None,
        Some(Ok(h)) => Some(h),
        Some(Err(e)) => return Err(e),
    };
    // The environment first (owned by the PSP once it exists), then the program block.
    let env = alloc_copy(fw, ctx, &env_bytes, LOADING)?;
    let arena = fw.dos.arena;
    let largest = arena.largest_free(ctx)?;
    let result = (|| -> Result<Entry, u16> {
        match exe {
            None => {
                let need = u16::try_from((prog.bytes.len() + 0x100 + 2).div_ceil(16))
                    .map_err(|_| NO_MEMORY)?;
                if prog.bytes.len() > 0xFF00 - 2 || largest < need.max(PSP_PARAS) {
                    return Err(NO_MEMORY);
                }
                let psp = arena.alloc(ctx, largest, LOADING).map_err(|(e, _)| e)?;
                ctx.write_bytes(psp, 0x100, &prog.bytes);
                let block_bytes = u32::from(largest) * 16;
                let sp = if block_bytes >= 0x1_0000 {
                    0xFFFE
                } else {
                    (block_bytes - 2) as u16 & !1
                };
                ctx.wr16(psp, sp, 0);
                Ok(Entry {
                    psp,
                    cs: psp,
                    ip: 0x100,
                    ss: psp,
                    sp,
                })
            }
            Some(h) => {
                let start_in_file = usize::from(h.header_paras) * 16;
                let image_end = (start_in_file + h.image_size()).min(prog.bytes.len());
                let image = &prog.bytes[start_in_file.min(image_end)..image_end];
                let image_paras = u16::try_from(image.len().div_ceil(16)).map_err(|_| NO_MEMORY)?;
                let need = u32::from(PSP_PARAS) + u32::from(image_paras) + u32::from(h.min_alloc);
                let want = u32::from(PSP_PARAS) + u32::from(image_paras) + u32::from(h.max_alloc);
                if u32::from(largest) < need {
                    return Err(NO_MEMORY);
                }
                let size = want.min(u32::from(largest)) as u16;
                let psp = arena.alloc(ctx, size, LOADING).map_err(|(e, _)| e)?;
                let start = psp + PSP_PARAS;
                ctx.write_bytes(start, 0, image);
                relocate(ctx, &prog.bytes, &h, start, start);
                Ok(Entry {
                    psp,
                    cs: start.wrapping_add(h.cs),
                    ip: h.ip,
                    ss: start.wrapping_add(h.ss),
                    sp: h.sp,
                })
            }
        }
    })();
    let entry = match result {
        Ok(e) => e,
        Err(e) => {
            let _ = arena.free(ctx, env);
            return Err(e);
        }
    };
    // Owners and names.
    for block in [env, entry.psp] {
        let mcb = block - 1;
        ctx.wr16(mcb, 1, entry.psp);
    }
    set_name(ctx, entry.psp, &mcb_name(&prog.path));
    let size = arena.size_of(ctx, entry.psp).unwrap_or(0);
    let top = entry.psp.wrapping_add(size);
    build_psp(fw, ctx, entry.psp, top, parent, env, tail, fcbs);
    Ok(entry)
}

/// Applies the .EXE relocation table: each entry's word gets `factor` added.
pub(crate) fn relocate(ctx: &mut Ctx, file: &[u8], h: &ExeHeader, load_seg: u16, factor: u16) {
    for i in 0..usize::from(h.relocations) {
        let at = usize::from(h.reloc_offset) + i * 4;
        let (Some(o), Some(s)) = (file.get(at..at + 2), file.get(at + 2..at + 4)) else {
            break;
        };
        let off = u16::from_le_bytes([o[0], o[1]]);
        let seg = u16::from_le_bytes([s[0], s[1]]);
        let target = load_seg.wrapping_add(seg);
        let v = ctx.rd16(target, off);
        ctx.wr16(target, off, v.wrapping_add(factor));
    }
}

/// Int 21h AH=4Bh.
pub(crate) fn exec(fw: &mut Firmware, ctx: &mut Ctx) -> DosCode {
    let mode = ctx.al();
    if !matches!(mode, 0x00 | 0x01 | 0x03) {
        fail(ctx, BAD_FUNCTION);
        return DosCode::Done;
    }
    let prog = match find_program(fw, ctx, ctx.ds(), ctx.dx()) {
        Ok(p) => p,
        Err(e) => {
            fail(ctx, e);
            return DosCode::Done;
        }
    };
    let (es, bx) = (ctx.es(), ctx.bx());
    if mode == 0x03 {
        return overlay(ctx, &prog, es, bx);
    }
    let env_src = ctx.rd16(es, bx);
    let tail_ptr = (ctx.rd16(es, bx + 4), ctx.rd16(es, bx + 2));
    let tail_len = usize::from(ctx.rd8(tail_ptr.0, tail_ptr.1)).min(126);
    let tail = ctx.read_bytes(tail_ptr.0, tail_ptr.1.wrapping_add(1), tail_len);
    let mut fcbs = [blank_fcb(), blank_fcb()];
    for (k, at) in [6u16, 10].into_iter().enumerate() {
        let (o, s) = (ctx.rd16(es, bx + at), ctx.rd16(es, bx + at + 2));
        if (s, o) != (0, 0) && (s, o) != (0xFFFF, 0xFFFF) {
            let b = ctx.read_bytes(s, o, 16);
            fcbs[k].copy_from_slice(&b);
        }
    }
    let entry = match load_process(fw, ctx, &prog, env_src, &tail, fcbs) {
        Ok(e) => e,
        Err(e) => {
            fail(ctx, e);
            return DosCode::Done;
        }
    };
    // The terminate address is the caller's return address (the INT 21h frame).
    let (ret_cs, ret_ip) = ctx.interrupted_at();
    ctx.set_vector(0x22, ret_cs, ret_ip);
    ctx.wr16(entry.psp, PSP_INT22, ret_ip);
    ctx.wr16(entry.psp, PSP_INT22 + 2, ret_cs);
    ok(ctx);
    sda::set_current_psp(ctx, entry.psp);
    fw.observe(
        ctx,
        Observation::ProgramStart {
            psp: entry.psp,
            path: prog.path.clone(),
        },
    );
    sda::set_dta(ctx, entry.psp, 0x80);
    if mode == 0x01 {
        // Load but do not run: the caller gets SS:SP (with the initial AX on the stack, as
        // DOS pushes it) and CS:IP in the parameter block.
        let sp = entry.sp.wrapping_sub(2);
        ctx.wr16(entry.ss, sp, 0);
        ctx.wr16(es, bx + 0x0E, sp);
        ctx.wr16(es, bx + 0x10, entry.ss);
        ctx.wr16(es, bx + 0x12, entry.ip);
        ctx.wr16(es, bx + 0x14, entry.cs);
        return DosCode::Done;
    }
    start(ctx, &entry);
    DosCode::Switched
}

/// Int 21h AX=4B03h: load an overlay at the segment and with the relocation factor in
/// the parameter block; no PSP.
fn overlay(ctx: &mut Ctx, prog: &ProgramFile, es: u16, bx: u16) -> DosCode {
    let load_seg = ctx.rd16(es, bx);
    let factor = ctx.rd16(es, bx + 2);
    match ExeHeader::parse(&prog.bytes) {
        None => ctx.write_bytes(load_seg, 0, &prog.bytes),
        Some(Ok(h)) => {
            let start = usize::from(h.header_paras) * 16;
            let end = (start + h.image_size()).min(prog.bytes.len());
            ctx.write_bytes(load_seg, 0, &prog.bytes[start.min(end)..end]);
            relocate(ctx, &prog.bytes, &h, load_seg, factor);
        }
        Some(Err(e)) => {
            fail(ctx, e);
            return DosCode::Done;
        }
    }
    ok(ctx);
    DosCode::Done
}

/// Registers at program start (RBIL INT 21/4B: AX = FCB drive validity, DS = ES = PSP).
fn start(ctx: &mut Ctx, e: &Entry) {
    ctx.set_ax(0);
    ctx.set_bx(0);
    ctx.set_cx(0x00FF);
    ctx.set_dx(e.psp);
    ctx.set_si(e.ip);
    ctx.set_di(e.sp);
    ctx.cpu.set_reg16(Reg16::BP, 0x091C);
    ctx.set_ds(e.psp);
    ctx.set_es(e.psp);
    ctx.cpu.set_sreg(SegReg::SS, e.ss);
    ctx.cpu.set_reg16(Reg16::SP, e.sp);
    ctx.jump(e.cs, e.ip);
    // A program starts with interrupts enabled (the parent's IRET would restore them).
    let f = ctx.cpu.flags();
    ctx.cpu.set_flags(f | 0x200);
}

/// How a process ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// AH=4Ch/00h, Int 20h: code in AL.
    Exit(u8),
    /// Ctrl-C or divide overflow (AH=4Dh reports type 1).
    Abort,
    /// AH=31h/Int 27h: keep `paras` paragraphs of the PSP block.
    Resident { code: u8, paras: u16 },
}

/// Ends the current process and returns to its parent's `EXEC` (see the module docs).
pub(crate) fn terminate(fw: &mut Firmware, ctx: &mut Ctx, how: Ending) -> DosCode {
    let psp = sda::current_psp(ctx);
    let parent = ctx.rd16(psp, PSP_PARENT);
    if parent == psp || parent == 0 {
        // The root process has nowhere to return to (DOS would hang); stay put.
        ok(ctx);
        return DosCode::Done;
    }
    let (code, kind) = match how {
        Ending::Exit(c) => (c, 0),
        Ending::Abort => (0, 1),
        Ending::Resident { code, .. } => (code, 3),
    };
    let arena = fw.dos.arena;
    if let Ending::Resident { paras, .. } = how {
        // The PSP block shrinks to what the program keeps (at least the PSP itself); its
        // other blocks (environment included) stay allocated, as on DOS.
        let _ = arena.resize(ctx, psp, paras.max(6));
    } else {
        files::close_all(fw, ctx, psp);
        arena.free_owned_by(ctx, psp);
    }
    let term = (ctx.rd16(psp, PSP_INT22 + 2), ctx.rd16(psp, PSP_INT22));
    for (off, v) in [(PSP_INT22, 0x22u8), (PSP_INT23, 0x23), (PSP_INT24, 0x24)] {
        let o = ctx.rd16(psp, off);
        let s = ctx.rd16(psp, off + 2);
        ctx.set_vector(v, s, o);
    }
    sda::set_return_code(ctx, Termination { code, kind });
    if let Ending::Resident { paras, .. } = how {
        fw.observe(
            ctx,
            Observation::TsrInstalled {
                psp,
                paragraphs: paras.max(6),
            },
        );
    }
    fw.observe(ctx, Observation::ProgramExit { psp, code, kind });
    sda::set_current_psp(ctx, parent);
    sda::set_dta(ctx, parent, 0x80);
    // Back on the parent's stack, inside its EXEC call: the INT 21h frame returns to the
    // terminate address with CF clear.
    let sp = ctx.rd16(parent, PSP_SAVED_SP);
    let ss = ctx.rd16(parent, PSP_SAVED_SP + 2);
    ctx.cpu.set_sreg(SegReg::SS, ss);
    ctx.cpu.set_reg16(Reg16::SP, sp);
    ctx.wr16(ss, sp, term.1);
    ctx.wr16(ss, sp.wrapping_add(2), term.0);
    ok(ctx);
    ctx.set_ds(parent);
    ctx.set_es(parent);
    ctx.jump(DOS_CODE_SEG, fw.dos.stubs.int21_iret);
    DosCode::Switched
}

/// Creates a root process, as COMMAND.COM is at boot: a block of `paras` paragraphs named
/// `name` whose PSP is its own parent, with an environment block of `strings` (up to and
/// including their double NUL) and the program path `path` (RBIL #01379). It becomes the
/// current process, with its DTA at PSP:0080h. Returns its PSP, or `None` (nothing
/// changed) when the block does not fit.
pub(crate) fn create_root_process(
    fw: &mut Firmware,
    ctx: &mut Ctx,
    paras: u16,
    name: &[u8],
    strings: &[u8],
    path: &str,
) -> Option<u16> {
    let arena = fw.dos.arena;
    let env = environment_block(strings, path);
    let Ok(psp) = arena.alloc(ctx, paras, LOADING) else {
        return None;
    };
    let env_seg = alloc_copy(fw, ctx, &env, psp).unwrap_or(0);
    ctx.wr16(psp - 1, 1, psp);
    set_name(ctx, psp, name);
    sda::set_current_psp(ctx, psp);
    build_psp(
        fw,
        ctx,
        psp,
        psp + paras,
        psp,
        env_seg,
        b"",
        [blank_fcb(), blank_fcb()],
    );
    sda::set_dta(ctx, psp, 0x80);
    Some(psp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exe(pages: u16, last: u16, header_paras: u16, relocs: u16, len: usize) -> Vec<u8> {
        let mut f = vec![0u8; len];
        f[0..2].copy_from_slice(b"MZ");
        f[2..4].copy_from_slice(&last.to_le_bytes());
        f[4..6].copy_from_slice(&pages.to_le_bytes());
        f[6..8].copy_from_slice(&relocs.to_le_bytes());
        f[8..10].copy_from_slice(&header_paras.to_le_bytes());
        f[24..26].copy_from_slice(&0x1Cu16.to_le_bytes());
        f
    }

    #[test]
    fn image_size_follows_the_page_count_and_last_page_bytes() {
        // 3 pages with 100 bytes in the last: 2 * 512 + 100 = 1124 bytes, minus a 32-byte
        // header = 1092 (MS-DOS Encyclopedia, the EXE header).
        let h = ExeHeader::parse(&exe(3, 100, 2, 0, 1124)).unwrap().unwrap();
        assert_eq!(h.image_size(), 1092);
        // last_page_bytes = 0 means the last page is full.
        let h = ExeHeader::parse(&exe(2, 0, 2, 0, 1024)).unwrap().unwrap();
        assert_eq!(h.image_size(), 1024 - 32);
    }

    #[test]
    fn corrupt_headers_are_format_errors_and_com_files_are_not_exes() {
        assert_eq!(ExeHeader::parse(b"\xB4\x4C\xCD\x21"), None);
        assert_eq!(ExeHeader::parse(b"MZ"), Some(Err(BAD_FORMAT)));
        // Header larger than the file.
        assert_eq!(
            ExeHeader::parse(&exe(1, 0, 100, 0, 64)),
            Some(Err(BAD_FORMAT))
        );
        // Zero pages.
        assert_eq!(
            ExeHeader::parse(&exe(0, 0, 2, 0, 64)),
            Some(Err(BAD_FORMAT))
        );
        // Relocation table past the end of the file.
        assert_eq!(
            ExeHeader::parse(&exe(1, 64, 2, 50, 64)),
            Some(Err(BAD_FORMAT))
        );
    }

    #[test]
    fn environment_block_has_count_and_path_after_the_double_nul() {
        let env = environment_block(b"A=1\0B=2\0\0", "C:\\X.COM");
        assert_eq!(&env, b"A=1\0B=2\0\0\x01\x00C:\\X.COM\0");
        // Q74516's walk: scan to the double NUL, skip it and the count word.
        let dn = env.windows(2).position(|w| w == [0, 0]).unwrap();
        assert_eq!(&env[dn + 4..dn + 12], b"C:\\X.COM");
    }

    #[test]
    fn mcb_names_are_base_names_without_extension() {
        assert_eq!(mcb_name("C:\\SUB\\XMSSHARE.COM"), b"XMSSHARE");
        assert_eq!(mcb_name("C:\\LONGNAMEX.EXE"), b"LONGNAME");
    }
}
