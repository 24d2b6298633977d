//! CONFIG.SYS: the lines of `C:\CONFIG.SYS` as MS-DOS 5 reads them, and the messages it
//! prints for the bad ones. Parsing only; `sysinit.rs` acts on the result at boot.
//!
//! Sources: the MS-DOS 5 User's Guide and Reference, chapter "Customizing your system"
//! and the CONFIG.SYS commands (BREAK, BUFFERS, COUNTRY, DEVICE, DEVICEHIGH, DOS, DRIVPARM,
//! FCBS, FILES, INSTALL, LASTDRIVE, REM, SHELL, STACKS, SWITCHES, with their ranges:
//! FILES 8-255, BUFFERS 1-99 with 0-8 secondary buffers, LASTDRIVE A-Z); the messages of
//! MS-DOS's SYSINIT (the MS-DOS 2.0 and 4.0 sources, SYSIMES.ASM and SYSINIT1.ASM:
//! `BADOPM` "Unrecognized command in CONFIG.SYS", `BADLD` "Bad or missing ", and the
//! line-number message "Error in CONFIG.SYS line N" of DOS 4 and later, each preceded by
//! CR LF); RBIL INT 21/AH=52h for where BUFFERS and LASTDRIVE land.
//!
//! # Rules
//!
//! - A line is a keyword, optional blanks, then `=` or a blank, then the value. Keywords
//!   are case-insensitive. Blank lines are skipped; a Ctrl-Z (1Ah) ends the file. Lines are
//!   numbered from 1, counting every line of the file.
//! - An unknown keyword, or `DEVICE=` with no file name, is "Unrecognized command in
//!   CONFIG.SYS"; a value out of range or malformed is "Bad command or parameters - "
//!   followed by the value (MS-DOS 4 and 5's parser message). Each is followed by "Error
//!   in CONFIG.SYS line N". The line is then ignored and the next one is read.
//! - `DEVICE=`, `DEVICEHIGH=` and `INSTALL=` keep their value as written (the driver sees
//!   the text after the `=`, [`Directive::Device::line`]); the file name is its first word.
//!   `DEVICEHIGH SIZE=hex` (DOS 5's form with a size) is accepted and the size ignored.
//! - Directives this DOS has nothing to apply to (COUNTRY, DRIVPARM, FCBS, STACKS,
//!   SWITCHES, REM) are recognized and ignored ([`Directive::Ignored`]).

use std::fmt;

/// A CONFIG.SYS command MS-DOS 5 knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Directive {
    /// `DEVICE=` (`high`: `DEVICEHIGH=`): load the driver in `path`; `line` is the whole
    /// text after the `=` (path and parameters), what the driver's INIT request points at.
    Device {
        high: bool,
        path: String,
        line: Vec<u8>,
    },
    /// `INSTALL=`: run a program (normally a TSR) after the drivers, before the shell.
    Install { path: String, args: String },
    /// `FILES=n`: system file table entries (8-255).
    Files(u8),
    /// `BUFFERS=n[,m]`: disk buffers (1-99) and secondary cache buffers (0-8).
    Buffers { buffers: u8, secondary: u8 },
    /// `LASTDRIVE=x`: the last drive letter, 0 = A.
    LastDrive(u8),
    /// `DOS=HIGH|LOW[,UMB|NOUMB]`: `high` and `umb` as given (`None` when not named).
    Dos {
        high: Option<bool>,
        umb: Option<bool>,
    },
    /// `SHELL=path [args]`: the command interpreter and its parameters.
    Shell { path: String, args: String },
    /// `BREAK=ON|OFF`: Ctrl-C checking on every DOS call.
    Break(bool),
    /// A command MS-DOS 5 accepts that changes nothing here (its keyword, upper case).
    Ignored(String),
}

/// Why a line was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// Not a CONFIG.SYS command.
    Unrecognized,
    /// A value out of range or malformed: the text MS-DOS echoes after the message.
    BadParameters(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Unrecognized => write!(f, "Unrecognized command in CONFIG.SYS"),
            ConfigError::BadParameters(v) => write!(f, "Bad command or parameters - {v}"),
        }
    }
}

