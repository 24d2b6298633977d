//! `vexed-trace`: the trace file format (DESIGN.md section 5).
//!
//! This crate will hold the format and nothing else: header, frames, records, the streaming
//! reader and writer, and the stable dump text. It depends on `vexed-emu` for the types of
//! inputs and observations; `vexed-replay` depends on it. The format itself is built by the
//! record/replay issue (#5); until then the crate is empty so that the workspace already has
//! its final shape and dependency direction (`emu` <- `trace` <- `replay`).
