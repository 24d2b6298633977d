//! PC chipset devices, one chip per file (DESIGN.md section 1).
//!
//! `pic.rs`, `pit.rs` and `dma.rs` run past 800 lines because their datasheet tests (about
//! 350-400 lines each) live beside the code they check; the models are about 500 lines.

pub mod dma;
pub mod kbc;
pub mod pic;
pub mod pit;
pub mod rtc;
pub mod sb;
pub mod uart;
