//! The PC/AT keyboard controller (an Intel 8042 running IBM's firmware) as the system sees it,
//! the keyboard behind it, and the PS/2-style "fast A20" System Control Port A at 92h.
//!
//! Sources: the IBM PC/AT Technical Reference, "Keyboard Controller" section (status register,
//! command byte, input and output ports, controller commands 20h/60h/AAh/ABh/ADh/AEh/C0h/D0h/
//! D1h/F0h-FFh) and "Keyboard" section (keyboard commands and replies, 16-byte buffer, overrun);
//! the Intel UPI-41/8042 data sheet (one-byte input and output buffers, OBF/IBF/F1 status
//! flags); and the IBM PS/2 Model 50/60 Technical Reference, "System Control Port A" (92h).
//!
//! Ports: 60h reads the output buffer and takes data bytes; 64h reads the status register and
//! takes controller commands; 92h is System Control Port A. Decisions where the documents leave
//! room, or where this emulator differs on purpose:
//! - **No timing**: every command completes at once, so IBF (status bit 1) always reads 0.
//! - **Initial state** ([`Kbc::new`]) is what an AT BIOS POST leaves, since the firmware here is
//!   HLE: command byte 45h (translate, system flag, IRQ 1 on OBF; keyboard enabled), output
//!   port DDh (reset line inactive, **A20 gate off** as real ATs boot; the other bits are the
//!   conventional "all ones" value HIMEM-style drivers write), port 92h 00h, keyboard scanning
//!   with an empty buffer, LEDs off, default typematic 2Bh (10.9 cps, 500 ms).
//! - **Status**: bit 0 OBF, bit 1 IBF = 0, bit 2 = command byte bit 2 (system flag; AAh sets
//!   it), bit 3 = the last write went to 64h, bit 4 = 1 (keyboard not inhibited by the key
//!   lock), bits 5-7 = 0 (no aux device, no time-outs, no parity errors).
//! - **Command byte**: bit 0 gates IRQ 1, bit 4 disables the keyboard interface, bit 2 is the
//!   system flag; bit 6 (translate) and the others are stored only: scancodes arrive already in
//!   set 1. Only 20h/60h (RAM byte 0) are modelled; 21h-3Fh, 61h-7Fh and other unknown
//!   commands are ignored.
//! - **IRQ 1** is high while OBF is set and command byte bit 0 is set, whatever put the byte in
//!   the buffer (the controller has one output buffer and no aux device).
//! - **Output buffer refill**: a byte moves from the keyboard into an empty output buffer at
//!   once, except in the 60h read that emptied it (so IRQ 1 falls before it rises again). The
//!   next byte moves on the next access to 60h/64h other than a 60h read, on [`Kbc::key`], or
//!   on [`Kbc::service`], which the machine calls when [`Kbc::wants_service`] is true (a real
//!   keyboard needs about 1 ms per byte; the machine chooses the delay). Reading 60h with OBF
//!   clear returns the last byte again.
//! - **Controller replies** (20h, AAh, ABh, C0h, D0h) go straight to the output buffer. An
//!   unread keyboard byte there goes back to the head of the keyboard queue (nothing is lost);
//!   an unread controller reply is overwritten.
//! - **Output port** (D0h/D1h/DDh/DFh): bit 0 is the CPU reset line (active low), bit 1 the A20
//!   gate; the other bits are stored as written (the real chip drives bits 4-7 from its buffer
//!   flags and keyboard lines). Writing bit 0 = 0 requests a reset and the line is released at
//!   once (it reads back 1): a reset held forever would only hang the machine. DDh/DFh (A20
//!   off/on) are HP Vectra commands that many controllers and emulators accept.
//! - **Pulse commands** F0h-FFh pulse the output port bits whose command bits are 0; only bit 0
//!   (reset) has a lasting effect, so FEh (and any even F-command) requests a reset. The 8042
//!   itself is not reset by the CPU reset: the A20 gate and all other state survive it.
//! - **Input port** (C0h) reads BFh: keyboard not inhibited (bit 7), colour display (bit 6 = 0),
//!   no manufacturing jumper (bit 5), 512K on the system board (bit 4), bits 0-3 undefined (1).
//! - **Keyboard**: an MF2-style keyboard: FFh reset → FAh AAh; F4h → FAh; F5h → FAh, stops
//!   scanning; F6h → FAh; EEh → EEh; F2h → FAh ABh 83h (sent untranslated even with command
//!   byte bit 6 set); EDh/F3h → FAh, and their argument byte (always taken as the argument)
//!   → FAh; FEh resends the last byte; anything else → FEh. FFh, F4h, F5h and F6h clear the
//!   keyboard's buffer first. Replies queue behind waiting scancodes. Sending a byte to the
//!   keyboard enables the interface (clears command byte bit 4), as Bochs does, so a handler
//!   that brackets LED updates with ADh/AEh still gets its acknowledgements.
//! - **Keyboard buffer**: 16 bytes. On overflow the 16th byte becomes the set-1 overrun code
//!   FFh and further bytes are dropped until there is room. Keys are dropped while scanning
//!   is off (after F5h).
//! - **Port 92h**: bit 1 is the fast A20 gate, bit 0 fast reset (a 0 → 1 write requests a
//!   reset; the bit reads back as written), bits 3, 6 and 7 (security lock, disk activity
//!   lights) are stored and read back without effect, and bits 2, 4 (watchdog status) and 5
//!   read 0. The A20 line is output port bit 1 OR port 92h bit 1.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Output buffer (read) and data (write) port.
pub const DATA_PORT: u16 = 0x60;
/// Status (read) and command (write) port.
pub const COMMAND_PORT: u16 = 0x64;
/// PS/2 System Control Port A.
pub const CONTROL_PORT_A: u16 = 0x92;

