//! Integration tests for vexed live in `tests/tests/`: CPU conformance against the
//! SingleStepTests vectors, 80386 instruction tests, and property tests (no input makes the
//! CPU panic; the decoded-block cache never changes behaviour). This library only holds what
//! those tests share.

use std::path::PathBuf;

pub mod fuzzing;

/// The SingleStepTests vectors: `$VEXED_SST_DIR`, or `../shared/sst` next to the workspace
/// (the full sets: 1,000 tests per 8086 opcode file, 500 per 80286 file), or else the subset
/// committed in `tests/data/sst` (the first 25 tests of every file, MIT licence beside
/// them), so that `cargo test` on a fresh clone with nothing next to it still checks every
/// opcode against real hardware.
pub fn sst_dir() -> PathBuf {
    match std::env::var_os("VEXED_SST_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/sst");
            if shared.join("8086/metadata.json").is_file() {
                shared
            } else {
                bundled_sst_dir()
            }
        }
    }
}

/// The subset of the SingleStepTests vectors committed in this repository.
pub fn bundled_sst_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/sst")
}

/// The repository's `corpora` directory.
pub fn corpora_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpora")
}

/// `cases` proptest cases from the fixed `seed` (or the one in `PROPTEST_RNG_SEED`), with
/// no persistence files in the source tree: CI is repeatable, and a developer explores
/// other seeds through the environment.
pub fn proptest_config(cases: u32, seed: u64) -> proptest::prelude::ProptestConfig {
    use proptest::test_runner::RngSeed;
    let base = proptest::prelude::ProptestConfig::default();
    let rng_seed = match base.rng_seed {
        RngSeed::Random => RngSeed::Fixed(seed),
        chosen => chosen,
    };
    proptest::prelude::ProptestConfig {
        cases,
        rng_seed,
        failure_persistence: None,
        ..base
    }
}

/// A bundled scenario (`corpora/NAME.toml`) and its manifest text.
pub fn scenario(name: &str) -> (vexed_replay::scenario::Scenario, String) {
    let path = corpora_dir().join(format!("{name}.toml"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    };
    match vexed_replay::scenario::Scenario::load(&path) {
        Ok(s) => (s, text),
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

/// A build of vexed whose XMS driver answers function 02h (release the HMA) with BL=90h
/// instead of XMS 3.0's 93h when the HMA is not allocated: the divergence tools' tests
/// plant it as a known change of behaviour (`Firmware::plant_xms_error`).
pub fn release_hma_says_90h(m: &mut vexed_emu::machine::Machine) {
    if let Some(f) = m.firmware_mut() {
        f.plant_xms_error(0x02, 0x90);
    }
}

/// Boots a bare 64 KiB ROM image on `model` (`vexed boot`) for at most `ticks` ticks:
/// what it wrote to the debug ports and how the run ended.
pub fn boot_rom(
    model: vexed_emu::cpu::Model,
    rom: &[u8],
    ticks: u64,
) -> (String, vexed_replay::boot::BootEnd) {
    let config = vexed_emu::machine::MachineConfig {
        model,
        ..vexed_emu::machine::MachineConfig::default()
    };
    let mut out = Vec::new();
    let report = vexed_replay::boot::boot(config, rom, ticks, &mut out).expect("boot runs");
    (String::from_utf8_lossy(&out).into_owned(), report.end)
}

/// The same ROM run through the interpreter alone (the decoded-block cache off), for
/// differential tests: its debug output and how the run stopped.
pub fn run_rom_without_blocks(
    model: vexed_emu::cpu::Model,
    rom: &[u8],
    ticks: u64,
) -> (String, vexed_emu::machine::Stop) {
    let config = vexed_emu::machine::MachineConfig {
        model,
        ..vexed_emu::machine::MachineConfig::default()
    };
    let mut m = vexed_emu::machine::Machine::new(config).expect("the default configuration");
    m.load_rom(rom).expect("the ROM is 64 KiB");
    m.cpu_mut().set_block_cache(false);
    let stop = m.run_until(ticks);
    (String::from_utf8_lossy(m.debug_output()).into_owned(), stop)
}
