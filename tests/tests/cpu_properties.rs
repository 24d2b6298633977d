//! Property tests of the CPU on random code.
//!
//! - No byte stream, from any register state, makes the interpreter panic on any model
//!   (guest exceptions, halts and shutdowns are all fine). The test profile keeps overflow
//!   checks on, so an unintended arithmetic overflow in the emulator fails here too.
//! - The decoded-block cache never changes behaviour: the same random program run with the
//!   cache on and off leaves identical registers, flags and memory, tick for tick.
//!
//! The cases come from a fixed seed so that CI is repeatable; set `PROPTEST_RNG_SEED` to
//! explore other streams (a failure prints the minimal case to turn into a unit test).

use proptest::prelude::*;
use vexed_emu::bare::BareSystem;
use vexed_emu::cpu::{Model, Reg32, SegReg};

/// The seed used unless `PROPTEST_RNG_SEED` says otherwise.
const SEED: u64 = 0x7E5E_D0C5;

fn config(cases: u32) -> ProptestConfig {
    vexed_tests::proptest_config(cases, SEED)
}

/// RAM of the test systems; addresses above it are an open bus.
const RAM: u32 = 0x1_0000;

/// A random machine state and code.
#[derive(Debug, Clone)]
struct Case {
    model: Model,
    code: Vec<u8>,
    /// Code placement: CS and IP with CS*16+IP inside RAM.
    cs: u16,
    ip: u16,
    regs: [u32; 8],
    segs: [u16; 4],
    flags: u32,
    /// Random bytes written at physical 0 (the real-mode interrupt table) and elsewhere.
    ivt: Vec<u8>,
    data: Vec<u8>,
    data_at: u16,
    ticks: u64,
}

fn model() -> impl Strategy<Value = Model> {
    prop_oneof![Just(Model::I8086), Just(Model::I80286), Just(Model::I80386)]
}

fn case(model: impl Strategy<Value = Model>) -> impl Strategy<Value = Case> {
    (
        model,
        prop::collection::vec(any::<u8>(), 1..48),
        0u16..0x0F00,
        any::<u16>(),
        prop::array::uniform8(any::<u32>()),
        prop::array::uniform4(0u16..0x1000),
        any::<u32>(),
        prop::collection::vec(any::<u8>(), 0..64),
        (
            prop::collection::vec(any::<u8>(), 0..64),
            any::<u16>(),
            1u64..96,
        ),
    )
        .prop_map(
            |(model, code, cs, ip, regs, segs, flags, ivt, (data, data_at, ticks))| {
                // Keep the code inside RAM: CS*16 + IP + len < RAM.
                let room = RAM - (u32::from(cs) << 4) - 64;
                let ip = (u32::from(ip) % room.min(0x1_0000)) as u16;
                Case {
                    model,
                    code,
                    cs,
                    ip,
                    regs,
                    segs,
                    flags,
                    ivt,
                    data,
                    data_at,
                    ticks,
                }
            },
        )
}

/// A system set up as `c` describes.
fn build(c: &Case) -> BareSystem {
    let mut sys = match BareSystem::new(c.model, RAM) {
        Ok(s) => s,
        Err(e) => panic!("64 KiB of RAM is a valid size: {e}"),
    };
    sys.bus.mem.write_bytes(0, &c.ivt);
    sys.bus.mem.write_bytes(u32::from(c.data_at), &c.data);
    sys.load_code(c.cs, c.ip, &c.code);
    let names = Reg32::ALL;
    for (r, &v) in names.iter().zip(&c.regs) {
        // The 8086 and 80286 have no upper halves a program could set.
        let v = if c.model == Model::I80386 {
            v
        } else {
            v & 0xFFFF
        };
        sys.cpu.set_reg32(*r, v);
    }
    for (s, &v) in [SegReg::DS, SegReg::ES, SegReg::SS, SegReg::FS]
        .iter()
        .zip(&c.segs)
    {
        sys.cpu.set_sreg(*s, v);
    }
    sys.cpu.set_flags(c.flags);
    sys
}

