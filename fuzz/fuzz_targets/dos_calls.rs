//! Fuzz target: any bytes as a sequence of DOS (INT 21h), multiplex (INT 2Fh), EMS (INT 67h)
//! and XMS (far call) calls made by a guest program on a booted machine. The body and its
//! invariants are `vexed_tests::fuzzing::dos_calls`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vexed_tests::fuzzing::dos_calls(data));
