//! `vexed diff` on planted divergences: a changed guest instruction, a changed keystroke
//! time, an extra IRQ, and a changed XMS error code (a build of the XMS driver that answers
//! differently, planted with `Firmware::plant_xms_error`). Each must be named at its exact
//! tick and instruction, with the state differences that follow from the specifications
//! (x86 CMP flags, the BIOS data area's keyboard buffer, XMS 3.0 error codes).

use vexed_emu::machine::{Input, Machine};
use vexed_emu::observe::Observation;
use vexed_replay::diff::{self, DiffReport, Side};
use vexed_replay::scenario::Scenario;
use vexed_replay::session::{self, RecordOptions};
use vexed_replay::source::Scripted;
use vexed_replay::statediff;
use vexed_tests::{release_hma_says_90h, scenario};
use vexed_trace::{GuestFile, Header, Record, TraceReader};

fn header(s: &Scenario, text: &str) -> Header {
    session::header(s, text, &RecordOptions::default()).expect("header")
}

fn record(h: &Header, inputs: Vec<(u64, Input)>) -> Vec<u8> {
    session::record_scripted(h, inputs, &RecordOptions::default()).expect("record")
}

fn diff(a: &[u8], b: &[u8], build_b: Option<fn(&mut Machine)>) -> DiffReport {
    let side = |name: &str, bytes, build| Side {
        name: name.to_string(),
        bytes,
        build,
    };
    diff::diff(&side("A", a, None), &side("B", b, build_b)).expect("diff")
}

/// The guest files of `h` with `path`'s bytes changed by `patch`.
fn patched(h: &Header, path: &str, patch: impl Fn(&mut Vec<u8>)) -> Header {
    let mut h = h.clone();
    for f in &mut h.files {
        if f.path == path {
            let mut bytes = f.bytes.clone();
            patch(&mut bytes);
            *f = GuestFile::new(f.path.clone(), bytes);
        }
    }
    h
}

#[test]
fn identical_runs_have_no_difference() {
    let (s, text) = scenario("keywait");
    let h = header(&s, &text);
    let a = record(&h, s.inputs.clone());
    let r = diff(&a, &a, None);
    assert!(r.identical(), "{}", r.text(40));
    assert!(r.state.is_none() && r.execution.is_none());
}

#[test]
fn a_changed_guest_instruction_is_named_where_it_executes() {
    let (s, text) = scenario("keywait");
    let h = header(&s, &text);
    // keywait.asm compares Int 16h's answer for Esc with `cmp ax, 0x011B` (3D 1B 01); the
    // changed build of the guest compares with 011Ch.
    let file = &h
        .files
        .iter()
        .find(|f| f.path == "KEYWAIT.COM")
        .expect("file")
        .bytes;
    let at = file
        .windows(3)
        .position(|w| w == [0x3D, 0x1B, 0x01])
        .expect("cmp ax,011Bh in KEYWAIT.COM");
    let h2 = patched(&h, "KEYWAIT.COM", |b| b[at + 1] = 0x1C);
    let a = record(&h, s.inputs.clone());
    let b = record(&h2, s.inputs.clone());
    let r = diff(&a, &b, None);
    let text = r.text(40);
    assert!(
        r.setup
            .iter()
            .any(|l| l.contains("KEYWAIT.COM") && l.contains("1 differ")),
        "{text}"
    );
    assert!(r.first_input.is_none(), "{text}");
    // The states first differ in memory only: the program image, loaded by DOS.
    let load = r.state.as_ref().expect("a state difference");
    assert!(load.differences.registers.is_empty(), "{text}");
    assert_eq!(load.differences.memory_bytes, 1, "{text}");
    // Execution first differs at the changed CMP (a .COM runs at offset 100h).
    let x = r.execution.as_ref().expect("an execution difference");
    assert_eq!(x.a.ip as usize, 0x100 + at, "{text}");
    assert_eq!(x.a.cs, x.b.cs);
    assert!(x.a.text.ends_with("cmp ax,11Bh"), "{text}");
    assert!(x.b.text.ends_with("cmp ax,11Ch"), "{text}");
    // AX = 011Bh (Esc): 011Bh - 011Bh sets ZF; 011Bh - 011Ch borrows: CF, SF, AF, no ZF.
    let flag = |n: &str| x.differences.change(n).map(|c| (c.a.clone(), c.b.clone()));
    assert_eq!(flag("ZF"), Some(("1".into(), "0".into())), "{text}");
    assert_eq!(flag("CF"), Some(("0".into(), "1".into())), "{text}");
    assert_eq!(flag("SF"), Some(("0".into(), "1".into())), "{text}");
    assert_eq!(flag("AF"), Some(("0".into(), "1".into())), "{text}");
    assert!(x.differences.registers.is_empty(), "{text}");
    assert_eq!(x.differences.memory_bytes, 0, "{text}");
    // It runs after the Esc key (1,500 ms = 37,500,000 ticks at 25 MHz) and before the
    // first differing observation (the "yes"/"no" it prints).
    let obs = r
        .first_observation
        .as_ref()
        .expect("an observation differs");
    assert!(x.tick > 37_500_000 && x.tick < obs.tick, "{text}");
}