/// Runs `sys` for the case's ticks in slices of random-ish sizes (so block boundaries and
/// run boundaries fall in different places) and returns the ticks used.
fn run(sys: &mut BareSystem, ticks: u64) -> u64 {
    let mut used = 0;
    let mut slice = 1;
    while used < ticks {
        let r = sys.run(slice.min(ticks - used));
        used += r.ticks;
        if r.ticks == 0 {
            break; // halted or shut down
        }
        slice = slice % 7 + 2;
    }
    used
}

proptest! {
    #![proptest_config(config(100_000))]

    /// At least 100,000 random programs on every model: no panic.
    #[test]
    fn random_code_never_panics_8086(c in case(Just(Model::I8086))) {
        let mut sys = build(&c);
        run(&mut sys, c.ticks);
    }

    #[test]
    fn random_code_never_panics_80286(c in case(Just(Model::I80286))) {
        let mut sys = build(&c);
        run(&mut sys, c.ticks);
    }

    #[test]
    fn random_code_never_panics_80386(c in case(Just(Model::I80386))) {
        let mut sys = build(&c);
        run(&mut sys, c.ticks);
    }
}

proptest! {
    #![proptest_config(config(50_000))]

    /// The block cache is invisible: same state with it on and off after every slice.
    #[test]
    fn block_cache_never_changes_behaviour(c in case(model())) {
        let mut fast = build(&c);
        let mut slow = build(&c);
        slow.cpu.set_block_cache(false);
        agree_in_slices(&mut fast, &mut slow, c.ticks, |_, slice| slice % 5 + 1)?;
    }
}

/// Runs both systems for `ticks` in the same slices (the first of 1 tick, each next from
/// `next(round, slice)`) and fails unless their run results, CPU state and memory agree
/// after every slice.
fn agree_in_slices(
    fast: &mut BareSystem,
    slow: &mut BareSystem,
    ticks: u64,
    next: impl Fn(u64, u64) -> u64,
) -> Result<(), TestCaseError> {
    let (mut used, mut slice, mut round) = (0, 1, 0);
    while used < ticks {
        let n = slice.min(ticks - used);
        let a = fast.run(n);
        let b = slow.run(n);
        prop_assert_eq!(a, b, "run results differ after {} ticks", used);
        prop_assert_eq!(
            state(fast),
            state(slow),
            "CPU state differs after {} ticks",
            used + a.ticks
        );
        prop_assert!(
            fast.bus.mem == slow.bus.mem,
            "memory differs after {} ticks",
            used + a.ticks
        );
        used += a.ticks;
        if a.ticks == 0 {
            break;
        }
        round += 1;
        slice = next(round, slice);
    }
    Ok(())
}

/// The CPU's machine state (what a snapshot holds), for comparison.
fn state(sys: &BareSystem) -> serde_json::Value {
    match serde_json::to_value(&sys.cpu) {
        Ok(v) => v,
        Err(e) => panic!("CPU state serializes: {e}"),
    }
}