/// Status: output buffer full.
pub const STATUS_OBF: u8 = 0x01;
/// Status: input buffer full (always 0 here).
pub const STATUS_IBF: u8 = 0x02;
/// Status: system flag (mirrors command byte bit 2).
pub const STATUS_SYSTEM_FLAG: u8 = 0x04;
/// Status: the last write was a command (port 64h).
pub const STATUS_COMMAND: u8 = 0x08;
/// Status: keyboard not inhibited by the key lock.
pub const STATUS_NOT_INHIBITED: u8 = 0x10;

/// Command byte: raise IRQ 1 when the output buffer is full.
pub const CMD_IRQ1: u8 = 0x01;
/// Command byte: system flag.
pub const CMD_SYSTEM_FLAG: u8 = 0x04;
/// Command byte: keyboard interface disabled.
pub const CMD_DISABLE_KEYBOARD: u8 = 0x10;
/// Command byte: translate to PC scancodes (stored only).
pub const CMD_TRANSLATE: u8 = 0x40;

/// Output port: CPU reset line, active low.
pub const OUT_RESET: u8 = 0x01;
/// Output port: A20 gate.
pub const OUT_A20: u8 = 0x02;

/// Port 92h: fast reset (a 0 → 1 transition resets the CPU).
pub const P92_RESET: u8 = 0x01;
/// Port 92h: fast A20 gate.
pub const P92_A20: u8 = 0x02;
/// Port 92h bits that read back (see the module docs).
const P92_STORED: u8 = 0xCB;

/// The command byte an AT BIOS leaves: translate, system flag, IRQ 1 enabled.
pub const BIOS_COMMAND_BYTE: u8 = 0x45;
/// Output port at start: reset inactive, A20 off.
pub const INITIAL_OUTPUT_PORT: u8 = 0xDD;
/// What C0h (read input port) returns.
pub const INPUT_PORT: u8 = 0xBF;
/// The keyboard's buffer size.
pub const KEYBOARD_BUFFER: usize = 16;
/// Keyboard default typematic setting: 10.9 characters per second, 500 ms delay.
pub const DEFAULT_TYPEMATIC: u8 = 0x2B;

const ACK: u8 = 0xFA;
const RESEND: u8 = 0xFE;
const ECHO: u8 = 0xEE;
const BAT_OK: u8 = 0xAA;
const OVERRUN: u8 = 0xFF;
const OPEN_BUS: u8 = 0xFF;

/// An argument the keyboard expects as its next byte.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum KeyboardArg {
    /// The next byte is a command.
    #[default]
    None,
    /// The next byte is the LED state (after EDh).
    Leds,
    /// The next byte is the typematic rate/delay (after F3h).
    Typematic,
}

