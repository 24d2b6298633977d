//! `vexed-replay`: sessions over the machine and the `vexed` command line.
//!
//! Today: CPU conformance against real-hardware vectors ([`conformance`]) and the CPU
//! benchmark ([`bench`]). Record, replay, diff, bisect, seek and fuzz sessions arrive with
//! the trace format. Front-end conveniences (host clock, threads, files) live here, never in
//! `vexed-emu`.

pub mod bench;
pub mod conformance;
