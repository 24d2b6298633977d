//! How a recorded run ended: the typed end of run stored in the footer (FORMAT.md, "The
//! footer"; DESIGN.md section 5), made from the machine's `Stop` (`vexed_emu::machine`) and
//! the firmware's `FirmwareStop` (`vexed_emu::firmware`).

use std::fmt;

use serde::{Deserialize, Serialize};
use vexed_emu::firmware::FirmwareStop;
use vexed_emu::machine::Stop;

/// How a recorded run ended (the footer's `end`).
///
/// APPEND-ONLY: bincode stores the variant index (0 `Finished` ... 8 `Described`, 9 `FirmwarePageFault`), so a
/// variant is never reordered, removed or changed; new ones go at the end (FORMAT.md,
/// "Versions").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunEnd {
    /// Every program of the shell ran; `exit_code` is the last one's.
    Finished { exit_code: u8 },
    /// The shell could not start program number `index` (0-based): DOS error `error`.
    ExecFailed { index: u32, error: u16 },
    /// The CPU raised exception `vector` at `cs:ip` and no handler took it.
    GuestFault { vector: u8, cs: u16, ip: u16 },
    /// The guest reset the machine after DOS had booted.
    Reset,
    /// `HLT` with interrupts disabled: nothing but a reset could wake the CPU.
    HaltedForever,
    /// The guest wrote this value to the exit port.
    ExitPort(u8),
    /// The run reached the header's `max_ticks` (the scenario's limit, or the recorder's
    /// `--max-ticks`, which the recorder writes into the header).
    TickLimit,
    /// The recorder ended the run before the header's `max_ticks` for a reason of its own
    /// (the machine did not stop by itself and the tick limit was not reached: a user
    /// interrupt, or a host-side limit that the header does not record).
    Stopped,
    /// A version 1 or 2 footer's free text that names none of the above (read as is).
    Described(String),
    /// A firmware service called from `cs:ip` reached for linear address `linear`, which
    /// the guest's page tables did not map for it (#PF error code `code`).
    FirmwarePageFault {
        linear: u32,
        code: u16,
        cs: u16,
        ip: u16,
    },
}

impl RunEnd {
    /// The end of a run whose last `run_until` returned `stop` with the machine at tick
    /// `now`, the run's tick limit being `max_ticks`. A `Stop::Deadline` is the tick limit
    /// when `now >= max_ticks`, and [`RunEnd::Stopped`] before it.
    pub fn from_stop(stop: Stop, now: u64, max_ticks: u64) -> RunEnd {
        match stop {
            Stop::Firmware(f) => RunEnd::from(f),
            Stop::HaltedForever => RunEnd::HaltedForever,
            Stop::ExitPort(c) => RunEnd::ExitPort(c),
            Stop::Deadline if now >= max_ticks => RunEnd::TickLimit,
            Stop::Deadline => RunEnd::Stopped,
        }
    }

    /// Whether every program finished ([`RunEnd::Finished`]).
    pub fn is_finished(&self) -> bool {
        matches!(self, RunEnd::Finished { .. })
    }

    /// A short stable name of the variant, for JSON and scripts: `finished`,
    /// `exec-failed`, `guest-fault`, `reset`, `halted-forever`, `exit-port`, `tick-limit`,
    /// `stopped`, `described`, `firmware-page-fault`.
    pub fn kind(&self) -> &'static str {
        match self {
            RunEnd::Finished { .. } => "finished",
            RunEnd::ExecFailed { .. } => "exec-failed",
            RunEnd::GuestFault { .. } => "guest-fault",
            RunEnd::Reset => "reset",
            RunEnd::HaltedForever => "halted-forever",
            RunEnd::ExitPort(_) => "exit-port",
            RunEnd::TickLimit => "tick-limit",
            RunEnd::Stopped => "stopped",
            RunEnd::Described(_) => "described",
            RunEnd::FirmwarePageFault { .. } => "firmware-page-fault",
        }
    }

    /// The firmware's own stop, for the variants that are one (not `Finished`, whose
    /// sentence here is the recorder's).
    fn firmware_stop(&self) -> Option<FirmwareStop> {
        match *self {
            RunEnd::ExecFailed { index, error } => Some(FirmwareStop::ExecFailed {
                index: usize::try_from(index).unwrap_or(usize::MAX),
                error,
            }),
            RunEnd::GuestFault { vector, cs, ip } => {
                Some(FirmwareStop::GuestFault { vector, cs, ip })
            }
            RunEnd::Reset => Some(FirmwareStop::Reset),
            RunEnd::FirmwarePageFault {
                linear,
                code,
                cs,
                ip,
            } => Some(FirmwareStop::PageFault {
                linear,
                code,
                cs,
                ip,
            }),
            _ => None,
        }
    }
}

