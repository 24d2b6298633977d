//! Fuzz target: any bytes as a scenario manifest (TOML), parsed by `Scenario::parse` and,
//! when accepted, built and booted. The body and its invariants are
//! `vexed_tests::fuzzing::scenario_manifest`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vexed_tests::fuzzing::scenario_manifest(data));