#[test]
fn a_changed_keystroke_time_is_named_at_the_earlier_key() {
    let (s, text) = scenario("keywait");
    let h = header(&s, &text);
    let rate = s.machine.rate.ticks_per_second();
    // keywait.toml types Esc at 1,500 ms; the other run types it 100 ms later.
    let esc = rate * 1500 / 1000;
    let late: Vec<(u64, Input)> = s
        .inputs
        .iter()
        .map(|&(t, i)| (if t == esc { t + rate / 10 } else { t }, i))
        .collect();
    assert_ne!(late, s.inputs, "the scenario types Esc at 1,500 ms");
    let a = record(&h, s.inputs.clone());
    let b = record(&h, late);
    let r = diff(&a, &b, None);
    let text = r.text(40);
    assert_eq!(r.first_input.as_ref().map(|d| d.tick), Some(esc), "{text}");
    let p = r.state.as_ref().expect("a state difference");
    assert_eq!(p.tick, esc, "{text}");
    assert_eq!(
        p.a, p.b,
        "the same instruction on both sides before the key"
    );
    assert!(p.inputs_a.iter().any(|i| i == "key 01h (make)"), "{text}");
    assert!(p.inputs_b.is_empty(), "{text}");
    assert!(r.execution.is_none(), "{text}");
    // IBM BIOS data area: the keyboard buffer tail at 0040:001Ch moves on by one entry, and
    // the entry holds Esc's ASCII 1Bh and scan code 01h (buffer 0040:001E-003Dh).
    let mem = &p.differences.memory;
    assert!(
        mem.iter()
            .any(|m| m.store_offset == 0x41C && m.place == "physical 0000041Ch"),
        "{text}"
    );
    assert!(
        mem.iter().any(|m| (0x41E..0x43E).contains(&m.store_offset)
            && m.a.starts_with("1B 01")
            && m.b.starts_with("00 00")),
        "{text}"
    );
    assert!(
        p.differences
            .fields
            .iter()
            .any(|c| c.name.starts_with("kbc.")),
        "{text}"
    );
}

#[test]
fn an_extra_irq_is_named_at_its_tick() {
    let (s, text) = scenario("keywait");
    let h = header(&s, &text);
    // IRQ 3 (COM2: nothing is attached) while the program waits for its line of input.
    let at = 5_000_017;
    let mut extra = s.inputs.clone();
    extra.push((at, Input::Irq { line: 3 }));
    extra.sort_by_key(|&(t, _)| t);
    let a = record(&h, s.inputs.clone());
    let b = record(&h, extra);
    let r = diff(&a, &b, None);
    let text = r.text(40);
    assert_eq!(r.first_input.as_ref().map(|d| d.tick), Some(at), "{text}");
    let p = r.state.as_ref().expect("a state difference");
    assert_eq!(p.tick, at, "{text}");
    assert_eq!(p.inputs_b, vec!["irq 3".to_string()], "{text}");
    assert!(p.inputs_a.is_empty(), "{text}");
    // B takes the interrupt (8086 semantics: FLAGS, CS and IP pushed, IF cleared) into the
    // BIOS's handler in the ROM at F000h.
    let reg = |n: &str| p.differences.change(n).map(|c| (c.a.clone(), c.b.clone()));
    assert_eq!(reg("IF"), Some(("1".into(), "0".into())), "{text}");
    assert_eq!(reg("CS").map(|(_, b)| b), Some("F000".into()), "{text}");
    let (sp_a, sp_b) = reg("SP").expect("SP differs");
    let hex = |s: &str| u16::from_str_radix(s, 16).expect("hex");
    assert_eq!(hex(&sp_a) - hex(&sp_b), 6, "{text}");
}

