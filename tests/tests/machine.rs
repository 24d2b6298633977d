//! The PC machine: bare-ROM boot of `corpora/roms/*.bin`, snapshot/restore and determinism.
//!
//! `chipset.bin` programs the 8259A and the 8254, takes five timer interrupts, and checks
//! the A20 rules of the IBM PC/AT Technical Reference through both gates (the 8042 output
//! port bit 1 and port 92h bit 1): with A20 off FFFF:0610 is 0000:0600, with it on it is
//! not. `devices.bin` checks the 8042 self-test and keyboard echo through IRQ1, 16450
//! loopback and transmission, and a Sound Blaster 8-bit DMA transfer through the 8237 that
//! ends with IRQ5. Each ROM prints "ok" for each documented rule that holds.

use vexed_emu::cpu::Model;
use vexed_emu::machine::{Input, Machine, MachineConfig, Stop};
use vexed_replay::boot::{BootEnd, boot};

const ROM: &[u8] = include_bytes!("../../corpora/roms/chipset.bin");
const DEVICES_ROM: &[u8] = include_bytes!("../../corpora/roms/devices.bin");

const EXPECTED: &str = "vexed chipset ROM
pic+pit: 5 timer interrupts
a20 off at power-on, FFFF:0610 wraps to 0000:0600: ok
a20 on via 8042 D1h, no wrap: ok
a20 off via 8042 D1h, wraps: ok
a20 on via port 92h, no wrap: ok
a20 off via port 92h, wraps: ok
done
";

fn machine(model: Model) -> Machine {
    machine_with(model, ROM)
}

fn machine_with(model: Model, rom: &[u8]) -> Machine {
    let config = MachineConfig {
        model,
        ..MachineConfig::default()
    };
    let mut m = Machine::new(config).expect("the default configuration is valid");
    m.load_rom(rom).expect("the ROM is 64 KiB");
    m
}

#[test]
fn devices_rom_passes() {
    let mut m = machine_with(Model::I80386, DEVICES_ROM);
    assert_eq!(m.run_until(100_000_000), Stop::ExitPort(0));
    assert_eq!(
        String::from_utf8_lossy(m.debug_output()),
        "vexed devices ROM
8042 self-test 55h: ok
keyboard echo EEh through IRQ1: ok
16450 loopback: ok
DSP reset AAh: ok
DSP version 2.01: ok
64-byte DMA output, IRQ5 and channel 1 terminal count: ok
done
"
    );
    // Out of loopback, the bytes written to THR reach the host.
    assert_eq!(m.bus().uart.output(), b"COM1");
    // 64 samples of 80h went through the DSP.
    assert_eq!(m.bus().sb.bytes_played(), 64);
}

#[test]
fn chipset_rom_passes_on_the_286_and_386() {
    for model in [Model::I80286, Model::I80386] {
        let mut out = Vec::new();
        let config = MachineConfig {
            model,
            ..MachineConfig::default()
        };
        let report = boot(config, ROM, 100_000_000, &mut out).expect("boot runs");
        assert_eq!(String::from_utf8_lossy(&out), EXPECTED, "{model:?}");
        assert_eq!(report.end, BootEnd::ExitPort(0), "{model:?}");
    }
}

#[test]
fn chipset_rom_on_the_8086_finds_no_a20_gate() {
    // The 8086 has address lines A0-A19 only: FFFF:0610 always wraps, so both "no wrap"
    // checks fail and the ROM exits with status 1.
    let mut out = Vec::new();
    let config = MachineConfig {
        model: Model::I8086,
        ..MachineConfig::default()
    };
    let report = boot(config, ROM, 100_000_000, &mut out).expect("boot runs");
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text.matches("FAIL").count(), 2, "{text}");
    assert_eq!(report.end, BootEnd::ExitPort(1));
}

#[test]
fn a_short_tick_limit_stops_the_boot() {
    let mut out = Vec::new();
    let report = boot(MachineConfig::default(), ROM, 1_000, &mut out).expect("boot runs");
    assert_eq!(
        report,
        vexed_replay::boot::BootReport {
            end: BootEnd::TickLimit,
            ticks: 1_000
        }
    );
}

/// Runs `m` to `tick` or until it halts for good, going on past exit-port writes.
fn run_to(m: &mut Machine, tick: u64) {
    while matches!(m.run_until(tick), Stop::ExitPort(_)) {}
}

/// Runs `m` to `tick`, injecting a keystroke and a serial byte at fixed ticks on the way
/// (the inputs a trace would carry), and returns the state hash.
fn run_with_inputs(m: &mut Machine, tick: u64) -> u64 {
    for (at, input) in [
        (3_000, Input::Key { scancode: 0x1E }),
        (7_000, Input::SerialRx { byte: b'x' }),
        (9_000, Input::Key { scancode: 0x9E }),
    ] {
        if m.now() < at && at <= tick {
            run_to(m, at);
            m.inject(input)
                .expect("the inputs are valid for this machine");
        }
    }
    run_to(m, tick);
    m.state_hash().expect("the state encodes")
}

