//! One instruction disassembled (iced-x86, NASM syntax), for divergence reports.

use iced_x86::{Decoder, DecoderOptions, Formatter, NasmFormatter};

/// The instruction at the start of `code` as 16-bit real-mode code at offset `ip`, in NASM
/// syntax with its bytes, e.g. `CD 21  int 21h`; `(invalid)` when the bytes do not decode.
pub fn one(code: &[u8], ip: u16) -> String {
    let mut decoder = Decoder::with_ip(16, code, u64::from(ip), DecoderOptions::NONE);
    let insn = decoder.decode();
    if insn.is_invalid() {
        return "(invalid)".into();
    }
    let mut text = String::new();
    NasmFormatter::new().format(&insn, &mut text);
    let bytes: Vec<String> = code
        .iter()
        .take(insn.len())
        .map(|b| format!("{b:02X}"))
        .collect();
    format!("{}  {text}", bytes.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_mode_instructions_are_shown_with_their_bytes() {
        assert_eq!(one(&[0xCD, 0x21, 0x90], 0x100), "CD 21  int 21h");
        assert_eq!(one(&[0xB8, 0x00, 0x4C], 0x100), "B8 00 4C  mov ax,4C00h");
    }
}
