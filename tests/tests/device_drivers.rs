//! Installable device drivers from CONFIG.SYS (issue 20, items 1 and 2): `corpora/drivers.toml`
//! loads ECHODEV.SYS and ECHOEXE.EXE (`corpora/guests/echodev.asm`, `echoexe.asm`, built by
//! nasm from the repository) with `DEVICE=` lines, and DRVUSE.COM (`drvuse.asm`) uses
//! ECHODEV by name through Int 21h and walks the device chain.
//!
//! The expected values come from the documentation, not from vexed's output: RBIL INT 21
//! tables #01646/#01647 (device header, attribute bits), #02597 (request header: length
//! byte, unit, command, status word with bit 15 error, bit 9 busy, bit 8 done), #02598
//! (INIT: break address at 0Eh, command line at 12h pointing after "DEVICE="), #01423
//! (IOCTL device information: bit 7 device, bit 14 IOCTL supported, bit 11 open/close)
//! and the MS-DOS Programmer's Reference on which request each handle function sends;
//! the MS-DOS 4/5 CONFIG.SYS messages ("Unrecognized command in CONFIG.SYS", "Bad or
//! missing ", "Error in CONFIG.SYS line N"); and the behaviour the drivers' sources
//! document (ECHODEV keeps 32 bytes and answers in upper case).

use std::path::Path;

use vexed_emu::firmware::FirmwareStop;
use vexed_emu::machine::{Machine, Stop};
use vexed_emu::observe::Observation;
use vexed_replay::run::build_machine;
use vexed_replay::scenario::Scenario;
use vexed_tests::{corpora_dir, scenario};

/// The attribute both drivers' headers declare (echodev.inc): character device (bit 15),
/// IOCTL (bit 14), OPEN/CLOSE (bit 11).
const ATTR: u16 = 0x8000 | 0x4000 | 0x0800;

/// Runs `s` to its end: how it stopped, the console text, the observations and the machine.
fn run(s: &Scenario) -> (Stop, String, Vec<Observation>, Machine) {
    let (mut m, skipped) = build_machine(s).expect("machine");
    assert!(skipped.is_empty(), "{skipped:?}");
    let stop = m.run_until(s.max_ticks);
    let fw = m.firmware_mut().expect("firmware");
    let console = String::from_utf8_lossy(&fw.take_console()).into_owned();
    let obs = fw.take_observations().into_iter().map(|(_, o)| o).collect();
    (stop, console, obs, m)
}

fn finished() -> Stop {
    Stop::Firmware(FirmwareStop::Finished { exit_code: 0 })
}

/// A scenario on the guests directory with `config` as CONFIG.SYS, running DRVUSE.COM.
fn with_config(config: &str, exit_code: u8) -> Scenario {
    let manifest = format!(
        "drive = \"guests\"\nfiles = [\"ECHODEV.SYS\", \"ECHOEXE.EXE\", \"DRVUSE.COM\"]\n\
         config = '''\n{config}'''\n[[program]]\nname = \"DRVUSE.COM\"\nexit_code = {exit_code}\n"
    );
    Scenario::parse(&manifest, &corpora_dir(), "config-test".into()).expect("manifest")
}