#[test]
fn snapshot_restore_continues_identically() {
    // N ticks, snapshot, restore into a fresh machine, M more ticks: the same state as N + M
    // uninterrupted, at cut points spread over both ROMs' phases (timer interrupts, A20
    // toggling, keyboard IRQ, UART, DSP commands and the DMA transfer in flight).
    for (name, rom) in [("chipset", ROM), ("devices", DEVICES_ROM)] {
        let total = 400_000;
        let mut straight = machine_with(Model::I80386, rom);
        let want = run_with_inputs(&mut straight, total);
        for cut in [1, 2_500, 8_000, 20_000, 60_000, 90_000, 150_000, 250_000] {
            let mut first = machine_with(Model::I80386, rom);
            run_with_inputs(&mut first, cut);
            let bytes = first.snapshot().expect("the state encodes");
            let mut second = Machine::restore(&bytes).expect("a snapshot restores");
            assert_eq!(
                second.state_hash().ok(),
                first.state_hash().ok(),
                "{name} cut {cut}"
            );
            assert_eq!(
                run_with_inputs(&mut second, total),
                want,
                "{name} cut {cut}"
            );
        }
    }
}

#[test]
fn the_same_rom_and_inputs_give_the_same_hash_stream() {
    let stream = || {
        let mut m = machine(Model::I80386);
        (1..=20)
            .map(|k| run_with_inputs(&mut m, k * 20_000))
            .collect::<Vec<_>>()
    };
    let a = stream();
    assert_eq!(a, stream());
    // The machine does change over the run (the hashes are not all equal).
    assert!(a.windows(2).any(|w| w[0] != w[1]));
}

#[test]
fn a_damaged_snapshot_is_an_error_not_a_panic() {
    let m = machine(Model::I80386);
    let bytes = m.snapshot().expect("the state encodes");
    assert!(Machine::restore(&bytes[..bytes.len() / 2]).is_err());
    assert!(Machine::restore(b"not a snapshot").is_err());
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Machine::restore(&longer).is_err());
}

#[test]
fn no_port_access_panics() {
    // Every port, with values that set and clear every bit, read back afterwards; then the
    // machine still runs (whatever the guest did to the chipset is guest behaviour).
    let mut m = machine(Model::I80386);
    for port in 0..=u16::MAX {
        for value in [0x00, 0xFF, 0x5A, 0xA5] {
            m.io_write(port, value);
            m.io_read(port);
        }
    }
    run_to(&mut m, 100_000);
}

mod random_port_traffic {
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;
    use vexed_emu::machine::{Input, Machine, MachineConfig};

    /// Ports of every device the machine has, and their neighbours.
    const PORTS: &[u16] = &[
        0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x20, 0x21, 0x40,
        0x41, 0x42, 0x43, 0x60, 0x61, 0x64, 0x70, 0x71, 0x80, 0x81, 0x83, 0x87, 0x8B, 0x92, 0xA0,
        0xA1, 0xC0, 0xC2, 0xD0, 0xD4, 0xD6, 0xD8, 0xDA, 0xDC, 0xDE, 0xE9, 0x190, 0x220, 0x226,
        0x22A, 0x22C, 0x22E, 0x3F8, 0x3F9, 0x3FA, 0x3FB, 0x3FC, 0x3FD, 0x3FE, 0x3FF,
    ];

    #[derive(Debug, Clone)]
    enum Step {
        Write(u16, u8),
        Read(u16),
        Run(u64),
        Input(Input),
    }

