//! Observations: what the machine reports to the outside (DESIGN.md section 4).
//!
//! They are domain events, not per-instruction traces: calls into the XMS and EMS drivers
//! and the bottom of the Int 2Fh chain with their results, console output, programs
//! starting, ending and staying resident. The machine queues each with the tick at which it
//! happened ([`crate::machine::Machine::take_observations`]); a recorder stores them in the
//! trace and replay compares them one by one, so the first behavioural difference between
//! two runs (or two builds) is named with its tick.
//!
//! The enum is part of the trace format: variants and fields are only ever appended
//! (bincode encodes the variant index), never reordered or removed.

use serde::{Deserialize, Serialize};

/// General registers around a service call (the 16-bit halves; the XMS 8xh functions'
/// 32-bit results are in the `e*` fields).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Regs {
    pub ax: u16,
    pub bx: u16,
    pub cx: u16,
    pub dx: u16,
    pub si: u16,
    pub di: u16,
    pub ds: u16,
    pub es: u16,
}

/// One thing the machine reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Observation {
    /// A call of the XMS driver entry (function in `input.ax` high byte): registers before
    /// and after. Failure is AX=0 with the error in BL (XMS 3.0).
    Xms { input: Regs, output: Regs },
    /// An Int 67h call reaching the EMS driver; status in `output.ax` high byte.
    Ems { input: Regs, output: Regs },
    /// An Int 2Fh call that reached the end of the chain (DOS), after every hooked handler
    /// passed it on.
    Multiplex { input: Regs, output: Regs },
    /// Bytes written to the console (DOS output and Int 10h teletype), as one service wrote
    /// them.
    Console { bytes: Vec<u8> },
    /// DOS started a program: its PSP segment and DOS path.
    ProgramStart { psp: u16, path: String },
    /// A program ended (AH=4Dh's code and type: 0 normal, 1 Ctrl-C/divide error, 3
    /// resident).
    ProgramExit { psp: u16, code: u8, kind: u8 },
    /// A program stayed resident, keeping `paragraphs` of its PSP block.
    TsrInstalled { psp: u16, paragraphs: u16 },
    /// When the last program has ended: every allocated XMS block with a hash of its
    /// contents, so a golden trace pins the data a run left in extended memory.
    XmsBlocks { blocks: Vec<XmsBlock> },
}

/// One extended memory block at the end of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct XmsBlock {
    pub handle: u16,
    pub size_kb: u32,
    pub locks: u8,
    /// xxh3-64 of the block's bytes.
    pub hash: u64,
}

impl Observation {
    /// A short name for the kind (stable; used in dumps and reports).
    pub fn kind(&self) -> &'static str {
        match self {
            Observation::Xms { .. } => "xms",
            Observation::Ems { .. } => "ems",
            Observation::Multiplex { .. } => "int2f",
            Observation::Console { .. } => "console",
            Observation::ProgramStart { .. } => "start",
            Observation::ProgramExit { .. } => "exit",
            Observation::TsrInstalled { .. } => "tsr",
            Observation::XmsBlocks { .. } => "xms-blocks",
        }
    }
}

impl std::fmt::Display for Observation {
    /// One line: the kind and its details, e.g. `xms AH=09 in AX=0900 BX=0000 DX=0040 ->
    /// AX=0001 BX=0000 DX=ABCD`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let regs = |f: &mut std::fmt::Formatter<'_>, r: &Regs| {
            write!(
                f,
                "AX={:04X} BX={:04X} CX={:04X} DX={:04X} SI={:04X} DI={:04X} DS={:04X} ES={:04X}",
                r.ax, r.bx, r.cx, r.dx, r.si, r.di, r.ds, r.es
            )
        };
        match self {
            Observation::Xms { input, output }
            | Observation::Ems { input, output }
            | Observation::Multiplex { input, output } => {
                write!(f, "{} ", self.kind())?;
                regs(f, input)?;
                write!(f, " -> ")?;
                regs(f, output)
            }
            Observation::Console { bytes } => {
                write!(f, "console \"")?;
                for &b in bytes {
                    match b {
                        b'\r' => write!(f, "\\r")?,
                        b'\n' => write!(f, "\\n")?,
                        b'"' => write!(f, "\\\"")?,
                        b'\\' => write!(f, "\\\\")?,
                        0x20..=0x7E => write!(f, "{}", char::from(b))?,
                        _ => write!(f, "\\x{b:02x}")?,
                    }
                }
                write!(f, "\"")
            }
            Observation::ProgramStart { psp, path } => write!(f, "start PSP={psp:04X} {path}"),
            Observation::ProgramExit { psp, code, kind } => {
                write!(f, "exit PSP={psp:04X} code={code} type={kind}")
            }
            Observation::TsrInstalled { psp, paragraphs } => {
                write!(f, "tsr PSP={psp:04X} keeps {paragraphs:04X}h paragraphs")
            }
            Observation::XmsBlocks { blocks } => {
                write!(f, "xms-blocks {}", blocks.len())?;
                for b in blocks {
                    write!(
                        f,
                        " [handle {:04X} {} KB locks {} xxh3 {:016x}]",
                        b.handle, b.size_kb, b.locks, b.hash
                    )?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_stable_text() {
        let o = Observation::Console {
            bytes: b"ok\r\n\"\x01".to_vec(),
        };
        assert_eq!(o.to_string(), r#"console "ok\r\n\"\x01""#);
        let o = Observation::ProgramExit {
            psp: 0x1234,
            code: 3,
            kind: 0,
        };
        assert_eq!(o.to_string(), "exit PSP=1234 code=3 type=0");
    }
}