#[test]
fn a_changed_xms_error_code_is_named_at_the_driver_call() {
    let (s, text) = scenario("xmstest");
    let h = header(&s, &text);
    let a = record(&h, s.inputs.clone());
    // The tick of the first XMS call of function 02h, as the trace recorded it.
    let call = TraceReader::new(a.as_slice())
        .expect("trace")
        .records()
        .filter_map(Result::ok)
        .find_map(|r| match r {
            Record::Observation {
                tick,
                observation: Observation::Xms { input, .. },
            } if input.ax >> 8 == 0x02 => Some(tick),
            _ => None,
        })
        .expect("xmstest calls XMS 02h");
    let r = diff(&a, &a, Some(release_hma_says_90h));
    let text = r.text(40);
    assert!(r.setup.is_empty() && r.first_input.is_none(), "{text}");
    let p = r.state.as_ref().expect("a state difference");
    // The trap instruction runs at tick T; the driver's answer is observed when it is
    // done, at T + 1.
    assert_eq!(p.tick + 1, call, "{text}");
    assert!(p.a.text.contains("XMS driver"), "{text}");
    // XMS 3.0: 02h on an HMA that is not allocated fails with BL=93h.
    let bx = p.differences.change("BX").expect("BX differs");
    assert!(bx.a.ends_with("93") && bx.b.ends_with("90"), "{text}");
    assert_eq!(p.differences.memory_bytes, 0, "{text}");
}

/// The first XMS or EMS observation (input AH = `ah`, output AX/AH success) as (tick, input,
/// output).
fn first_call(
    bytes: &[u8],
    ems: bool,
    ah: u16,
) -> (u64, vexed_emu::observe::Regs, vexed_emu::observe::Regs) {
    TraceReader::new(bytes)
        .expect("trace")
        .records()
        .filter_map(Result::ok)
        .find_map(|r| match r {
            Record::Observation {
                tick,
                observation: Observation::Xms { input, output },
            } if !ems && input.ax >> 8 == ah && output.ax == 1 => Some((tick, input, output)),
            Record::Observation {
                tick,
                observation: Observation::Ems { input, output },
            } if ems && input.ax >> 8 == ah && output.ax >> 8 == 0 => Some((tick, input, output)),
            _ => None,
        })
        .expect("the guest makes that call")
}

#[test]
fn memory_differences_are_named_by_xms_and_ems_handle() {
    // XMS (xmsshare, Q74809): the TSR allocates (09h: handle in DX) and locks (0Ch: the
    // block's 32-bit physical address in DX:BX) a block and stays resident.
    let (s, text) = scenario("xmsshare");
    let h = header(&s, &text);
    let bytes = record(&h, s.inputs.clone());
    let (_, _, alloc) = first_call(&bytes, false, 0x09);
    let (_, _, lock) = first_call(&bytes, false, 0x0C);
    let base = (u32::from(lock.dx) << 16) | u32::from(lock.bx);
    let mut source = Scripted::new(s.inputs.clone());
    let (_, _, end) = session::record_machine(
        &h,
        &mut source,
        &RecordOptions::default(),
        Vec::new(),
        &mut std::io::sink(),
    )
    .expect("record");
    let mut other = end.clone();
    let at = base + 0x123;
    // With A20 off, the bus wraps at 1 MiB: open it for the write, then close it again.
    let a20 = other.bus().mem.a20();
    other.bus_mut().mem.set_a20(true);
    let byte = other.bus().mem.read_u8(at);
    other.bus_mut().mem.write_u8(at, byte ^ 0xFF);
    other.bus_mut().mem.set_a20(a20);
    let d = statediff::compare(&end, &other).expect("compare");
    assert_eq!(d.memory_bytes, 1);
    assert_eq!(
        d.memory[0].place,
        format!(
            "XMS handle {:04X}h offset 00000123h (physical {at:08X}h)",
            alloc.dx
        )
    );

    // EMS (emstest, LIM 4.0): 41h gives the frame segment in BX; 44h maps logical page BX
    // of handle DX at physical page AL. Right after the first map call, a byte written
    // through the frame lies in that handle's page.
    let (s, text) = scenario("emstest");
    let h = header(&s, &text);
    let bytes = record(&h, s.inputs.clone());
    let (_, _, frame) = first_call(&bytes, true, 0x41);
    let (tick, map, _) = first_call(&bytes, true, 0x44);
    let rec = vexed_replay::recording::Recording::from_bytes(&bytes).expect("trace");
    let m = vexed_replay::seek::seek(&rec, tick, None)
        .expect("seek")
        .machine;
    let mut other = m.clone();
    let physical_page = u32::from(map.ax & 0xFF);
    let at = u32::from(frame.bx) * 16 + physical_page * 0x4000 + 0x10;
    let byte = other.bus().mem.read_u8(at);
    other.bus_mut().mem.write_u8(at, byte ^ 0xFF);
    let d = statediff::compare(&m, &other).expect("compare");
    assert_eq!(d.memory_bytes, 1);
    assert_eq!(
        d.memory[0].place,
        format!(
            "EMS handle {:04X}h offset {:08X}h",
            map.dx,
            u32::from(map.bx) * 0x4000 + 0x10
        )
    );
}

