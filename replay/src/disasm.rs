//! One instruction disassembled (iced-x86, NASM syntax), for divergence reports.

use iced_x86::{Decoder, DecoderOptions, Formatter, NasmFormatter};

/// The instruction at the start of `code` as 16-bit real-mode code at offset `ip`, in NASM
/// syntax with its bytes, e.g. `CD 21  int 21h`; `(invalid)` when the bytes do not decode.
/// The emulator trap `FE 38 lo hi` (DESIGN.md section 7) is shown as the firmware service
/// it enters, e.g. `FE 38 21 02  firmware 0221h (DOS Int 21h)`.
pub fn one(code: &[u8], ip: u16) -> String {
    if let [0xFE, 0x38, lo, hi, ..] = *code {
        let service = u16::from_le_bytes([lo, hi]);
        return format!(
            "FE 38 {lo:02X} {hi:02X}  firmware {service:04X}h ({})",
            service_name(service)
        );
    }
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

/// What a firmware service number enters (`vexed_emu::firmware::stubs::svc`: the high byte
/// names the component).
fn service_name(service: u16) -> String {
    let [n, component] = service.to_le_bytes();
    match (component, n) {
        (0x00, n) => format!("BIOS Int {n:02X}h"),
        (0x01, 0x00) => "BIOS POST".into(),
        (0x01, _) => "BIOS".into(),
        (0x02, 0x20..=0x2F) => format!("DOS Int {n:02X}h"),
        (0x02, _) => "DOS".into(),
        (0x03, 0x00) => "XMS driver".into(),
        (0x03, _) => "XMS Int 15h hook".into(),
        (0x04, 0x00) => "EMS Int 67h".into(),
        (0x04, _) => "EMS device driver".into(),
        (0x05, _) => "VM manager".into(),
        _ => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_mode_instructions_are_shown_with_their_bytes() {
        assert_eq!(one(&[0xCD, 0x21, 0x90], 0x100), "CD 21  int 21h");
        assert_eq!(one(&[0xB8, 0x00, 0x4C], 0x100), "B8 00 4C  mov ax,4C00h");
    }

    #[test]
    fn emulator_traps_name_the_firmware_service() {
        // Service numbers from emu/src/firmware/stubs.rs: dos(0x21), XMS, bios(0x16).
        assert_eq!(
            one(&[0xFE, 0x38, 0x21, 0x02], 0),
            "FE 38 21 02  firmware 0221h (DOS Int 21h)"
        );
        assert_eq!(
            one(&[0xFE, 0x38, 0x00, 0x03, 0x90], 0),
            "FE 38 00 03  firmware 0300h (XMS driver)"
        );
        assert_eq!(
            one(&[0xFE, 0x38, 0x16, 0x00], 0),
            "FE 38 16 00  firmware 0016h (BIOS Int 16h)"
        );
    }
}