impl From<FirmwareStop> for RunEnd {
    fn from(f: FirmwareStop) -> RunEnd {
        match f {
            FirmwareStop::Finished { exit_code } => RunEnd::Finished { exit_code },
            FirmwareStop::ExecFailed { index, error } => RunEnd::ExecFailed {
                // The shell's program list is far shorter than 2^32.
                index: u32::try_from(index).unwrap_or(u32::MAX),
                error,
            },
            FirmwareStop::GuestFault { vector, cs, ip } => RunEnd::GuestFault { vector, cs, ip },
            FirmwareStop::Reset => RunEnd::Reset,
            FirmwareStop::PageFault {
                linear,
                code,
                cs,
                ip,
            } => RunEnd::FirmwarePageFault {
                linear,
                code,
                cs,
                ip,
            },
        }
    }
}

/// One sentence, the words the recorder has always written into footers: `finished (exit
/// code 0)`, `tick limit`, `halted with interrupts disabled`, `exit port 01h`, `stopped`,
/// and `FirmwareStop`'s own sentence for a failed start, a guest fault or a reset.
impl fmt::Display for RunEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(stop) = self.firmware_stop() {
            return write!(f, "{stop}");
        }
        match self {
            RunEnd::Finished { exit_code } => write!(f, "finished (exit code {exit_code})"),
            RunEnd::HaltedForever => f.write_str("halted with interrupts disabled"),
            RunEnd::ExitPort(c) => write!(f, "exit port {c:02X}h"),
            RunEnd::TickLimit => f.write_str("tick limit"),
            RunEnd::Stopped => f.write_str("stopped"),
            RunEnd::Described(text) => f.write_str(text),
            // Handled above.
            RunEnd::ExecFailed { .. }
            | RunEnd::GuestFault { .. }
            | RunEnd::Reset
            | RunEnd::FirmwarePageFault { .. } => Ok(()),
        }
    }
}

/// The typed end of a version 1 or 2 footer's text: the sentences the recorder wrote (see
/// [`RunEnd`]'s `Display`, and `FirmwareStop`'s, including its `all programs finished (last
/// exit code N)`), and [`RunEnd::Described`] for any other text. A text is only mapped when
/// the value found writes back exactly that text, so nothing is guessed.
pub(crate) fn from_old_text(text: &str) -> RunEnd {
    let candidate = parse_old_text(text);
    let same = candidate.as_ref().is_some_and(|end| {
        end.to_string() == text
            || matches!(*end, RunEnd::Finished { exit_code }
                if FirmwareStop::Finished { exit_code }.to_string() == text)
    });
    match candidate {
        Some(end) if same => end,
        _ => RunEnd::Described(text.to_string()),
    }
}