/// The keyboard at the other end of the cable. Fields are public for reading; the keyboard
/// changes only through [`Kbc`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Keyboard {
    /// Bytes waiting to be sent to the controller (scancodes and replies), at most 16 from
    /// [`Kbc::key`] and replies, plus one a controller reply pushed back.
    pub queue: VecDeque<u8>,
    /// Whether keystrokes are scanned (F5h stops, F4h/F6h/FFh start).
    pub scanning: bool,
    /// What the next byte from the system is.
    pub expect: KeyboardArg,
    /// LED state from EDh (bit 0 Scroll, 1 Num, 2 Caps Lock).
    pub leds: u8,
    /// Typematic rate/delay from F3h.
    pub typematic: u8,
    /// The last byte sent to the controller (what FEh resends).
    pub last_sent: u8,
}

impl Default for Keyboard {
    fn default() -> Self {
        Keyboard {
            queue: VecDeque::new(),
            scanning: true,
            expect: KeyboardArg::None,
            leds: 0,
            typematic: DEFAULT_TYPEMATIC,
            last_sent: BAT_OK,
        }
    }
}

impl Keyboard {
    /// Queues a byte for the controller; a full buffer turns its last byte into the overrun code.
    fn push(&mut self, byte: u8) {
        if self.queue.len() < KEYBOARD_BUFFER {
            self.queue.push_back(byte);
        } else if let Some(last) = self.queue.back_mut() {
            *last = OVERRUN;
        }
    }

    /// A byte from the system.
    fn receive(&mut self, byte: u8) {
        match std::mem::take(&mut self.expect) {
            KeyboardArg::Leds => {
                self.leds = byte & 0x07;
                return self.push(ACK);
            }
            KeyboardArg::Typematic => {
                self.typematic = byte & 0x7F;
                return self.push(ACK);
            }
            KeyboardArg::None => {}
        }
        match byte {
            0xED => {
                self.push(ACK);
                self.expect = KeyboardArg::Leds;
            }
            0xEE => self.push(ECHO),
            0xF2 => {
                self.push(ACK);
                self.push(0xAB);
                self.push(0x83);
            }
            0xF3 => {
                self.push(ACK);
                self.expect = KeyboardArg::Typematic;
            }
            0xF4 => {
                self.queue.clear();
                self.scanning = true;
                self.push(ACK);
            }
            0xF5 | 0xF6 => {
                self.queue.clear();
                self.typematic = DEFAULT_TYPEMATIC;
                self.scanning = byte == 0xF6;
                self.push(ACK);
            }
            0xFE => self.push(self.last_sent),
            0xFF => {
                *self = Keyboard::default();
                self.push(ACK);
                self.push(BAT_OK);
            }
            _ => self.push(RESEND),
        }
    }
}

/// A controller command waiting for its data byte on port 60h.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Pending {
    /// Port 60h writes go to the keyboard.
    #[default]
    None,
    /// After 60h: the next data byte is the command byte.
    CommandByte,
    /// After D1h: the next data byte is the output port.
    OutputPort,
}

/// The 8042 keyboard controller, its keyboard and port 92h. `Default` is [`Kbc::new`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Kbc {
    keyboard: Keyboard,
    output: u8,
    obf: bool,
    output_from_keyboard: bool,
    command_byte: u8,
    output_port: u8,
    pending: Pending,
    last_write_command: bool,
    port92: u8,
    reset_request: bool,
}

impl Default for Kbc {
    fn default() -> Self {
        Self::new()
    }
}

impl Kbc {
    /// The state an AT BIOS POST leaves (see the module docs).
    pub fn new() -> Self {
        Kbc {
            keyboard: Keyboard::default(),
            output: 0,
            obf: false,
            output_from_keyboard: false,
            command_byte: BIOS_COMMAND_BYTE,
            output_port: INITIAL_OUTPUT_PORT,
            pending: Pending::None,
            last_write_command: false,
            port92: 0,
            reset_request: false,
        }
    }

    /// Whether `port` belongs to the controller or port 92h.
    pub const fn handles_port(port: u16) -> bool {
        matches!(port, DATA_PORT | COMMAND_PORT | CONTROL_PORT_A)
    }