    fn step() -> impl Strategy<Value = Step> {
        let port = prop::sample::select(PORTS);
        prop_oneof![
            (port.clone(), any::<u8>()).prop_map(|(p, v)| Step::Write(p, v)),
            port.prop_map(Step::Read),
            (1u64..5_000).prop_map(Step::Run),
            any::<u8>().prop_map(|scancode| Step::Input(Input::Key { scancode })),
            (0u8..20).prop_map(|line| Step::Input(Input::Irq { line })),
            any::<u8>().prop_map(|byte| Step::Input(Input::SerialRx { byte })),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 1_000,
            rng_seed: RngSeed::Fixed(0x5EED_0003),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Random chipset programming and inputs between runs of zeroed memory (which
        /// executes as ADD [BX+SI],AL): no panic, and the run is repeatable.
        #[test]
        fn random_chipset_traffic_never_panics(steps in prop::collection::vec(step(), 1..60)) {
            let config = MachineConfig { ram: 1 << 20, ..MachineConfig::default() };
            let play = || {
                let mut m = Machine::new(config).expect("1 MiB is a valid RAM size");
                for s in &steps {
                    match *s {
                        Step::Write(p, v) => m.io_write(p, v),
                        Step::Read(p) => { m.io_read(p); }
                        Step::Run(n) => { m.run_until(m.now() + n); }
                        Step::Input(i) => {
                            let bad_line = matches!(i, Input::Irq { line } if line > 15);
                            assert_eq!(m.inject(i).is_err(), bad_line, "{i:?}");
                        }
                    }
                }
                m.state_hash().expect("the state encodes")
            };
            prop_assert_eq!(play(), play());
        }
    }
}

#[test]
fn host_clock_mode_takes_timer_interrupts_from_inputs_only() {
    use vexed_emu::machine::{ClockMode, InputError};
    // The chipset ROM waits for five timer interrupts. With the host clock, the 8254 raises
    // none by itself: the ROM waits until five TimerTick inputs arrive.
    let config = MachineConfig {
        clock: ClockMode::Host,
        ..MachineConfig::default()
    };
    let mut m = Machine::new(config).expect("valid configuration");
    m.load_rom(ROM).expect("the ROM is 64 KiB");
    m.run_until(2_000_000);
    assert_eq!(
        String::from_utf8_lossy(m.debug_output()),
        "vexed chipset ROM\n"
    );
    let mut stops = Vec::new();
    for k in 1..=5 {
        m.inject(Input::TimerTick)
            .expect("host clock mode takes timer ticks");
        stops.push(m.run_until(2_000_000 + k * 100_000));
    }
    // Four ticks leave the ROM waiting; the fifth lets it finish and exit.
    assert_eq!(stops[..4], [Stop::Deadline; 4]);
    assert_eq!(stops[4], Stop::ExitPort(0));
    assert_eq!(String::from_utf8_lossy(m.debug_output()), EXPECTED);
    // A virtual-clock machine refuses them: its timer is a consequence of the program.
    let mut v = machine(Model::I80386);
    assert_eq!(
        v.inject(Input::TimerTick),
        Err(InputError::TimerTickInVirtualClock)
    );
}

#[test]
fn dma_done_input_completes_the_transfer_at_once() {
    // The devices ROM starts a 64-byte DSP transfer at 10,989 Hz (about 5.8 ms, ~146,000
    // ticks at 25 MHz). An Input::DmaDone on channel 1 completes it at the tick it is
    // injected: the 8237 moves the bytes, the DSP counts them and raises IRQ 5. The same
    // input for another channel changes nothing.
    let mut m = machine_with(Model::I80386, DEVICES_ROM);
    while m.bus().sb.pending_transfer().is_none() {
        assert_eq!(
            m.run_until(m.now() + 100),
            Stop::Deadline,
            "the ROM starts a transfer"
        );
    }
    let at = m.now();
    m.inject(Input::DmaDone { channel: 3 })
        .expect("a valid input");
    assert!(m.bus().sb.pending_transfer().is_some());
    m.inject(Input::DmaDone { channel: 1 })
        .expect("a valid input");
    assert_eq!(m.bus().sb.bytes_played(), 64);
    assert!(m.bus().sb.pending_transfer().is_none());
    assert!(m.bus().sb.irq());
    // The ROM's IRQ 5 handler runs and it finishes well before the samples would have played.
    assert_eq!(m.run_until(at + 50_000), Stop::ExitPort(0));
    assert!(String::from_utf8_lossy(m.debug_output()).ends_with("terminal count: ok\ndone\n"));
}

#[test]
fn word_port_writes_reach_two_byte_ports() {
    // ISA ports are 8 bits wide: OUT DX,AX writes AL to DX and AH to DX+1. Here a word write
    // to 20h/21h: AL = 11h is ICW1 to the master (20h), AH = 30h its ICW2 (21h), so IRQ0
    // (after ICW3/ICW4 and unmasking) arrives as vector 30h.
    use vexed_emu::bus::{Bus, IoSize};
    let mut m = machine(Model::I80386);
    m.bus_mut().io_write(0x20, IoSize::Word, 0x3011);
    m.io_write(0x21, 0x04); // ICW3
    m.io_write(0x21, 0x01); // ICW4
    m.io_write(0x21, 0xFE); // OCW1: IRQ0 only
    m.inject(Input::Irq { line: 0 }).expect("a valid input");
    assert_eq!(m.bus_mut().pic.acknowledge(), 0x30);
    // And a word read is the two bytes, low port first: IMR (21h) then port 22h (open, FFh).
    assert_eq!(m.bus_mut().io_read(0x21, IoSize::Word), 0xFFFE);
}
