//! `vexed-replay`: sessions over the machine and the `vexed` command line.
//!
//! CPU conformance against real-hardware vectors ([`conformance`]), the CPU benchmark
//! ([`bench`]), bare-ROM boot ([`boot`]), DOS programs and scenarios on the Rust firmware
//! ([`run`], [`scenario`], with drive C: loaded by [`drive`]), and the trace sessions:
//! record and replay ([`session`], inputs from [`source`]), paged snapshots
//! ([`snapshots`]), seeking ([`seek`], on a [`cursor`]), comparing two runs to the first
//! differing instruction ([`diff`], with machine-state differences from [`statediff`]),
//! localizing a replay's divergence ([`localize`]), fuzzing ([`fuzz`]), the VMM schedule
//! ([`schedule`], [`timeline`]). Front-end conveniences (host clock, threads, files) live
//! here, never in `vexed-emu`.
//!
//! Deviation from DESIGN.md sections 5 and 6 ("optional snapshots", "snapshot =
//! zstd(bincode(state))"): `vexed record` stores snapshots by default (every 16th
//! checkpoint), and they are paged: the state without its memory store, plus the 4 KiB store
//! pages changed since the previous snapshot (trace/FORMAT.md, "Paged snapshots"), so that
//! seeking and localizing are fast on long runs while traces stay small.

pub mod bench;
pub mod boot;
pub mod conformance;
pub mod cursor;
pub mod debug;
pub mod diff;
pub mod disasm;
pub mod drive;
pub mod engine;
pub mod explore;
pub mod fuzz;
pub mod localize;
pub mod outfile;
pub mod recording;
pub mod run;
pub mod scenario;
pub mod schedule;
pub mod seek;
pub mod session;
pub mod snapshots;
pub mod source;
pub mod statediff;
pub mod suite;
pub mod timeline;