/// What `text` would be if it is one of the old sentences (checked by the caller).
fn parse_old_text(text: &str) -> Option<RunEnd> {
    match text {
        "tick limit" => return Some(RunEnd::TickLimit),
        "halted with interrupts disabled" => return Some(RunEnd::HaltedForever),
        "stopped" => return Some(RunEnd::Stopped),
        _ => {}
    }
    if text == FirmwareStop::Reset.to_string() {
        return Some(RunEnd::Reset);
    }
    if let Some(rest) = text
        .strip_prefix("finished (exit code ")
        .or_else(|| text.strip_prefix("all programs finished (last exit code "))
    {
        let code = rest.strip_suffix(')')?;
        return Some(RunEnd::Finished {
            exit_code: code.parse().ok()?,
        });
    }
    if let Some(rest) = text.strip_prefix("exit port ") {
        let hex = rest.strip_suffix('h')?;
        return Some(RunEnd::ExitPort(u8::from_str_radix(hex, 16).ok()?));
    }
    if let Some(rest) = text.strip_prefix("program ") {
        // "program N could not be started: DOS error XXh (...)", N counting from 1.
        let (n, rest) = rest.split_once(" could not be started: DOS error ")?;
        let (hex, _) = rest.split_once("h (")?;
        let n: u32 = n.parse().ok()?;
        return Some(RunEnd::ExecFailed {
            index: n.checked_sub(1)?,
            error: u16::from_str_radix(hex, 16).ok()?,
        });
    }
    if text.starts_with("the guest crashed: ") {
        // "... (interrupt VVh) at CCCC:IIII with no handler".
        let (_, rest) = text.rsplit_once("(interrupt ")?;
        let (vector, rest) = rest.split_once("h) at ")?;
        let (cs, rest) = rest.split_once(':')?;
        let ip = rest.strip_suffix(" with no handler")?;
        return Some(RunEnd::GuestFault {
            vector: u8::from_str_radix(vector, 16).ok()?,
            cs: u16::from_str_radix(cs, 16).ok()?,
            ip: u16::from_str_radix(ip, 16).ok()?,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of every variant.
    fn every_end() -> Vec<RunEnd> {
        vec![
            RunEnd::Finished { exit_code: 0 },
            RunEnd::Finished { exit_code: 255 },
            RunEnd::ExecFailed { index: 0, error: 2 },
            RunEnd::ExecFailed {
                index: 7,
                error: 0x1234,
            },
            RunEnd::GuestFault {
                vector: 6,
                cs: 0x1234,
                ip: 0xABCD,
            },
            RunEnd::GuestFault {
                vector: 0x0D,
                cs: 0,
                ip: 0,
            },
            RunEnd::Reset,
            RunEnd::HaltedForever,
            RunEnd::ExitPort(0),
            RunEnd::ExitPort(0xA5),
            RunEnd::TickLimit,
            RunEnd::Stopped,
        ]
    }

    #[test]
    fn the_sentences_are_those_the_recorder_wrote() {
        // The texts of replay's `end_text` before the footer was typed.
        let cases = [
            (RunEnd::Finished { exit_code: 3 }, "finished (exit code 3)"),
            (RunEnd::TickLimit, "tick limit"),
            (RunEnd::HaltedForever, "halted with interrupts disabled"),
            (RunEnd::ExitPort(0x0A), "exit port 0Ah"),
            (RunEnd::Stopped, "stopped"),
            (
                RunEnd::Reset,
                "the guest reset the machine after DOS had booted",
            ),
            (
                RunEnd::ExecFailed { index: 1, error: 2 },
                "program 2 could not be started: DOS error 02h (file not found)",
            ),
            (
                RunEnd::GuestFault {
                    vector: 0,
                    cs: 0x0F00,
                    ip: 0x0102,
                },
                "the guest crashed: divide error (interrupt 00h) at 0F00:0102 with no handler",
            ),
            (RunEnd::Described("my words".into()), "my words"),
        ];
        for (end, text) in cases {
            assert_eq!(end.to_string(), text);
        }
    }

    #[test]
    fn from_stop_follows_the_machine() {
        let fault = FirmwareStop::GuestFault {
            vector: 6,
            cs: 1,
            ip: 2,
        };
        assert_eq!(
            RunEnd::from_stop(Stop::Firmware(fault), 5, 10),
            RunEnd::GuestFault {
                vector: 6,
                cs: 1,
                ip: 2
            }
        );
        assert_eq!(
            RunEnd::from_stop(
                Stop::Firmware(FirmwareStop::ExecFailed { index: 4, error: 8 }),
                5,
                10
            ),
            RunEnd::ExecFailed { index: 4, error: 8 }
        );
        assert_eq!(
            RunEnd::from_stop(
                Stop::Firmware(FirmwareStop::Finished { exit_code: 9 }),
                5,
                10
            ),
            RunEnd::Finished { exit_code: 9 }
        );
        assert_eq!(
            RunEnd::from_stop(Stop::Firmware(FirmwareStop::Reset), 5, 10),
            RunEnd::Reset
        );
        assert_eq!(
            RunEnd::from_stop(Stop::HaltedForever, 5, 10),
            RunEnd::HaltedForever
        );
        assert_eq!(
            RunEnd::from_stop(Stop::ExitPort(7), 5, 10),
            RunEnd::ExitPort(7)
        );
        assert_eq!(RunEnd::from_stop(Stop::Deadline, 10, 10), RunEnd::TickLimit);
        assert_eq!(RunEnd::from_stop(Stop::Deadline, 11, 10), RunEnd::TickLimit);
        assert_eq!(RunEnd::from_stop(Stop::Deadline, 9, 10), RunEnd::Stopped);
        // A stop of the machine wins over the tick limit.
        assert_eq!(
            RunEnd::from_stop(Stop::HaltedForever, 10, 10),
            RunEnd::HaltedForever
        );
    }

    #[test]
    fn every_old_sentence_reads_back_as_its_value() {
        for end in every_end() {
            assert_eq!(from_old_text(&end.to_string()), end, "{end}");
        }
        // FirmwareStop's sentence for a finished shell (what old footers could hold too).
        assert_eq!(
            from_old_text("all programs finished (last exit code 0)"),
            RunEnd::Finished { exit_code: 0 }
        );
        assert_eq!(
            from_old_text("all programs finished (last exit code 200)"),
            RunEnd::Finished { exit_code: 200 }
        );
    }

    #[test]
    fn other_texts_are_kept_as_described() {
        for text in [
            "",
            "end",
            "finished",
            "finished (exit code 256)",
            "finished (exit code -1)",
            "finished (exit code 01)",
            "finished (exit code 1) ",
            "exit port 1h",
            "exit port 0ah",
            "exit port 100h",
            "program 0 could not be started: DOS error 02h (file not found)",
            "program 1 could not be started: DOS error 02h (wrong text)",
            "the guest crashed: divide error (interrupt 06h) at 0000:0000 with no handler",
            "the guest crashed: x (interrupt 00h) at 00:0 with no handler",
            "Tick limit",
            "tick limit\n",
        ] {
            assert_eq!(
                from_old_text(text),
                RunEnd::Described(text.to_string()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn kinds_are_stable_and_distinct() {
        let mut kinds: Vec<&str> = every_end().iter().map(RunEnd::kind).collect();
        kinds.push(RunEnd::Described(String::new()).kind());
        kinds.dedup();
        assert_eq!(
            kinds,
            [
                "finished",
                "exec-failed",
                "guest-fault",
                "reset",
                "halted-forever",
                "exit-port",
                "tick-limit",
                "stopped",
                "described"
            ]
        );
        assert!(RunEnd::Finished { exit_code: 1 }.is_finished());
        assert!(!RunEnd::TickLimit.is_finished());
        assert!(!RunEnd::Described("finished (exit code 0)".into()).is_finished());
    }

    #[test]
    fn variant_indexes_are_fixed() {
        // The on-disk variant index of each end (FORMAT.md): never change these.
        let first = |e: &RunEnd| crate::codec::encode(e).unwrap()[0];
        let mut ends = every_end();
        ends.dedup_by(|a, b| a.kind() == b.kind());
        ends.push(RunEnd::Described("x".into()));
        let indexes: Vec<u8> = ends.iter().map(first).collect();
        assert_eq!(indexes, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            crate::codec::encode(&RunEnd::ExecFailed {
                index: 1,
                error: 0x102
            })
            .unwrap(),
            [1, 1, 0xFB, 0x02, 0x01]
        );
        assert_eq!(
            crate::codec::encode(&RunEnd::ExitPort(0xFF)).unwrap(),
            [5, 0xFF]
        );
        assert_eq!(
            crate::codec::encode(&RunEnd::Described("ab".into())).unwrap(),
            [8, 2, b'a', b'b']
        );
    }

    #[test]
    fn a_footer_encodes_as_format_md_says() {
        // FORMAT.md, "The footer": final_tick 10, final_hash 7, Finished with exit code 0,
        // one checkpoint in one frame.
        let footer = crate::Footer {
            final_tick: 10,
            final_hash: 7,
            end: RunEnd::Finished { exit_code: 0 },
            counts: crate::Counts {
                checkpoints: 1,
                frames: 1,
                ..crate::Counts::default()
            },
        };
        assert_eq!(
            crate::codec::encode(&footer).unwrap(),
            [0x0A, 0x07, 0, 0, 0, 0, 1, 0, 1]
        );
    }
}
