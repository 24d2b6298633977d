//! `vexed-replay`: sessions over the machine and the `vexed` command line.
//!
//! Today: CPU conformance against real-hardware vectors ([`conformance`]), the CPU
//! benchmark ([`bench`]), bare-ROM boot ([`boot`]), and DOS programs and scenarios on the
//! Rust firmware ([`run`], [`scenario`], with drive C: loaded by [`drive`]). Record, replay, diff, bisect, seek and fuzz sessions arrive with
//! the trace format. Front-end conveniences (host clock, threads, files) live here, never in
//! `vexed-emu`.

pub mod bench;
pub mod boot;
pub mod conformance;
pub mod disasm;
pub mod drive;
pub mod fuzz;
pub mod run;
pub mod scenario;
pub mod schedule;
pub mod seek;
pub mod session;
pub mod source;
pub mod statediff;
pub mod timeline;
