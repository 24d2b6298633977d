//! `vexed debug` driven by the real gdb (issue 19): gdb in batch mode (`gdb -nx -batch`)
//! against the debugger serving `corpora/golden/xmsshare.trace` over the Remote Serial
//! Protocol, and the same questions through the batch command language.
//!
//! Expected values come from the guests' sources and from the recording: instruction
//! addresses from a nasm listing of `corpora/guests/xmsclnt.asm` made here, XMSCLNT's load
//! segment (its PSP; a .COM runs with CS = PSP) and the XMS block's physical address from the
//! observations the trace recorded (the ProgramStart of XMSCLNT.COM, and XMS 0Ch's DX:BX for
//! XMSSHARE's lock), the XMS results from the source's comments (AX=1 is success). Skipped,
//! with the reason printed, only when gdb (or nasm) is not installed.

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use vexed_emu::observe::Observation;
use vexed_replay::debug::{Debugger, batch, rsp};
use vexed_replay::recording::Recording;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Offsets (in the segment, `org 100h` added) of XMSCLNT's two XMS 0Bh calls (`call far
/// [xms_entry]`) and of the `cmp ax,1` after each, from a nasm listing.
struct Listing {
    calls: Vec<u32>,
    checks: Vec<u32>,
}

fn listing(dir: &Path) -> Listing {
    let lst = dir.join("xmsclnt.lst");
    let out = Command::new("nasm")
        .args(["-f", "bin", "-l"])
        .arg(&lst)
        .arg("-o")
        .arg(dir.join("xmsclnt.com"))
        .arg(root().join("corpora/guests/xmsclnt.asm"))
        .output()
        .expect("nasm runs");
    assert!(out.status.success(), "nasm: {out:?}");
    let text = std::fs::read_to_string(&lst).expect("listing");
    // A listing line: line number, offset, bytes, source. The source of a macro call is
    // `XMS 0Bh`; its expansion follows (`<1>` lines), then the next source line.
    let offset = |line: &str| {
        let mut w = line.split_whitespace();
        w.next();
        u32::from_str_radix(w.next().expect("offset"), 16).expect("hex offset") + 0x100
    };
    let (mut calls, mut checks) = (Vec::new(), Vec::new());
    let mut in_move = false;
    for line in text.lines() {
        let source = line.get(40..).unwrap_or("").trim();
        if source == "XMS 0Bh" {
            in_move = true;
        } else if in_move && line.contains("call far [xms_entry]") {
            calls.push(offset(line));
        } else if in_move && source == "cmp ax,1" {
            checks.push(offset(line));
            in_move = false;
        }
    }
    assert_eq!((calls.len(), checks.len()), (2, 2), "two XMS 0Bh moves");
    Listing { calls, checks }
}

/// XMSCLNT's PSP and the shared block's physical address, from the recorded observations.
fn from_recording(rec: &Recording) -> (u16, u32) {
    let psp = rec
        .observations
        .iter()
        .find_map(|(_, o)| match o {
            Observation::ProgramStart { psp, path } if path.ends_with("XMSCLNT.COM") => Some(*psp),
            _ => None,
        })
        .expect("XMSCLNT started");
    let block = rec
        .observations
        .iter()
        .find_map(|(_, o)| match o {
            Observation::Xms { input, output } if input.ax >> 8 == 0x0C && output.ax == 1 => {
                Some((u32::from(output.dx) << 16) | u32::from(output.bx))
            }
            _ => None,
        })
        .expect("XMSSHARE locked its block");
    (psp, block)
}

fn trace() -> PathBuf {
    root().join("corpora/golden/xmsshare.trace")
}

/// Runs gdb with `commands` against a debugger on `corpora/golden/xmsshare.trace`; gdb's
/// output.
fn gdb(commands: &[String]) -> String {
    gdb_on(&trace(), commands)
}

/// Runs gdb with `commands` against a debugger on the trace at `path`; gdb's output.
fn gdb_on(path: &Path, commands: &[String]) -> String {
    let rec = Recording::open(path).expect("trace");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let mut d = Debugger::new(rec).expect("debugger");
        let (stream, _) = listener.accept().expect("gdb connects");
        rsp::serve(&mut d, stream).expect("serve");
    });
    let mut cmd = Command::new("gdb");
    cmd.args([
        "-nx",
        "-batch",
        "-ex",
        "set pagination off",
        "-ex",
        "set confirm off",
    ]);
    cmd.args(["-ex", "set remotetimeout 30"]);
    cmd.args(["-ex", &format!("target remote 127.0.0.1:{port}")]);
    for c in commands {
        cmd.args(["-ex", c]);
    }
    cmd.args(["-ex", "kill"]);
    let out = cmd.output().expect("gdb runs");
    server.join().expect("server");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    text
}