    /// The status register, without side effects.
    pub fn status(&self) -> u8 {
        let mut status = STATUS_NOT_INHIBITED | (self.command_byte & CMD_SYSTEM_FLAG);
        if self.obf {
            status |= STATUS_OBF;
        }
        if self.last_write_command {
            status |= STATUS_COMMAND;
        }
        status
    }
    /// The command byte.
    pub fn command_byte(&self) -> u8 {
        self.command_byte
    }
    /// The output port latch.
    pub fn output_port(&self) -> u8 {
        self.output_port
    }
    /// The keyboard, read-only.
    pub fn keyboard(&self) -> &Keyboard {
        &self.keyboard
    }
    /// The controller command waiting for a data byte.
    pub fn pending(&self) -> Pending {
        self.pending
    }

    /// The A20 line: output port bit 1 OR port 92h bit 1.
    pub fn a20_enabled(&self) -> bool {
        self.output_port & OUT_A20 != 0 || self.port92 & P92_A20 != 0
    }

    /// The IRQ 1 line: output buffer full and command byte bit 0 set.
    pub fn irq1(&self) -> bool {
        self.obf && self.command_byte & CMD_IRQ1 != 0
    }

    /// True once after a reset request (FEh/F-pulse, output port bit 0 = 0, port 92h bit 0
    /// rising); the machine then resets the CPU.
    pub fn take_reset_request(&mut self) -> bool {
        std::mem::take(&mut self.reset_request)
    }

    /// A set-1 scancode from the keyboard (`Input::Key`).
    pub fn key(&mut self, scancode: u8) {
        if self.keyboard.scanning {
            self.keyboard.push(scancode);
        }
        self.fill();
    }

    /// Whether a keyboard byte is waiting for the empty output buffer.
    pub fn wants_service(&self) -> bool {
        !self.obf && self.keyboard_enabled() && !self.keyboard.queue.is_empty()
    }

    /// Moves the next keyboard byte into the output buffer if it is empty and enabled.
    pub fn service(&mut self) {
        self.fill();
    }

    /// An `IN` from 60h, 64h or 92h; other ports read FFh.
    pub fn read(&mut self, port: u16) -> u8 {
        match port {
            DATA_PORT => {
                self.obf = false;
                self.output
            }
            COMMAND_PORT => {
                self.fill();
                self.status()
            }
            CONTROL_PORT_A => self.port92,
            _ => OPEN_BUS,
        }
    }

    /// An `OUT` to 60h, 64h or 92h; other ports are ignored.
    pub fn write(&mut self, port: u16, value: u8) {
        match port {
            DATA_PORT => self.write_data(value),
            COMMAND_PORT => self.write_command(value),
            CONTROL_PORT_A => {
                if value & P92_RESET != 0 && self.port92 & P92_RESET == 0 {
                    self.reset_request = true;
                }
                self.port92 = value & P92_STORED;
            }
            _ => {}
        }
    }

    fn keyboard_enabled(&self) -> bool {
        self.command_byte & CMD_DISABLE_KEYBOARD == 0
    }

    /// Keyboard → output buffer, when it is empty and the interface enabled.
    fn fill(&mut self) {
        if self.obf || !self.keyboard_enabled() {
            return;
        }
        if let Some(byte) = self.keyboard.queue.pop_front() {
            self.keyboard.last_sent = byte;
            self.output = byte;
            self.obf = true;
            self.output_from_keyboard = true;
        }
    }

    /// A controller reply into the output buffer (see the module docs).
    fn reply(&mut self, byte: u8) {
        if self.obf && self.output_from_keyboard {
            self.keyboard.queue.push_front(self.output);
        }
        self.output = byte;
        self.obf = true;
        self.output_from_keyboard = false;
    }

    /// What an A20 handler (the BIOS's Int 15h AX=2400h/2401h, an XMS driver) leaves behind
    /// when it switches the gate: output-port bit 1 as a D1h command would write it, and
    /// port 92h bit 1 to match, so the OR of both gates is `on`.
    pub fn set_a20_gate(&mut self, on: bool) {
        let port = if on {
            self.output_port | OUT_A20
        } else {
            self.output_port & !OUT_A20
        };
        self.set_output_port(port);
        self.port92 = if on {
            self.port92 | P92_A20
        } else {
            self.port92 & !P92_A20
        };
    }

    fn set_output_port(&mut self, value: u8) {
        if value & OUT_RESET == 0 {
            self.reset_request = true;
        }
        self.output_port = value | OUT_RESET;
    }