/// One line of CONFIG.SYS that is not blank: its number (from 1) and what it says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub number: u32,
    pub directive: Result<Directive, ConfigError>,
}

/// What MS-DOS prints for a refused line: the message, then "Error in CONFIG.SYS line N",
/// each after CR LF.
pub fn error_message(e: &ConfigError, line: u32) -> Vec<u8> {
    format!("\r\n{e}\r\n{}", line_message(line)).into_bytes()
}

/// "Error in CONFIG.SYS line N" with its CR LF (also printed when a driver's INIT asks for
/// it through the request's error-message flag).
pub fn line_message(line: u32) -> String {
    format!("Error in CONFIG.SYS line {line}\r\n")
}

/// "Bad or missing FILE" for a driver or program file that cannot be loaded, followed by
/// the line message.
pub fn missing_message(path: &str, line: u32) -> Vec<u8> {
    format!("\r\nBad or missing {path}\r\n{}", line_message(line)).into_bytes()
}

/// The most of CONFIG.SYS that DOS reads: MS-DOS reads the file into one 64 KiB segment
/// (a scenario's `config` may not be longer; a longer file on drive C: is read this far).
pub const MAX_CONFIG_BYTES: usize = 0xFFFF;

/// What DOS reads of a CONFIG.SYS file: at most [`MAX_CONFIG_BYTES`], up to a Ctrl-Z.
pub fn content(text: &[u8]) -> &[u8] {
    let text = &text[..text.len().min(MAX_CONFIG_BYTES)];
    match text.iter().position(|&b| b == 0x1A) {
        Some(end) => &text[..end],
        None => text,
    }
}

/// Every non-blank line of `text` (as [`content`] cuts it).
pub fn parse(text: &[u8]) -> Vec<Line> {
    let text = content(text);
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some((line, after)) = next_line(text, pos) {
        out.push(line);
        pos = after;
    }
    out
}