/// The value after `NAME=` in gdb's `printf` lines (the n-th occurrence).
fn value(text: &str, name: &str, n: usize) -> u64 {
    let key = format!("{name}=");
    let line = text
        .lines()
        .filter_map(|l| l.strip_prefix(&key))
        .nth(n)
        .unwrap_or_else(|| panic!("no {key} #{n} in gdb's output"));
    u64::from_str_radix(line.trim(), 16).expect("hex")
}

const REGS: &str = r#"printf "EIP=%x\nEAX=%x\nCS=%x\nESP=%x\nEBX=%x\nEFLAGS=%x\n", $eip, $eax, $cs, $esp, $ebx, $eflags"#;

#[test]
fn gdb_breaks_steps_back_and_finds_who_wrote_the_shared_block() {
    if !have("gdb") || !have("nasm") {
        eprintln!("skipped: gdb or nasm is not installed (CI installs both: .ci/run)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("vexed-debug-gdb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let l = listing(&dir);
    let rec = Recording::open(&trace()).expect("trace");
    let (psp, block) = from_recording(&rec);
    let lin = |off: u32| u32::from(psp) * 16 + off;
    // The read-back move (check 3) returns to its `cmp ax,1`.
    let read_back = lin(l.checks[1]);
    let out = gdb(&[
        format!("break *{read_back:#x}"),
        "continue".into(),
        REGS.into(),
        "monitor tick".into(),
        "reverse-stepi".into(),
        REGS.into(),
        "monitor tick".into(),
        format!("watch *(char*){block:#x}"),
        "reverse-continue".into(),
        REGS.into(),
        "delete".into(),
        "reverse-continue".into(),
        REGS.into(),
    ]);
    // Stopped at the breakpoint: CS = XMSCLNT's PSP, AX = 1 (the move succeeded).
    assert!(out.contains("Breakpoint 1,"), "{out}");
    assert_eq!(value(&out, "EIP", 0), u64::from(read_back));
    assert_eq!(value(&out, "CS", 0), u64::from(psp));
    assert_eq!(value(&out, "EAX", 0) & 0xFFFF, 1);
    // reverse-stepi: the machine `vexed seek` shows one tick earlier.
    let tick = out
        .lines()
        .find_map(|l| l.strip_prefix("tick "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|t| t.parse::<u64>().ok())
        .expect("monitor tick");
    let before = vexed_replay::seek::seek(&rec, tick - 1, None).expect("seek");
    let cpu = before.machine.cpu();
    let seg = |s| u64::from(cpu.sreg(s));
    use vexed_emu::cpu::{Reg32, SegReg};
    assert_eq!(
        value(&out, "EIP", 1),
        u64::from(cpu.segment(SegReg::CS).base.wrapping_add(cpu.eip()))
    );
    assert_eq!(value(&out, "CS", 1), seg(SegReg::CS));
    assert_eq!(value(&out, "EAX", 1), u64::from(cpu.reg32(Reg32::EAX)));
    assert_eq!(value(&out, "ESP", 1), u64::from(cpu.reg32(Reg32::ESP)));
    assert_eq!(value(&out, "EBX", 1), u64::from(cpu.reg32(Reg32::EBX)));
    assert_eq!(value(&out, "EFLAGS", 1), u64::from(cpu.flags()));
    assert!(out.contains(&format!("tick {} of", tick - 1)), "{out}");
    // The block's first byte was last written by the pattern move (check 2): an XMS move,
    // so the stop is at the guest's `call far [xms_entry]` of that move.
    assert_eq!(value(&out, "EIP", 2), u64::from(lin(l.calls[0])));
    assert!(out.contains("written by firmware service"), "{out}");
    assert!(out.contains("Hardware watchpoint 2"), "{out}");
    // Nothing earlier: the beginning of the replay log, at the reset vector FFFF:0000.
    assert!(out.contains("No more reverse-execution history."), "{out}");
    assert_eq!(value(&out, "EIP", 3), 0xFFFF0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_batch_language_answers_without_gdb() {
    if !have("nasm") {
        eprintln!("skipped: nasm is not installed (CI installs it: .ci/run)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("vexed-debug-batch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let l = listing(&dir);
    let rec = Recording::open(&trace()).expect("trace");
    let (psp, block) = from_recording(&rec);
    let end = rec.end_tick();
    let mut d = Debugger::new(rec).expect("debugger");
    let script = format!(
        "break {psp:04X}:{:04X}\ncontinue\ntick\nlast-writer {block:#x}\ntick\nbogus\nregs\n",
        l.checks[1]
    );
    let mut out = Vec::new();
    let err = batch::run(&mut d, &script, &mut out).expect_err("line 6 is not a command");
    let text = String::from_utf8_lossy(&out).to_string();
    eprintln!("{text}");
    let _ = writeln!(std::io::stderr(), "{err}");
    assert_eq!(err.line, 6);
    // The breakpoint's location, then the last writer: the pattern move's call.
    assert!(
        text.contains(&format!("{psp:04X}:{:04X}", l.checks[1])),
        "{text}"
    );
    assert!(text.contains("last written by firmware service"), "{text}");
    assert!(
        text.contains(&format!("{psp:04X}:{:04X}  FF 1E", l.calls[0])),
        "{text}"
    );
    // last-writer does not move: the tick is the breakpoint's both times.
    let ticks: Vec<&str> = text
        .lines()
        .filter(|l| l.ends_with(&format!(" of {end}")))
        .collect();
    assert_eq!(ticks.len(), 2, "{text}");
    assert_eq!(ticks[0], ticks[1]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The listing of `nasm -l` for `corpora/guests/NAME.asm` (assembled in `dir`, includes
/// found beside the source).
fn nasm_listing(dir: &Path, name: &str) -> String {
    let guests = root().join("corpora/guests");
    let lst = dir.join(format!("{name}.lst"));
    let out = Command::new("nasm")
        .args(["-f", "bin", "-l"])
        .arg(&lst)
        .arg("-o")
        .arg(dir.join(format!("{name}.com")))
        .arg(format!("{name}.asm"))
        .current_dir(&guests)
        .output()
        .expect("nasm runs");
    assert!(out.status.success(), "nasm: {out:?}");
    std::fs::read_to_string(&lst).expect("listing")
}

/// The segment offset (`org 100h` added) of the first instruction whose source is `source`
/// after the line whose source is `after`.
fn offset_of(listing: &str, after: &str, source: &str) -> u32 {
    let mut seen = false;
    for line in listing.lines() {
        let src = line.get(40..).unwrap_or("").trim();
        if src == after {
            seen = true;
        } else if seen && (src == source || src.ends_with(&format!(" {source}"))) {
            let off = line.split_whitespace().nth(1).expect("offset");
            return u32::from_str_radix(off, 16).expect("hex offset") + 0x100;
        }
    }
    panic!("no {source:?} after {after:?} in the listing");
}

#[test]
fn gdb_follows_a_write_into_another_vm_in_protected_mode() {
    if !have("gdb") || !have("nasm") {
        eprintln!("skipped: gdb or nasm is not installed (CI installs both: .ci/run)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("vexed-debug-win-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // XMSVM (two DOS VMs) reads region PEER = 4 of the block with an XMS move into its
    // buffer and checks it at check_peer's `.read:`; XMSWIN (the DPMI client in the system
    // VM) writes region MY_REGION = 4 (REGION = 1024 bytes each) a byte at a time with
    // put_pattern's `mov [es:di], al` through a descriptor on the linear address DPMI
    // 0800h returned. A 16-bit client's first code selector has the base of its real-mode
    // CS (DPMI 0.9, "Switching to protected mode"): its PSP.
    let vm = nasm_listing(&dir, "xmsvm");
    let win = nasm_listing(&dir, "xmswin");
    let read = offset_of(&vm, "check_peer:", "mov al,[buffer]");
    let write = offset_of(&win, "put_pattern:", "mov [es:di], al");
    let path = root().join("corpora/golden/xmsshare-win.trace");
    let rec = Recording::open(&path).expect("trace");
    let psp = |name: &str| {
        rec.observations
            .iter()
            .find_map(|(_, o)| match o {
                Observation::ProgramStart { psp, path } if path.ends_with(name) => Some(*psp),
                _ => None,
            })
            .expect("the program started")
    };
    let (vm_psp, win_psp) = (u32::from(psp("XMSVM.COM")), u32::from(psp("XMSWIN.COM")));
    let mapped = rec
        .observations
        .iter()
        .find_map(|(_, o)| match o {
            Observation::Dpmi { input, output } if input.ax == 0x0800 => {
                Some((u32::from(output.bx) << 16) | u32::from(output.cx))
            }
            _ => None,
        })
        .expect("XMSWIN mapped the block");
    let region4 = mapped + 4 * 1024;
    let out = gdb_on(
        &path,
        &[
            "continue".into(),
            format!("break *{:#x}", vm_psp * 16 + read),
            "reverse-continue".into(),
            REGS.into(),
            "delete".into(),
            format!("watch *(unsigned char *){region4:#x}"),
            "reverse-continue".into(),
            REGS.into(),
            "monitor vm".into(),
        ],
    );
    // The end of the log, then the last read of region 4 in a DOS VM (CS = XMSVM's PSP).
    assert!(out.contains("No more reverse-execution history."), "{out}");
    assert!(out.contains("Breakpoint 1,"), "{out}");
    assert_eq!(value(&out, "EIP", 0), u64::from(vm_psp * 16 + read));
    assert_eq!(value(&out, "CS", 0), u64::from(vm_psp));
    // Then the write of its first byte: XMSWIN's store, in protected mode in VM 1.
    assert!(out.contains("Hardware watchpoint 2"), "{out}");
    assert_eq!(value(&out, "EIP", 1), u64::from(win_psp * 16 + write));
    assert!(out.contains("VM 1 runs; protected mode"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gdb_reads_memory_through_the_page_tables_in_virtual_8086_mode() {
    if !have("gdb") || !have("nasm") {
        eprintln!("skipped: gdb or nasm is not installed (CI installs both: .ci/run)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("vexed-debug-v86-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // corpora/guests/v86page.asm: its page tables start at the first 4 KiB boundary after
    // the program (the label `pages:` ends the file), directory, table, then the window W,
    // which maps the physical page A after it. W's own page holds msg_wrong, A msg_right;
    // `v86_code:` is the first instruction run in virtual-8086 mode, with paging on.
    let listing = nasm_listing(&dir, "v86page");
    let v86 = offset_of(&listing, "v86_code:", "cmp byte [fault_run], 0");
    let size = std::fs::metadata(dir.join("v86page.com"))
        .expect("assembled")
        .len() as u32;
    let path = root().join("corpora/golden/v86page.trace");
    let rec = Recording::open(&path).expect("trace");
    let psp = rec
        .observations
        .iter()
        .find_map(|(_, o)| match o {
            Observation::ProgramStart { psp, path } if path.ends_with("V86PAGE.COM") => {
                Some(u32::from(*psp))
            }
            _ => None,
        })
        .expect("V86PAGE started");
    let base = psp * 16;
    let directory = (base + 0x100 + size + 0xFFF) & !0xFFF;
    let window = directory + 0x2000;
    let out = gdb_on(
        &path,
        &[
            format!("break *{:#x}", base + v86),
            "continue".into(),
            REGS.into(),
            "monitor vm".into(),
            format!("x/s {window:#x}"),
            format!("x/s {:#x}", window + 0x1000),
            // At the end, back in real mode with paging off, W is its own page.
            "delete".into(),
            "continue".into(),
            "monitor vm".into(),
            format!("x/s {window:#x}"),
        ],
    );
    assert_eq!(value(&out, "EIP", 0), u64::from(base + v86));
    assert!(out.contains("virtual-8086 mode"), "{out}");
    // Through the page tables W shows A's bytes (msg_right), not its own page's.
    let right = "Int 21h AH=09h reads DS:DX through the page tables: ok";
    assert_eq!(out.matches(right).count(), 2, "{out}");
    assert!(out.contains("No more reverse-execution history."), "{out}");
    let end = out
        .split("No more reverse-execution history.")
        .nth(1)
        .unwrap_or("");
    assert!(end.contains("; real mode;"), "{out}");
    let wrong = "Int 21h AH=09h reads DS:DX through the page tables: FAIL (physical page)";
    assert_eq!(out.matches(wrong).count(), 1, "{out}");
    assert!(end.contains(wrong), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
