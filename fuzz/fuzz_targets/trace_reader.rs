//! Fuzz target: any bytes as a trace file (trace/FORMAT.md), read, dumped and summarized by
//! `vexed_trace`. The body and its invariants are `vexed_tests::fuzzing::trace_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| vexed_tests::fuzzing::trace_file(data));