#[test]
fn both_drivers_load_from_config_sys_and_are_linked_after_nul() {
    let (s, _) = scenario("drivers");
    let (stop, console, obs, _) = run(&s);
    assert_eq!(stop, finished());
    let loaded: Vec<_> = obs
        .iter()
        .filter_map(|o| match o {
            Observation::DriverLoaded {
                file,
                seg,
                off,
                attributes,
                name,
                status,
                break_seg,
                break_off,
                installed,
                ..
            } => Some((
                file.as_str(),
                *seg,
                *off,
                *attributes,
                name.clone(),
                *status,
                (*break_seg, *break_off),
                *installed,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(loaded.len(), 2, "{loaded:?}");
    for (l, (file, name)) in loaded.iter().zip([
        (r"C:\ECHODEV.SYS", b"ECHODEV "),
        ("ECHOEXE.EXE", b"ECHOEXE$"),
    ]) {
        assert_eq!(l.0, file);
        // The header is at the start of the image (.SYS) or of the load module (.EXE).
        assert_eq!(l.2, 0);
        assert_eq!(l.3, ATTR);
        assert_eq!(&l.4[..], name);
        // No error bit (bit 15); the break address is in the driver's own segment, past
        // its header (resident code) - INIT returned it at 0Eh.
        assert_eq!(l.5 & 0x8000, 0);
        assert_eq!(l.6.0, l.1);
        assert!(l.6.1 > 0x12, "{l:?}");
        assert!(l.7);
    }
    // The INIT messages: the command line pointer at 12h is the text after "DEVICE=", as
    // written; the driver read DOS's version (AH=30h: 5.00); the EXE's relocation was
    // applied with the load segment.
    assert!(
        console.contains("ECHODEV: loaded as C:\\ECHODEV.SYS /Quiet  on COM1\r\n"),
        "{console}"
    );
    assert!(
        console.contains("ECHODEV: DOS version 5.00\r\n"),
        "{console}"
    );
    assert!(
        console.contains("ECHOEXE: DOS version 5.00, relocated\r\n"),
        "{console}"
    );
    // The chain as DRVUSE walks it from List of Lists + 22h: NUL (8004h) first, then each
    // driver DOS linked in after NUL, the last loaded first, then DOS's own devices.
    let chain: Vec<&str> = console
        .lines()
        .filter_map(|l| l.strip_prefix("device "))
        .map(|l| l.get(10..).unwrap_or(""))
        .collect();
    assert_eq!(
        chain[..3],
        ["8004 NUL     ", "C800 ECHOEXE$", "C800 ECHODEV "],
        "{chain:?}"
    );
    assert!(chain.contains(&"8013 CON     "), "{chain:?}");
    assert!(chain.contains(&"8008 CLOCK$  "), "{chain:?}");
}

#[test]
fn handle_functions_reach_the_driver_through_its_requests() {
    let (s, _) = scenario("drivers");
    let (stop, console, obs, _) = run(&s);
    assert_eq!(stop, finished());
    let echodev: Vec<(u8, u8, u16)> = obs
        .iter()
        .filter_map(|o| match o {
            Observation::DeviceRequest {
                name,
                unit,
                command,
                status,
                ..
            } if name == b"ECHODEV " => Some((*unit, *command, *status)),
            _ => None,
        })
        .collect();
    const DONE: u16 = 0x0100;
    const BUSY: u16 = 0x0200;
    // DRVUSE's calls and the requests DOS sends for them: INIT at boot (00h); 3Dh -> OPEN
    // (0Dh, attribute bit 11); 4407h -> output status (0Ah), ready; 4406h -> non-destructive
    // input (05h), busy while empty; 40h -> OUTPUT (08h); 4406h, no longer busy; 3Fh ->
    // INPUT (04h); 40h -> OUTPUT; 4407h busy (full); 4402h -> IOCTL input (03h); 4403h ->
    // IOCTL output (0Ch); 4407h ready; 3Eh -> CLOSE (0Eh); the second open and close.
    let want = [
        (0x00, DONE),
        (0x0D, DONE),
        (0x0A, DONE),
        (0x05, DONE | BUSY),
        (0x08, DONE),
        (0x05, DONE),
        (0x04, DONE),
        (0x08, DONE),
        (0x0A, DONE | BUSY),
        (0x03, DONE),
        (0x0C, DONE),
        (0x0A, DONE),
        (0x0E, DONE),
        (0x0D, DONE),
        (0x0E, DONE),
    ];
    let got: Vec<(u8, u16)> = echodev.iter().map(|&(_, c, s)| (c, s)).collect();
    assert_eq!(got, want);
    // A character device has one unit: 0.
    assert!(echodev.iter().all(|&(u, _, _)| u == 0));
    // What the program saw: the handle (5, after the five standard ones); AX=4400h's word
    // for a character device (bit 7) with the attribute's high byte (IOCTL, open/close)
    // and bit 6 (not at end of input); AL = FFh ready / 00h busy for 4406h and 4407h;
    // the counts the driver returned at 12h (13 written and read back in upper case, 32
    // of 40 kept, 2 IOCTL bytes: one open, 32 stored); the extension is ignored.
    let expected = "open ECHODEV: CF=0 AX=0005\r\n\
                    device information: C8C0\r\n\
                    output status: 00FF\r\n\
                    input status: 0000\r\n\
                    write 13: CF=0 AX=000D\r\n\
                    input status: 00FF\r\n\
                    read: CF=0 AX=000D\r\n\
                    HELLO, DRIVER\r\n\
                    write 40: CF=0 AX=0020\r\n\
                    output status: 0000\r\n\
                    IOCTL input: CF=0 AX=0002\r\n\
                    opens, stored: 0001 0020\r\n\
                    IOCTL output C: CF=0 AX=0001\r\n\
                    output status: 00FF\r\n";
    assert!(console.contains(expected), "{console}");
    assert!(
        console.contains("open ECHODEV.TXT: CF=0 AX=0005\r\n"),
        "{console}"
    );
}

#[test]
fn the_request_header_has_the_documented_layout() {
    let (s, _) = scenario("drivers");
    let (stop, _, obs, m) = run(&s);
    assert_eq!(stop, finished());
    // The last request was the final CLOSE: a static request of 0Dh bytes (length byte,
    // unit, command, status word, 8 reserved bytes), command 0Eh, status "done".
    let at = obs.iter().rev().find_map(|o| match o {
        Observation::DeviceRequest { command: 0x0E, .. } => Some(()),
        _ => None,
    });
    assert!(at.is_some());
    let req = vexed_emu::firmware::linear(
        vexed_emu::firmware::stubs::DOS_DATA_SEG,
        vexed_emu::firmware::dos::device::REQUEST_OFF,
    );
    let mem = &m.bus().mem;
    assert_eq!(mem.read_u8(req), 0x0D);
    assert_eq!(mem.read_u8(req + 1), 0);
    assert_eq!(mem.read_u8(req + 2), 0x0E);
    assert_eq!(mem.read_u16(req + 3), 0x0100);
}

#[test]
fn config_sys_errors_are_reported_with_their_lines() {
    let s = with_config(
        "REM drivers\nFILES=20\nFROB=1\nDEVICE=C:\\NOSUCH.SYS\nFILES=3\nDEVICE=\nDEVICE=ECHODEV.SYS\n",
        0,
    );
    let (stop, console, obs, _) = run(&s);
    assert_eq!(stop, finished());
    let boot = console.split("ECHODEV: loaded").next().unwrap_or("");
    assert_eq!(
        boot,
        "\r\nUnrecognized command in CONFIG.SYS\r\nError in CONFIG.SYS line 3\r\n\
         \r\nBad or missing C:\\NOSUCH.SYS\r\nError in CONFIG.SYS line 4\r\n\
         \r\nBad command or parameters - 3\r\nError in CONFIG.SYS line 5\r\n\
         \r\nUnrecognized command in CONFIG.SYS\r\nError in CONFIG.SYS line 6\r\n"
    );
    // The good driver line after the bad ones still loads.
    let loaded = obs
        .iter()
        .filter(|o| {
            matches!(
                o,
                Observation::DriverLoaded {
                    installed: true,
                    ..
                }
            )
        })
        .count();
    assert_eq!(loaded, 1);
}

#[test]
fn without_config_sys_the_device_does_not_exist() {
    // DRVUSE's open by name fails with 02h (file not found) and it exits with 1.
    let manifest =
        "drive = \"guests\"\nfiles = [\"DRVUSE.COM\"]\n[[program]]\nname = \"DRVUSE.COM\"\n";
    let s = Scenario::parse(manifest, &corpora_dir(), "no-config".into()).expect("manifest");
    let (stop, console, obs, _) = run(&s);
    assert_eq!(
        stop,
        Stop::Firmware(FirmwareStop::Finished { exit_code: 1 })
    );
    assert!(
        console.contains("open ECHODEV: CF=1 AX=0002\r\n"),
        "{console}"
    );
    assert!(!obs.iter().any(|o| matches!(
        o,
        Observation::DriverLoaded { .. } | Observation::DeviceRequest { .. }
    )));
}

#[test]
fn a_manifest_config_and_a_config_sys_file_together_are_refused() {
    let dir = std::env::temp_dir().join(format!("vexed-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("CONFIG.SYS"), "FILES=20\r\n").expect("write");
    let manifest = "drive = \".\"\nconfig = \"FILES=30\"\n[[program]]\nname = \"X.COM\"\n";
    let s = Scenario::parse(manifest, Path::new(&dir), "both".into()).expect("manifest");
    let err = build_machine(&s)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(err.contains("CONFIG.SYS"), "{err}");
}