    fn write_data(&mut self, value: u8) {
        self.fill();
        self.last_write_command = false;
        match std::mem::take(&mut self.pending) {
            Pending::CommandByte => self.command_byte = value,
            Pending::OutputPort => self.set_output_port(value),
            Pending::None => {
                self.command_byte &= !CMD_DISABLE_KEYBOARD;
                self.keyboard.receive(value);
            }
        }
        self.fill();
    }

    fn write_command(&mut self, value: u8) {
        self.fill();
        self.last_write_command = true;
        self.pending = Pending::None;
        match value {
            0x20 => self.reply(self.command_byte),
            0x60 => self.pending = Pending::CommandByte,
            0xAA => {
                self.command_byte |= CMD_SYSTEM_FLAG;
                self.reply(0x55);
            }
            0xAB => self.reply(0x00),
            0xAD => self.command_byte |= CMD_DISABLE_KEYBOARD,
            0xAE => {
                self.command_byte &= !CMD_DISABLE_KEYBOARD;
                self.fill();
            }
            0xC0 => self.reply(INPUT_PORT),
            0xD0 => self.reply(self.output_port),
            0xD1 => self.pending = Pending::OutputPort,
            0xDD => self.output_port &= !OUT_A20,
            0xDF => self.output_port |= OUT_A20,
            // Pulse output port bits 0-3 whose command bits are 0; only bit 0 (reset) lasts.
            0xF0..=0xFF => self.reset_request |= value & OUT_RESET == 0,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(k: &mut Kbc, cmd: u8) {
        k.write(COMMAND_PORT, cmd);
    }

    /// Reads every byte the controller has to give, as a polling driver does (status, data).
    fn drain(k: &mut Kbc) -> Vec<u8> {
        let mut bytes = Vec::new();
        while k.read(COMMAND_PORT) & STATUS_OBF != 0 {
            bytes.push(k.read(DATA_PORT));
        }
        bytes
    }

    #[test]
    fn self_test_and_interface_test() {
        // AT TechRef: AAh self-test places 55h in the output buffer and the system flag is
        // set after a successful self-test; ABh interface test returns 00h (no error).
        let mut k = Kbc::new();
        command(&mut k, 0x60);
        k.write(DATA_PORT, 0x00);
        assert_eq!(k.status() & STATUS_SYSTEM_FLAG, 0);
        command(&mut k, 0xAA);
        assert_eq!(
            k.status() & (STATUS_OBF | STATUS_SYSTEM_FLAG | STATUS_COMMAND),
            0x0D
        );
        assert_eq!(k.read(DATA_PORT), 0x55);
        assert_eq!(k.status() & STATUS_OBF, 0);
        command(&mut k, 0xAB);
        assert_eq!(drain(&mut k), [0x00]);
    }

    #[test]
    fn command_byte_round_trip_and_status_bits() {
        // AT TechRef: 60h writes the next data byte to the command byte, 20h puts it in the
        // output buffer; status bit 3 tells whether the last write was to 64h; bit 4 is the
        // inhibit switch (1 = not inhibited); IBF is clear when the controller is ready.
        let mut k = Kbc::new();
        assert_eq!(k.command_byte(), 0x45);
        assert_eq!(
            k.read(COMMAND_PORT),
            STATUS_NOT_INHIBITED | STATUS_SYSTEM_FLAG
        );
        command(&mut k, 0x60);
        assert_eq!(k.pending(), Pending::CommandByte);
        assert_ne!(k.status() & STATUS_COMMAND, 0);
        k.write(DATA_PORT, 0x61);
        assert_eq!(k.status() & (STATUS_COMMAND | STATUS_SYSTEM_FLAG), 0);
        assert_eq!(k.command_byte(), 0x61);
        command(&mut k, 0x20);
        assert_eq!(drain(&mut k), [0x61]);
        assert_eq!(k.status() & STATUS_IBF, 0);
        // The keyboard saw none of it.
        assert!(k.keyboard().queue.is_empty());
    }

    #[test]
    fn output_port_controls_a20() {
        // AT TechRef: D1h writes the next data byte to the output port, bit 1 = gate A20;
        // D0h reads it back. Real ATs boot with A20 off. DDh/DFh (HP Vectra) clear/set it.
        let mut k = Kbc::new();
        assert!(!k.a20_enabled());
        command(&mut k, 0xD0);
        assert_eq!(drain(&mut k), [0xDD]);
        command(&mut k, 0xD1);
        k.write(DATA_PORT, 0xDF);
        assert!(k.a20_enabled());
        command(&mut k, 0xD0);
        assert_eq!(drain(&mut k), [0xDF]);
        command(&mut k, 0xDD);
        assert!(!k.a20_enabled());
        command(&mut k, 0xDF);
        assert!(k.a20_enabled());
        assert!(!k.take_reset_request());
    }

    #[test]
    fn a20_handler_switches_both_gates() {
        let mut k = Kbc::new();
        k.write(CONTROL_PORT_A, P92_A20);
        k.set_a20_gate(false);
        assert!(!k.a20_enabled());
        assert_eq!(k.read(CONTROL_PORT_A) & P92_A20, 0);
        k.set_a20_gate(true);
        assert!(k.a20_enabled());
        assert_eq!(k.output_port() & OUT_A20, OUT_A20);
        assert!(!k.take_reset_request(), "the reset line stays high");
    }

    #[test]
    fn a20_is_the_or_of_both_gates() {
        // PS/2 TechRef: port 92h bit 1 gates A20 on its own; the address line is enabled when
        // either the 8042 output port bit 1 or port 92h bit 1 is set.
        for (kbc_gate, fast_gate) in [(false, false), (false, true), (true, false), (true, true)] {
            let mut k = Kbc::new();
            command(&mut k, 0xD1);
            k.write(DATA_PORT, if kbc_gate { 0xDF } else { 0xDD });
            k.write(CONTROL_PORT_A, if fast_gate { 0x02 } else { 0x00 });
            assert_eq!(k.a20_enabled(), kbc_gate || fast_gate);
            assert_eq!(k.read(CONTROL_PORT_A), if fast_gate { 0x02 } else { 0x00 });
        }
    }

    #[test]
    fn reset_requests() {
        // AT TechRef: FEh pulses output port bit 0 (system reset) low; F0h-FFh pulse the bits
        // whose command bits are 0, so FFh pulses nothing. Output port bit 0 written 0 resets.
        // PS/2 TechRef: port 92h bit 0 going 0 → 1 resets; the bit reads back as written.
        let mut k = Kbc::new();
        assert!(!k.take_reset_request());
        command(&mut k, 0xFE);
        assert!(k.take_reset_request());
        assert!(!k.take_reset_request());
        command(&mut k, 0xFF);
        command(&mut k, 0xFD); // pulses A20 only
        assert!(!k.take_reset_request());
        command(&mut k, 0xF0);
        assert!(k.take_reset_request());
        command(&mut k, 0xD1);
        k.write(DATA_PORT, 0xDE);
        assert!(k.take_reset_request());
        assert_eq!(k.output_port(), 0xDF);
        // The 8042 keeps its A20 gate across the CPU reset.
        assert!(k.a20_enabled());

        k.write(CONTROL_PORT_A, 0x01);
        assert!(k.take_reset_request());
        assert_eq!(k.read(CONTROL_PORT_A), 0x01);
        k.write(CONTROL_PORT_A, 0x03); // bit 0 stays 1: no new edge
        assert!(!k.take_reset_request());
        k.write(CONTROL_PORT_A, 0x00);
        assert!(!k.take_reset_request());
        k.write(CONTROL_PORT_A, 0x01);
        assert!(k.take_reset_request());
        // Reserved bits 2, 4 and 5 read 0.
        k.write(CONTROL_PORT_A, 0xFF);
        assert_eq!(k.read(CONTROL_PORT_A), 0xCB);
    }

    #[test]
    fn keyboard_reset_replies_ack_then_bat() {
        // AT TechRef (keyboard): Reset (FFh) is acknowledged with FAh, then the basic
        // assurance test completion code AAh follows; the keyboard's buffer is cleared.
        // Keys held back by ADh are still in the keyboard, so the reset discards them.
        let mut k = Kbc::new();
        command(&mut k, 0xAD);
        k.key(0x1E);
        k.key(0x9E);
        k.write(DATA_PORT, 0xFF);
        assert_eq!(drain(&mut k), [ACK, BAT_OK]);
        assert_eq!(k.status() & STATUS_COMMAND, 0);
    }

    #[test]
    fn other_keyboard_commands() {
        // AT TechRef (keyboard): Echo answers EEh without ACK; Set LEDs and Set Typematic are
        // acknowledged for the command and for the argument; Enable acknowledges; Default
        // Disable acknowledges and stops scanning; Resend repeats the last byte; an invalid
        // command is answered with Resend (FEh). MF2 identify: FAh ABh 83h.
        let mut k = Kbc::new();
        k.write(DATA_PORT, 0xEE);
        assert_eq!(drain(&mut k), [ECHO]);
        k.write(DATA_PORT, 0xFE);
        assert_eq!(drain(&mut k), [ECHO]);
        k.write(DATA_PORT, 0xF2);
        assert_eq!(drain(&mut k), [ACK, 0xAB, 0x83]);
        k.write(DATA_PORT, 0xED);
        assert_eq!(drain(&mut k), [ACK]);
        assert_eq!(k.keyboard().expect, KeyboardArg::Leds);
        k.write(DATA_PORT, 0x07);
        assert_eq!(drain(&mut k), [ACK]);
        assert_eq!(k.keyboard().leds, 7);
        k.write(DATA_PORT, 0xF3);
        k.write(DATA_PORT, 0x20);
        assert_eq!(drain(&mut k), [ACK, ACK]);
        assert_eq!(k.keyboard().typematic, 0x20);
        k.write(DATA_PORT, 0x12);
        assert_eq!(drain(&mut k), [RESEND]);
        k.write(DATA_PORT, 0xF5);
        assert_eq!(drain(&mut k), [ACK]);
        assert_eq!(k.keyboard().typematic, DEFAULT_TYPEMATIC);
        k.key(0x1E);
        assert!(drain(&mut k).is_empty());
        k.write(DATA_PORT, 0xF4);
        k.key(0x1E);
        assert_eq!(drain(&mut k), [ACK, 0x1E]);
    }

    #[test]
    fn keys_come_out_in_order_with_obf_and_irq1() {
        // 8042: OBF is set when a byte is placed in the output buffer and cleared when the
        // system reads it; with command byte bit 0 set the OBF interrupt (IRQ 1) follows OBF,
        // so the line falls on each read before the next byte raises it again.
        let mut k = Kbc::new();
        assert!(!k.irq1());
        for code in [0x1E, 0x9E, 0x30] {
            k.key(code);
        }
        assert!(k.irq1());
        assert_eq!(k.status() & STATUS_OBF, STATUS_OBF);
        let mut seen = Vec::new();
        for _ in 0..3 {
            assert!(k.irq1());
            seen.push(k.read(DATA_PORT));
            assert!(!k.irq1());
            assert_eq!(k.status() & STATUS_OBF, 0);
            k.service();
        }
        assert_eq!(seen, [0x1E, 0x9E, 0x30]);
        assert!(!k.irq1());
        assert!(!k.wants_service());
        // A second read without a new byte repeats the last one and leaves OBF clear.
        assert_eq!(k.read(DATA_PORT), 0x30);
        assert_eq!(k.status() & STATUS_OBF, 0);
    }

    #[test]
    fn irq1_needs_command_byte_bit0() {
        // AT TechRef: command byte bit 0 = 1 enables the output-buffer-full interrupt; with
        // it 0 the byte is still available to polling through OBF.
        let mut k = Kbc::new();
        command(&mut k, 0x60);
        k.write(DATA_PORT, 0x44);
        k.key(0x1C);
        assert!(!k.irq1());
        assert_eq!(k.status() & STATUS_OBF, STATUS_OBF);
        command(&mut k, 0x60);
        k.write(DATA_PORT, 0x45);
        assert!(k.irq1());
        assert_eq!(k.read(DATA_PORT), 0x1C);
        assert!(!k.irq1());
    }

    #[test]
    fn disabled_keyboard_holds_bytes_until_enabled() {
        // AT TechRef: ADh sets command byte bit 4 (keyboard disabled: no data is received),
        // AEh clears it; the keyboard keeps its bytes meanwhile.
        let mut k = Kbc::new();
        command(&mut k, 0xAD);
        assert_ne!(k.command_byte() & CMD_DISABLE_KEYBOARD, 0);
        k.key(0x10);
        k.key(0x90);
        assert_eq!(k.status() & STATUS_OBF, 0);
        assert!(!k.wants_service());
        assert!(drain(&mut k).is_empty());
        command(&mut k, 0xAE);
        assert!(k.irq1());
        assert_eq!(drain(&mut k), [0x10, 0x90]);
        // A controller reply while a key byte is unread: the key byte waits behind it.
        k.key(0x11);
        command(&mut k, 0x20);
        assert_eq!(drain(&mut k), [0x45, 0x11]);
    }

    #[test]
    fn keyboard_buffer_overflow() {
        // AT TechRef (keyboard): a 16-byte buffer; on overflow the last byte is replaced by
        // the overrun code (FFh in scan set 1) and further keystrokes are lost.
        let mut k = Kbc::new();
        command(&mut k, 0xAD);
        for code in 1..=20u8 {
            k.key(code);
        }
        assert_eq!(k.keyboard().queue.len(), KEYBOARD_BUFFER);
        command(&mut k, 0xAE);
        let mut expected: Vec<u8> = (1..=15).collect();
        expected.push(0xFF);
        assert_eq!(drain(&mut k), expected);
        // Room again: keys are accepted.
        k.key(0x2C);
        assert_eq!(drain(&mut k), [0x2C]);
    }

    #[test]
    fn other_ports_and_input_port() {
        // AT TechRef: C0h reads the input port into the output buffer (fixed BFh here, see
        // the module docs). Ports other than 60h/64h/92h are not decoded.
        let mut k = Kbc::new();
        command(&mut k, 0xC0);
        assert_eq!(drain(&mut k), [INPUT_PORT]);
        assert!(Kbc::handles_port(0x60) && Kbc::handles_port(0x64) && Kbc::handles_port(0x92));
        assert!(!Kbc::handles_port(0x61));
        let before = k.clone();
        assert_eq!(k.read(0x61), 0xFF);
        k.write(0x61, 0x00);
        k.write(0x65, 0xFE);
        assert_eq!(k, before);
        command(&mut k, 0x01); // unknown: ignored
        command(&mut k, 0xD1);
        command(&mut k, 0x20); // a new command cancels the pending D1h
        assert_eq!(k.pending(), Pending::None);
        assert_eq!(drain(&mut k), [0x45]);
        assert_eq!(k.output_port(), INITIAL_OUTPUT_PORT);
    }

    #[test]
    fn any_port_traffic_is_handled() {
        // Guest-controlled values must never panic: every byte to every port, in several
        // orders, interleaved with keys, reads and service calls; the queue stays bounded.
        let ports = [DATA_PORT, COMMAND_PORT, CONTROL_PORT_A, 0x61];
        for order in 0..4u16 {
            let mut k = Kbc::new();
            for v in 0..=255u16 {
                let value = match order {
                    0 => v,
                    1 => 255 - v,
                    2 => (v * 7) & 0xFF,
                    _ => v ^ 0x5A,
                } as u8;
                for i in 0..ports.len() {
                    let port = ports[(i + usize::from(value)) % ports.len()];
                    k.write(port, value);
                    k.key(value);
                    if value & 3 == 0 {
                        k.read(DATA_PORT);
                    }
                    k.service();
                    k.take_reset_request();
                    for &r in &ports {
                        k.read(r);
                    }
                    assert!(k.keyboard().queue.len() <= KEYBOARD_BUFFER + 1);
                }
            }
        }
    }

    #[test]
    fn serde_round_trip() {
        // DESIGN.md section 6: all state is plain serializable data; a restored copy equals
        // the original and continues identically.
        let mut k = Kbc::new();
        command(&mut k, 0xAD);
        k.key(0x1E);
        k.write(DATA_PORT, 0xED);
        command(&mut k, 0xD1);
        k.write(CONTROL_PORT_A, 0x03);
        let text = serde_json::to_string(&k).unwrap();
        let mut q: Kbc = serde_json::from_str(&text).unwrap();
        assert_eq!(k, q);
        for kbc in [&mut k, &mut q] {
            kbc.write(DATA_PORT, 0xDF);
            kbc.key(0x9E);
        }
        assert_eq!(drain(&mut k), drain(&mut q));
        assert_eq!(k, q);
    }
}