/// The first non-blank line of `text` that starts at or after byte `pos` (a line start),
/// with the position after it: processing a file line by line costs its length once.
pub fn next_line(text: &[u8], mut pos: usize) -> Option<(Line, usize)> {
    let mut number = text
        .get(..pos)
        .map_or(0, |t| t.iter().filter(|&&b| b == b'\n').count()) as u32
        + 1;
    while let Some(rest) = text.get(pos..).filter(|r| !r.is_empty()) {
        let (raw, len) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], i + 1),
            None => (rest, rest.len()),
        };
        pos += len;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let trimmed = trim(raw);
        if !trimmed.is_empty() {
            let line = Line {
                number,
                directive: directive(trimmed),
            };
            return Some((line, pos));
        }
        number += 1;
    }
    None
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t')
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_blank(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| !is_blank(b))
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// Splits `keyword [blanks] (= | blank) value`.
fn split_keyword(line: &[u8]) -> (String, &[u8]) {
    let end = line
        .iter()
        .position(|&b| b == b'=' || is_blank(b))
        .unwrap_or(line.len());
    let keyword = String::from_utf8_lossy(&line[..end]).to_ascii_uppercase();
    let mut rest = trim(&line[end..]);
    if let Some(r) = rest.strip_prefix(b"=") {
        rest = trim(r);
    }
    (keyword, rest)
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

fn bad(v: &[u8]) -> ConfigError {
    ConfigError::BadParameters(text(v))
}

/// A decimal number in `lo..=hi`.
fn number(v: &[u8], lo: u32, hi: u32) -> Option<u32> {
    if v.is_empty() || v.len() > 5 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = v.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0'));
    (lo..=hi).contains(&n).then_some(n)
}

/// The first word of `v` (upper case) and the text after its blanks.
fn first_word(v: &[u8]) -> (String, &[u8]) {
    let end = v.iter().position(|&b| is_blank(b)).unwrap_or(v.len());
    (text(&v[..end]).to_ascii_uppercase(), trim(&v[end..]))
}

fn directive(line: &[u8]) -> Result<Directive, ConfigError> {
    let (keyword, value) = split_keyword(line);
    match keyword.as_str() {
        "DEVICE" | "DEVICEHIGH" => {
            let mut v = value;
            if keyword == "DEVICEHIGH" && v.len() > 5 && v[..5].eq_ignore_ascii_case(b"SIZE=") {
                // DEVICEHIGH SIZE=hex path: the size only matters for loading high.
                let (size, rest) = first_word(v);
                let hex = &size[5..];
                if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(ConfigError::BadParameters(size));
                }
                v = rest;
            }
            let (path, _) = first_word(v);
            if path.is_empty() {
                return Err(ConfigError::Unrecognized);
            }
            Ok(Directive::Device {
                high: keyword == "DEVICEHIGH",
                path,
                line: v.to_vec(),
            })
        }
        "INSTALL" | "SHELL" => {
            let (path, args) = first_word(value);
            if path.is_empty() {
                return Err(ConfigError::Unrecognized);
            }
            let args = text(args);
            Ok(if keyword == "INSTALL" {
                Directive::Install { path, args }
            } else {
                Directive::Shell { path, args }
            })
        }
        "FILES" => number(value, 8, 255)
            .map(|n| Directive::Files(n as u8))
            .ok_or_else(|| bad(value)),
        "BUFFERS" => {
            let (n, m) = match value.iter().position(|&b| b == b',') {
                Some(c) => (trim(&value[..c]), Some(trim(&value[c + 1..]))),
                None => (value, None),
            };
            let buffers = number(n, 1, 99).ok_or_else(|| bad(value))?;
            let secondary = match m {
                Some(m) => number(m, 0, 8).ok_or_else(|| bad(value))?,
                None => 0,
            };
            Ok(Directive::Buffers {
                buffers: buffers as u8,
                secondary: secondary as u8,
            })
        }
        "LASTDRIVE" => match value {
            [c] if c.is_ascii_alphabetic() => {
                Ok(Directive::LastDrive(c.to_ascii_uppercase() - b'A'))
            }
            _ => Err(bad(value)),
        },
        "DOS" => {
            let (mut high, mut umb) = (None, None);
            for word in value.split(|&b| b == b',') {
                let w = text(trim(word)).to_ascii_uppercase();
                match w.as_str() {
                    "HIGH" if high.is_none() => high = Some(true),
                    "LOW" if high.is_none() => high = Some(false),
                    "UMB" if umb.is_none() => umb = Some(true),
                    "NOUMB" if umb.is_none() => umb = Some(false),
                    _ => return Err(bad(value)),
                }
            }
            Ok(Directive::Dos { high, umb })
        }
        "BREAK" => match text(value).to_ascii_uppercase().as_str() {
            "ON" => Ok(Directive::Break(true)),
            "OFF" => Ok(Directive::Break(false)),
            _ => Err(bad(value)),
        },
        "COUNTRY" | "DRIVPARM" | "FCBS" | "STACKS" | "SWITCHES" | "REM" => {
            Ok(Directive::Ignored(keyword))
        }
        _ => Err(ConfigError::Unrecognized),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<Directive, ConfigError> {
        let lines = parse(line.as_bytes());
        assert_eq!(lines.len(), 1, "{line}");
        lines[0].directive.clone()
    }

    #[test]
    fn lines_are_numbered_from_one_and_blank_lines_count() {
        let lines = parse(b"FILES=20\r\n\r\n  \r\nBUFFERS=30\r\nFOO=1\x1aDEVICE=X.SYS\r\n");
        let numbers: Vec<u32> = lines.iter().map(|l| l.number).collect();
        assert_eq!(numbers, [1, 4, 5]);
        assert_eq!(lines[0].directive, Ok(Directive::Files(20)));
        assert_eq!(lines[2].directive, Err(ConfigError::Unrecognized));
    }

    /// SYSINIT reads one line at a time from a byte position: the same lines and numbers as
    /// a whole parse, the last line without a line end included.
    #[test]
    fn lines_one_at_a_time_from_a_position() {
        let text = b"\r\nFILES=20\r\n\n  \nBREAK=ON\nLASTDRIVE=Z";
        let mut pos = 0;
        let mut got = Vec::new();
        while let Some((line, after)) = next_line(text, pos) {
            assert!(after > pos && after <= text.len());
            got.push((line.number, line.directive));
            pos = after;
        }
        assert_eq!(
            got,
            [
                (2, Ok(Directive::Files(20))),
                (5, Ok(Directive::Break(true))),
                (6, Ok(Directive::LastDrive(25))),
            ]
        );
        let whole: Vec<(u32, Result<Directive, ConfigError>)> = parse(text)
            .into_iter()
            .map(|l| (l.number, l.directive))
            .collect();
        assert_eq!(got, whole);
        assert!(next_line(text, text.len()).is_none());
    }

    /// DOS reads at most one 64 KiB segment of CONFIG.SYS: a line past it is never seen.
    #[test]
    fn a_file_longer_than_a_segment_is_read_to_its_end() {
        let mut text = vec![b' '; MAX_CONFIG_BYTES - 1];
        text.extend_from_slice(b"\nFILES=20\n");
        assert_eq!(content(&text).len(), MAX_CONFIG_BYTES);
        assert!(parse(&text).is_empty());
        let mut text = b"FILES=20\n".to_vec();
        text.extend_from_slice(&vec![b'\n'; MAX_CONFIG_BYTES]);
        assert_eq!(parse(&text).len(), 1);
    }

    #[test]
    fn device_lines_keep_the_text_after_the_equal_sign() {
        assert_eq!(
            one("device = c:\\drv.sys /x  Y"),
            Ok(Directive::Device {
                high: false,
                path: "C:\\DRV.SYS".into(),
                line: b"c:\\drv.sys /x  Y".to_vec(),
            })
        );
        assert_eq!(
            one("DEVICEHIGH SIZE=1A0 NUL.SYS"),
            Ok(Directive::Device {
                high: true,
                path: "NUL.SYS".into(),
                line: b"NUL.SYS".to_vec(),
            })
        );
        assert_eq!(one("DEVICE="), Err(ConfigError::Unrecognized));
    }

    #[test]
    fn values_out_of_range_are_bad_parameters() {
        assert_eq!(one("FILES=3"), Err(ConfigError::BadParameters("3".into())));
        assert_eq!(one("FILES=255"), Ok(Directive::Files(255)));
        assert_eq!(
            one("BUFFERS=20,9"),
            Err(ConfigError::BadParameters("20,9".into()))
        );
        assert_eq!(
            one("BUFFERS=20,8"),
            Ok(Directive::Buffers {
                buffers: 20,
                secondary: 8
            })
        );
        assert_eq!(one("LASTDRIVE=z"), Ok(Directive::LastDrive(25)));
        assert_eq!(
            one("LASTDRIVE=ZZ"),
            Err(ConfigError::BadParameters("ZZ".into()))
        );
        assert_eq!(
            one("dos=umb,high"),
            Ok(Directive::Dos {
                high: Some(true),
                umb: Some(true)
            })
        );
        assert_eq!(
            one("DOS=HIGH,LOW"),
            Err(ConfigError::BadParameters("HIGH,LOW".into()))
        );
        assert_eq!(
            one("SHELL=C:\\COMMAND.COM C:\\ /E:512 /P"),
            Ok(Directive::Shell {
                path: "C:\\COMMAND.COM".into(),
                args: "C:\\ /E:512 /P".into()
            })
        );
        assert_eq!(one("REM anything"), Ok(Directive::Ignored("REM".into())));
    }

    #[test]
    fn messages_are_ms_dos_s() {
        assert_eq!(
            error_message(&ConfigError::Unrecognized, 2),
            b"\r\nUnrecognized command in CONFIG.SYS\r\nError in CONFIG.SYS line 2\r\n"
        );
        assert_eq!(
            error_message(&ConfigError::BadParameters("3".into()), 3),
            b"\r\nBad command or parameters - 3\r\nError in CONFIG.SYS line 3\r\n"
        );
        assert_eq!(
            missing_message("A:\\NOSUCH.SYS", 5),
            b"\r\nBad or missing A:\\NOSUCH.SYS\r\nError in CONFIG.SYS line 5\r\n"
        );
    }
}
