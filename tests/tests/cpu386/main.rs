//! 80386 real-address-mode extensions, instruction by instruction.
//!
//! Every program runs on `Model::I80386` in real mode at 1000:0100 and ends with `HLT`. The
//! expected values come from the instruction definitions of the Intel *80386 Programmer's
//! Reference Manual* (1986), chapter 17, or from plain arithmetic; each test names the rule
//! it checks in one comment line. Flags the manual leaves undefined are never asserted.
//!
//! Every program is run twice, with the decoded-block cache on and off, and the two final
//! machine states must be identical.
//!
//! Memory layout: IVT at 0, the handler of vector `v` is a `HLT` at 0000:0500+v, code at
//! 1000:0100, DS = 2000h, ES = 4000h, SS:SP = 3000:FFF0.

mod harness;

mod arithmetic;
mod bit_ops;
mod control_flow;
mod prefixes;
mod stack;
mod strings;
mod system;