/// One random instruction of the kinds hot loops are made of (the forms the translator
/// runs natively and some it hands to the interpreter), in 16-bit code: the opcode, a
/// ModR/M byte and its displacement, and the immediate. `o32` adds the operand-size prefix
/// (80386 only).
fn loop_instruction() -> impl Strategy<Value = Vec<u8>> {
    (
        0usize..24,
        any::<u8>(),
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        any::<bool>(),
    )
        .prop_map(|(kind, modrm, disp, imm, o32)| {
            let alu = modrm & 0x38;
            let (opcode, ext, imm_len): (&[u8], Option<u8>, usize) = match kind {
                // ALU r/m,r and r,r/m: the operation from the ModR/M's reg bits, the width
                // from its low bit.
                0..=3 => (&[0x00], None, 0),
                4 | 5 => (&[0x02], None, 0),
                6 => (&[0x80], None, 1),
                7 => (&[0x81], None, 2),
                8 => (&[0x83], None, 1),
                9 => (&[0x88 | (modrm & 1)], None, 0),
                10 => (&[0x8A | (modrm & 1)], None, 0),
                11 => (&[0xC7], Some(0), 2),
                12 => (&[0xFE | (modrm & 1)], Some(modrm >> 3 & 1), 0), // INC/DEC r/m
                13 => (&[0x40 | (modrm & 15)], None, 0),                // INC/DEC reg
                14 => (&[0xF6 | (modrm & 1)], Some(2 + (modrm >> 3 & 1)), 0), // NOT/NEG
                15 => (&[0x84 | (modrm & 1)], None, 0),
                16 => (&[0xD0 | (modrm & 1)], Some(4 + (modrm >> 3 & 1)), 0), // SHL/SHR by 1
                17 => (&[0xC0 | (modrm & 1)], Some(4 + (modrm >> 3 & 1)), 1), // by imm8
                18 => (&[0x8D], None, 0),                                     // LEA
                19 => (&[0xF8 | (modrm & 1)], None, 0),                       // CLC/STC
                20 => (&[0xA0 | (modrm & 3)], None, 0), // MOV acc <-> [disp16]
                21 => (&[0x3C | (modrm & 1)], None, 1), // CMP acc,imm
                22 => (&[0xF5], None, 0),               // CMC
                _ => (&[0x90], None, 0),
            };
            let mut b = Vec::new();
            if o32 {
                b.push(0x66);
            }
            let mut op = opcode[0];
            if kind <= 5 {
                op |= alu | (modrm & 1);
            }
            b.push(op);
            let wide = op & 1 == 1;
            let has_modrm = !matches!(kind, 13 | 19 | 20 | 21 | 22 | 23);
            if has_modrm {
                let mut m = modrm;
                if let Some(e) = ext {
                    m = (m & 0xC7) | e << 3;
                }
                if kind == 18 && m >> 6 == 3 {
                    m &= 0x3F; // LEA needs a memory operand
                }
                b.push(m);
                let disp_len = match (m >> 6, m & 7) {
                    (0, 6) | (2, _) => 2,
                    (1, _) => 1,
                    _ => 0,
                };
                b.extend_from_slice(&disp[..disp_len]);
            }
            if kind == 20 {
                b.extend_from_slice(&disp[..2]);
            }
            let imm_len = match (imm_len, kind) {
                (2, _) | (1, 21) if wide => {
                    if o32 {
                        4
                    } else {
                        2
                    }
                }
                (2, _) => 1,
                (n, _) => n,
            };
            b.extend_from_slice(&imm[..imm_len.min(4)]);
            b
        })
}

/// A random loop: up to 12 instructions, then `LOOP` (or `DEC CX; JNZ`) back to the first.
fn loop_case() -> impl Strategy<Value = (Case, Vec<u8>)> {
    (
        case(model()),
        prop::collection::vec(loop_instruction(), 1..12),
        any::<bool>(),
        200u64..3000,
    )
        .prop_map(|(mut c, body, dec_jnz, ticks)| {
            let mut code: Vec<u8> = body
                .into_iter()
                .filter(|i| c.model == Model::I80386 || i.first() != Some(&0x66))
                .flatten()
                .collect();
            code.truncate(110);
            if dec_jnz {
                code.push(0x49); // DEC CX
                let back = -(code.len() as i32 + 2);
                code.extend_from_slice(&[0x75, back as u8]);
            } else {
                let back = -(code.len() as i32 + 2);
                code.extend_from_slice(&[0xE2, back as u8]);
            }
            code.push(0xF4);
            c.ticks = ticks;
            (c, code)
        })
}

proptest! {
    #![proptest_config(config(3_000))]

    /// Translation to host code is invisible: random loops of the instructions hot code is
    /// made of (memory operands anywhere, writes into the loop's own code included) leave
    /// the same registers, flags and memory with translation on and off, after every slice
    /// (slices of 1-13 ticks and of hundreds, so passes end anywhere).
    #[test]
    fn translation_never_changes_behaviour((c, code) in loop_case()) {
        let c = Case { code, ..c };
        let mut fast = build(&c);
        let mut slow = build(&c);
        slow.cpu.set_jit(false);
        agree_in_slices(&mut fast, &mut slow, c.ticks, |round, slice| {
            if round.is_multiple_of(4) { 301 } else { slice % 13 + 1 }
        })?;
    }
}