#[test]
fn two_different_programs_part_at_their_first_instructions() {
    // DOS copying the two program names and loading the two images are firmware services
    // writing different bytes; the first difference in execution is each program's first
    // instruction at offset 100h (keywait.asm begins with `mov ah, 0x34`).
    let golden = |name: &str| {
        std::fs::read(vexed_tests::corpora_dir().join(format!("golden/{name}.trace")))
            .expect("golden trace")
    };
    let r = diff(&golden("keywait"), &golden("xmstest"), None);
    let text = r.text(40);
    let state = r.state.as_ref().expect("a state difference");
    assert!(state.a.is_firmware_call() && state.memory_only(), "{text}");
    let x = r.execution.as_ref().expect("an execution difference");
    assert_eq!((x.a.ip, x.b.ip), (0x100, 0x100), "{text}");
    assert!(x.a.text.ends_with("mov ah,34h"), "{text}");
    assert!(!x.b.is_firmware_call(), "{text}");
}

#[test]
fn a_dpmi_clients_memory_and_selectors_are_named_by_what_they_map() {
    // xmsshare-win (Q74809): the client in the system VM maps XMSSHARE's block with 0800h
    // (physical address in BX:CX in, linear address in BX:CX out; DPMI 0.9) and writes its
    // region 4 (block offset 1000h) through a descriptor on that linear address, inside
    // Int 2Fh 1681h/1682h.
    let (s, text) = scenario("xmsshare-win");
    let h = header(&s, &text);
    let bytes = record(&h, s.inputs.clone());
    let (_, _, alloc) = first_call(&bytes, false, 0x09);
    let observations: Vec<(u64, Observation)> = TraceReader::new(&bytes[..])
        .expect("trace")
        .records()
        .filter_map(Result::ok)
        .filter_map(|r| match r {
            Record::Observation { tick, observation } => Some((tick, observation)),
            _ => None,
        })
        .collect();
    let (physical, linear) = observations
        .iter()
        .find_map(|(_, o)| match o {
            Observation::Dpmi { input, output } if input.ax == 0x0800 => Some((
                (u32::from(input.bx) << 16) | u32::from(input.cx),
                (u32::from(output.bx) << 16) | u32::from(output.cx),
            )),
            _ => None,
        })
        .expect("the client maps the block");
    assert_ne!(
        physical, linear,
        "the 80386 host maps through its page tables"
    );
    // Inside the client's second critical section it writes region 4 with ES = the
    // descriptor on the mapping.
    let second_critical = observations
        .iter()
        .filter(|(_, o)| matches!(o, Observation::Multiplex { input, .. } if input.ax == 0x1681))
        .nth(1)
        .map(|(t, _)| *t)
        .expect("a second critical section");
    let rec = vexed_replay::recording::Recording::from_bytes(&bytes).expect("trace");
    let m = vexed_replay::seek::seek(&rec, second_critical + 200, None)
        .expect("seek")
        .machine;
    let dpmi = m.firmware().and_then(|f| f.dpmi()).expect("a DPMI host");
    let place = dpmi.locate_linear(linear + 0x1000).expect("in the mapping");
    assert_eq!(
        (place.handle, place.xms_handle),
        (None, None),
        "an 0800h mapping"
    );
    assert_eq!((place.start, place.offset), (linear, 0x1000));
    assert_eq!(place.physical, physical + 0x1000);
    assert_eq!(
        dpmi.linear_of_physical(physical + 0x1000),
        [linear + 0x1000]
    );

    // A byte of region 4 differs: named by the XMS handle and the client's linear address.
    let mut other = m.clone();
    let at = physical + 0x1000;
    let byte = other.bus().mem.read_u8(at);
    other.bus_mut().mem.write_u8(at, byte ^ 0xFF);
    let d = statediff::compare(&m, &other).expect("compare");
    assert_eq!(
        d.memory[0].place,
        format!(
            "XMS handle {:04X}h offset 00001000h (physical {at:08X}h, DPMI client's linear {:08X}h)",
            alloc.dx,
            linear + 0x1000
        )
    );

    // ES differs: each side's selector is named by its base and what the base maps.
    let es = m.cpu().sreg(vexed_emu::cpu::SegReg::ES);
    let mut other = m.clone();
    other.cpu_mut().set_sreg(vexed_emu::cpu::SegReg::ES, 0);
    let d = statediff::compare(&m, &other).expect("compare");
    let change = d.change("ES").expect("ES differs");
    assert_eq!(
        change.a,
        format!("{es:04X} (base {linear:08X}h: DPMI mapping of physical {physical:08X}h)")
    );
}
