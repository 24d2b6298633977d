//! A minimal Creative Sound Blaster digital sound processor (DSP version 2.01 behaviour), at
//! base 220h on IRQ 5 and 8-bit DMA channel 1 by default ([`SB_BASE`], [`SB_IRQ`], [`SB_DMA`]).
//!
//! Sources: Creative Labs "Sound Blaster Series Hardware Programming Guide" and the
//! "Developer Kit for Sound Blaster Series" (DSP I/O addresses, resetting the DSP, reading from
//! and writing to the DSP, the DSP command reference and the time-constant formula).
//!
//! Modelled: the four DSP ports (base+6 reset, base+Ah read data, base+Ch write command/data
//! and write status, base+Eh read-buffer status and 8-bit interrupt acknowledge) and the
//! commands 10h (direct 8-bit output), 14h (8-bit single-cycle DMA output), 40h (set time
//! constant), D1h/D3h (speaker on/off), D8h (speaker status), E0h (DSP identification: the
//! bitwise NOT of the data byte), E1h (DSP version, 02h 01h) and F2h (force 8-bit IRQ).
//! Decisions where this emulator differs from the card or the documents leave room:
//! - **No time**: the DSP does not move bytes per clock. When a 14h command completes the
//!   device exposes [`Sb::pending_transfer`], a [`DmaRequest`] with the channel, the byte count
//!   (length + 1) and the sample rate ([`DmaRequest::duration_us`] gives its length in
//!   microseconds, rounded up). The machine schedules the completion as an event (DESIGN.md's
//!   DMA-completion input), pulls the bytes through the 8237 and calls
//!   [`Sb::complete_transfer`], which records them, clears the request and raises the IRQ.
//!   A 14h issued while a transfer is pending replaces it (the card restarts the DMA).
//! - **No audio in state**: played samples are not kept. [`Sb::bytes_played`] counts every
//!   sample byte sent to the DAC (DMA and direct 10h output) and [`Sb::checksum`] is their
//!   wrapping 32-bit sum, enough for a golden trace to notice different audio at fixed cost.
//!   Samples are counted whether the speaker is on or off (the DSP plays into a muted output).
//!   [`Sb::complete_transfer`] counts at most the requested number of bytes and is ignored
//!   when no transfer is pending (a reset cancelled it).
//! - **Reset**: only bit 0 of a base+6 write matters. Writing 1 holds the DSP in reset
//!   (commands written meanwhile are ignored); the following write of 0 resets it: the command
//!   being collected, the read buffer, a pending transfer and the IRQ are cleared, the speaker
//!   goes off (as a DSP 2.01 comes out of reset), and AAh is put in the read buffer. The time
//!   constant and the sample counters survive. The 3 us hold time is not checked.
//!   Power-on has the speaker off, an empty read buffer and time constant 0 (3,906 Hz).
//! - **Read buffer**: a queue of at most [`READ_BUFFER_LEN`] bytes; bytes pushed while it is
//!   full are dropped. Reading base+Ah when it is empty returns the last byte read (the data
//!   latch holds it). base+Eh reads FFh with data available and 7Fh without.
//! - **Write status** (base+Ch read) is always 7Fh: bit 7 clear, ready for a command.
//! - **Unknown commands** (everything not listed above, including DSP 2.01 commands such as
//!   1Ch, 48h, 91h or D0h) are ignored and take no data bytes, so a guest that sends their
//!   operands has those bytes decoded as commands; a guest that wants them sees no effect.
//! - **Ports**: base..base+Fh are claimed. Offsets other than 6, Ah, Ch and Eh (the FM/mixer
//!   registers on real cards, not modelled) read FFh and ignore writes; reads of base+6 read FFh
//!   and writes to base+Ah and base+Eh are ignored.
//! - **IRQ and DMA wiring** are configuration ([`Sb::new`]); the default IRQ is 5 (the usual
//!   setting for SB 2.0 cards, keeping IRQ 7 free for the printer port). [`Sb::irq`] is the
//!   level of that line: raised by a completed transfer or F2h, dropped by reading base+Eh or
//!   a reset.
//!
//! The owner drives the PIC: after every [`Sb::read`], [`Sb::write`] and
//! [`Sb::complete_transfer`] it sets [`Sb::irq_line`] to [`Sb::irq`].

use serde::{Deserialize, Serialize};

/// The usual I/O base of a Sound Blaster.
pub const SB_BASE: u16 = 0x220;
/// The default interrupt request line ([`Sb::default_pc`]).
pub const SB_IRQ: u8 = 5;
/// The default 8-bit DMA channel ([`Sb::default_pc`]).
pub const SB_DMA: usize = 1;
/// How many bytes the read buffer holds before further bytes are dropped.
pub const READ_BUFFER_LEN: usize = 16;

/// What a read from a port this device does not drive returns.
const OPEN_BUS: u8 = 0xFF;

// Port offsets from the base.
const RESET: u16 = 0x6;
const READ_DATA: u16 = 0xA;
const WRITE: u16 = 0xC;
const READ_STATUS: u16 = 0xE;

/// The byte the DSP puts in its read buffer when a reset completes.
const RESET_ACK: u8 = 0xAA;
/// The DSP version E1h reports: major, minor.
const VERSION: [u8; 2] = [0x02, 0x01];

// DSP commands.
const CMD_DIRECT_8: u8 = 0x10;
const CMD_DMA_8: u8 = 0x14;
const CMD_TIME_CONSTANT: u8 = 0x40;
const CMD_SPEAKER_ON: u8 = 0xD1;
const CMD_SPEAKER_OFF: u8 = 0xD3;
const CMD_SPEAKER_STATUS: u8 = 0xD8;
const CMD_IDENTIFY: u8 = 0xE0;
const CMD_VERSION: u8 = 0xE1;
const CMD_FORCE_IRQ: u8 = 0xF2;

/// A DMA output transfer the DSP has been told to play.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaRequest {
    /// The 8237 channel the bytes come through.
    pub channel: usize,
    /// How many bytes (8-bit mono samples): the command's length + 1, 1..=65536.
    pub bytes: u32,
    /// The sample rate in Hz from the time constant, 3,906..=1,000,000.
    pub sample_rate_hz: u32,
}

impl DmaRequest {
    /// How long the transfer plays, in microseconds, rounded up.
    pub fn duration_us(&self) -> u64 {
        let rate = u64::from(self.sample_rate_hz.max(1));
        (u64::from(self.bytes) * 1_000_000).div_ceil(rate)
    }
}

/// One Sound Blaster DSP. `Default` is not provided: base, IRQ and DMA are part of the wiring.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Sb {
    base: u16,
    irq_line: u8,
    dma_channel: usize,
    /// Bit 0 of the last base+6 write: the DSP is held in reset.
    in_reset: bool,
    /// The command whose data bytes are being collected.
    command: Option<u8>,
    /// Data bytes of `command` received so far (only 14h takes two; the first is kept here).
    first_arg: Option<u8>,
    /// Bytes waiting to be read at base+Ah, oldest first, at most [`READ_BUFFER_LEN`].
    read_buffer: Vec<u8>,
    /// The last byte read at base+Ah (what an empty buffer reads).
    last_read: u8,
    time_constant: u8,
    speaker: bool,
    pending: Option<DmaRequest>,
    irq_pending: bool,
    bytes_played: u64,
    checksum: u32,
}

impl Sb {
    /// A DSP at `base` (decoding `base`..`base + Fh`) wired to `irq` and 8-bit DMA channel
    /// `dma_channel`, in its power-on state.
    pub fn new(base: u16, irq: u8, dma_channel: usize) -> Self {
        Sb {
            base,
            irq_line: irq,
            dma_channel,
            in_reset: false,
            command: None,
            first_arg: None,
            read_buffer: Vec::new(),
            last_read: 0,
            time_constant: 0,
            speaker: false,
            pending: None,
            irq_pending: false,
            bytes_played: 0,
            checksum: 0,
        }
    }

    /// The usual setting: base 220h, IRQ 5, DMA channel 1.
    pub fn default_pc() -> Self {
        Self::new(SB_BASE, SB_IRQ, SB_DMA)
    }

    /// Whether `port` is one of the sixteen ports base..base+Fh.
    pub fn handles_port(&self, port: u16) -> bool {
        self.offset(port).is_some()
    }

    fn offset(&self, port: u16) -> Option<u16> {
        port.checked_sub(self.base).filter(|&o| o < 0x10)
    }

    /// The level of the interrupt line: a transfer completed or F2h, not yet acknowledged.
    pub fn irq(&self) -> bool {
        self.irq_pending
    }

    /// The PIC input this DSP is wired to.
    pub fn irq_line(&self) -> u8 {
        self.irq_line
    }

    /// The 8237 channel this DSP's 8-bit transfers use.
    pub fn dma_channel(&self) -> usize {
        self.dma_channel
    }

    /// The DMA output transfer waiting for [`Sb::complete_transfer`], if any.
    pub fn pending_transfer(&self) -> Option<DmaRequest> {
        self.pending
    }

    /// Whether the speaker (DAC output) is on.
    pub fn speaker_on(&self) -> bool {
        self.speaker
    }

    /// The time constant last set by 40h.
    pub fn time_constant(&self) -> u8 {
        self.time_constant
    }

    /// The sample rate, 1,000,000 / (256 - time constant) Hz, rounded down.
    pub fn sample_rate_hz(&self) -> u32 {
        1_000_000 / (256 - u32::from(self.time_constant))
    }

    /// Sample bytes sent to the DAC so far (DMA and direct output).
    pub fn bytes_played(&self) -> u64 {
        self.bytes_played
    }

    /// The wrapping 32-bit sum of every sample byte counted by [`Sb::bytes_played`].
    pub fn checksum(&self) -> u32 {
        self.checksum
    }

    /// The machine finished the pending transfer, having pulled `data` through the DMA
    /// controller: counts at most the requested bytes, clears the request and raises the IRQ.
    /// Ignored when no transfer is pending.
    pub fn complete_transfer(&mut self, data: &[u8]) {
        let Some(request) = self.pending.take() else {
            return;
        };
        let wanted = usize::try_from(request.bytes).unwrap_or(usize::MAX);
        for &byte in data.iter().take(wanted) {
            self.play(byte);
        }
        self.irq_pending = true;
    }

    /// An `IN` from `port`; ports outside this DSP read FFh.
    pub fn read(&mut self, port: u16) -> u8 {
        match self.offset(port) {
            Some(READ_DATA) => {
                if !self.read_buffer.is_empty() {
                    self.last_read = self.read_buffer.remove(0);
                }
                self.last_read
            }
            Some(WRITE) => 0x7F, // always ready for a command
            Some(READ_STATUS) => {
                // Reading the status acknowledges the 8-bit DMA interrupt.
                self.irq_pending = false;
                if self.read_buffer.is_empty() {
                    0x7F
                } else {
                    0xFF
                }
            }
            _ => OPEN_BUS,
        }
    }

    /// An `OUT` to `port`; ports outside this DSP are ignored.
    pub fn write(&mut self, port: u16, value: u8) {
        match self.offset(port) {
            Some(RESET) => {
                let hold = value & 1 != 0;
                if self.in_reset && !hold {
                    self.reset();
                }
                self.in_reset = hold;
            }
            Some(WRITE) if !self.in_reset => self.command_byte(value),
            _ => {}
        }
    }

    /// The end of a reset pulse: see the module docs.
    fn reset(&mut self) {
        self.command = None;
        self.first_arg = None;
        self.read_buffer.clear();
        self.pending = None;
        self.irq_pending = false;
        self.speaker = false;
        self.push(RESET_ACK);
    }

    fn push(&mut self, byte: u8) {
        if self.read_buffer.len() < READ_BUFFER_LEN {
            self.read_buffer.push(byte);
        }
    }

    fn play(&mut self, byte: u8) {
        self.bytes_played = self.bytes_played.wrapping_add(1);
        self.checksum = self.checksum.wrapping_add(u32::from(byte));
    }

    /// A byte written to base+Ch: a new command, or a data byte of the current one.
    fn command_byte(&mut self, value: u8) {
        let Some(command) = self.command else {
            self.start_command(value);
            return;
        };
        match command {
            CMD_DMA_8 => match self.first_arg.take() {
                None => {
                    self.first_arg = Some(value);
                    return;
                }
                Some(lo) => {
                    let length = u32::from(u16::from_le_bytes([lo, value]));
                    self.pending = Some(DmaRequest {
                        channel: self.dma_channel,
                        bytes: length + 1,
                        sample_rate_hz: self.sample_rate_hz(),
                    });
                }
            },
            CMD_DIRECT_8 => self.play(value),
            CMD_TIME_CONSTANT => self.time_constant = value,
            CMD_IDENTIFY => self.push(!value),
            _ => {} // start_command() collects data only for the commands above
        }
        self.command = None;
    }

    fn start_command(&mut self, command: u8) {
        match command {
            CMD_DIRECT_8 | CMD_DMA_8 | CMD_TIME_CONSTANT | CMD_IDENTIFY => {
                self.command = Some(command);
                self.first_arg = None;
            }
            CMD_SPEAKER_ON => self.speaker = true,
            CMD_SPEAKER_OFF => self.speaker = false,
            CMD_SPEAKER_STATUS => self.push(if self.speaker { 0xFF } else { 0x00 }),
            CMD_VERSION => {
                for byte in VERSION {
                    self.push(byte);
                }
            }
            CMD_FORCE_IRQ => self.irq_pending = true,
            _ => {} // unknown: ignored, takes no data bytes (module docs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESET_PORT: u16 = SB_BASE + 0x6;
    const DATA: u16 = SB_BASE + 0xA;
    const CMD: u16 = SB_BASE + 0xC;
    const STATUS: u16 = SB_BASE + 0xE;

    /// The guide's reset procedure: write 1 to base+6, then 0, and read AAh back.
    fn reset(sb: &mut Sb) {
        sb.write(RESET_PORT, 1);
        sb.write(RESET_PORT, 0);
        assert_eq!(sb.read(DATA), RESET_ACK);
    }

    fn fresh() -> Sb {
        let mut sb = Sb::default_pc();
        reset(&mut sb);
        sb
    }

    fn send(sb: &mut Sb, bytes: &[u8]) {
        for &b in bytes {
            // The guide: wait until bit 7 of base+Ch is clear before writing.
            assert_eq!(sb.read(CMD) & 0x80, 0);
            sb.write(CMD, b);
        }
    }

    #[test]
    fn reset_handshake_puts_aa_in_the_read_buffer() {
        let mut sb = Sb::default_pc();
        // Nothing to read before the reset: base+Eh bit 7 is clear.
        assert_eq!(sb.read(STATUS) & 0x80, 0);
        sb.write(RESET_PORT, 1);
        assert_eq!(sb.read(STATUS) & 0x80, 0, "the DSP resets on the 0 write");
        sb.write(RESET_PORT, 0);
        // "Poll the read-buffer status until bit 7 is set, then read AAh."
        assert_eq!(sb.read(STATUS) & 0x80, 0x80);
        assert_eq!(sb.read(DATA), 0xAA);
        assert_eq!(sb.read(STATUS) & 0x80, 0);
        // A 0 write without a preceding 1 is not a reset pulse.
        sb.write(RESET_PORT, 0);
        assert_eq!(sb.read(STATUS) & 0x80, 0);
    }

    #[test]
    fn version_command_reads_two_bytes() {
        // E1h returns the major then the minor version number: 2.01 here.
        let mut sb = fresh();
        send(&mut sb, &[0xE1]);
        assert_eq!(sb.read(STATUS) & 0x80, 0x80);
        assert_eq!(sb.read(DATA), 0x02);
        assert_eq!(sb.read(DATA), 0x01);
        assert_eq!(sb.read(STATUS) & 0x80, 0);
    }

    #[test]
    fn time_constant_sets_the_sample_rate() {
        // Time constant = 256 - 1,000,000 / rate; 165 gives 1,000,000 / 91 = 10,989 Hz.
        let mut sb = fresh();
        send(&mut sb, &[0x40, 165]);
        assert_eq!(sb.time_constant(), 165);
        assert_eq!(sb.sample_rate_hz(), 10_989);
        send(&mut sb, &[0x40, 0xFF]);
        assert_eq!(sb.sample_rate_hz(), 1_000_000);
        send(&mut sb, &[0x40, 0x00]);
        assert_eq!(sb.sample_rate_hz(), 3_906);
    }

    #[test]
    fn single_cycle_dma_requests_length_plus_one_bytes() {
        // 14h, length low, length high: the DSP transfers length + 1 bytes.
        let mut sb = fresh();
        send(&mut sb, &[0x40, 165, 0x14, 0xFF]);
        assert_eq!(sb.pending_transfer(), None, "needs both length bytes");
        send(&mut sb, &[0x03]);
        let request = sb.pending_transfer().unwrap();
        assert_eq!(
            request,
            DmaRequest {
                channel: 1,
                bytes: 1024,
                sample_rate_hz: 10_989
            }
        );
        // 1024 samples at 10,989 Hz: 93,184.09 us, rounded up.
        assert_eq!(request.duration_us(), 93_185);
        assert!(!sb.irq());
        // The channel is the wiring's.
        let mut other = Sb::new(0x240, 7, 3);
        other.write(0x246, 1);
        other.write(0x246, 0);
        other.write(0x24C, 0x14);
        other.write(0x24C, 0);
        other.write(0x24C, 0);
        assert_eq!(other.pending_transfer().unwrap().channel, 3);
        assert_eq!(other.pending_transfer().unwrap().bytes, 1);
        assert_eq!((other.irq_line(), other.dma_channel()), (7, 3));
    }

    #[test]
    fn completed_transfer_interrupts_until_status_is_read() {
        // End of a DMA block: the DSP interrupts; reading base+Eh acknowledges it.
        let mut sb = fresh();
        send(&mut sb, &[0x14, 0x02, 0x00]);
        sb.complete_transfer(&[1, 2, 0xFF, 9]);
        assert_eq!(sb.pending_transfer(), None);
        assert!(sb.irq());
        assert_eq!(sb.bytes_played(), 3, "at most length + 1 bytes are played");
        assert_eq!(sb.checksum(), 1 + 2 + 0xFF);
        assert!(sb.irq(), "reading other ports does not acknowledge");
        let _ = sb.read(DATA);
        assert!(sb.irq());
        let _ = sb.read(STATUS);
        assert!(!sb.irq());
        // With nothing pending a completion is ignored.
        sb.complete_transfer(&[5]);
        assert!(!sb.irq());
        assert_eq!(sb.bytes_played(), 3);
    }

    #[test]
    fn direct_output_is_counted() {
        // 10h takes one sample byte and sends it to the DAC.
        let mut sb = fresh();
        send(&mut sb, &[0x10, 0x80, 0x10, 0x7F]);
        assert_eq!(sb.bytes_played(), 2);
        assert_eq!(sb.checksum(), 0xFF);
        assert_eq!(sb.read(STATUS) & 0x80, 0);
    }

    #[test]
    fn speaker_commands() {
        // D1h on, D3h off, D8h reads FFh when on and 00h when off.
        let mut sb = fresh();
        assert!(!sb.speaker_on());
        send(&mut sb, &[0xD8]);
        assert_eq!(sb.read(DATA), 0x00);
        send(&mut sb, &[0xD1, 0xD8]);
        assert!(sb.speaker_on());
        assert_eq!(sb.read(DATA), 0xFF);
        send(&mut sb, &[0xD3, 0xD8]);
        assert!(!sb.speaker_on());
        assert_eq!(sb.read(DATA), 0x00);
    }

    #[test]
    fn identify_returns_the_inverted_byte() {
        // E0h, data byte: the DSP returns its bitwise NOT.
        let mut sb = fresh();
        send(&mut sb, &[0xE0, 0xA5]);
        assert_eq!(sb.read(DATA), 0x5A);
        send(&mut sb, &[0xE0, 0x00]);
        assert_eq!(sb.read(DATA), 0xFF);
        // An empty buffer reads the last byte again.
        assert_eq!(sb.read(DATA), 0xFF);
    }

    #[test]
    fn reset_cancels_a_pending_transfer() {
        let mut sb = fresh();
        send(&mut sb, &[0xD1, 0x14, 0x10, 0x00, 0xF2]);
        assert!(sb.pending_transfer().is_some());
        assert!(sb.irq());
        // Commands written while the DSP is held in reset are ignored.
        sb.write(RESET_PORT, 1);
        sb.write(CMD, 0xE1);
        sb.write(RESET_PORT, 0);
        assert_eq!(sb.pending_transfer(), None);
        assert!(!sb.irq());
        assert!(!sb.speaker_on());
        assert_eq!(sb.read(DATA), 0xAA);
        assert_eq!(sb.read(STATUS) & 0x80, 0);
        sb.complete_transfer(&[1, 2, 3]);
        assert!(!sb.irq());
        assert_eq!(sb.bytes_played(), 0);
    }

    #[test]
    fn force_irq_raises_the_line() {
        // F2h makes the DSP generate an 8-bit interrupt; base+Eh acknowledges it.
        let mut sb = fresh();
        assert!(!sb.irq());
        send(&mut sb, &[0xF2]);
        assert!(sb.irq());
        let _ = sb.read(STATUS);
        assert!(!sb.irq());
    }

    #[test]
    fn ports_and_unknown_commands() {
        let mut sb = fresh();
        assert!(sb.handles_port(0x220) && sb.handles_port(0x22F));
        assert!(!sb.handles_port(0x21F) && !sb.handles_port(0x230));
        for offset in [0x0, 0x1, 0x6, 0x8, 0xF] {
            assert_eq!(sb.read(SB_BASE + offset), 0xFF);
        }
        assert_eq!(sb.read(0x388), 0xFF);
        // Unknown commands take no data: the E1h after 1Ch is a command.
        send(&mut sb, &[0x1C, 0xE1]);
        assert_eq!(sb.read(DATA), 0x02);
        // A full read buffer drops further bytes.
        send(&mut sb, &[0xD8; READ_BUFFER_LEN + 4]);
        assert_eq!(sb.read_buffer.len(), READ_BUFFER_LEN);
        assert_eq!(sb.read(DATA), 0x01);
    }

    #[test]
    fn any_byte_on_any_port_never_panics() {
        let ports: Vec<u16> = (0x21E..0x232).collect();
        let mut sb = Sb::default_pc();
        for &port in &ports {
            for value in 0..=255u8 {
                sb.write(port, value);
                let _ = sb.read(port);
            }
        }
        for value in 0..=255u8 {
            for &port in ports.iter().rev() {
                sb.write(port, value);
                sb.write(CMD, value);
                let _ = sb.read(port);
            }
            sb.complete_transfer(&[value; 3]);
        }
        // A fixed linear congruential sequence of (port, value) pairs.
        let mut x: u32 = 12_345;
        for _ in 0..100_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let port = ports[(x >> 16) as usize % ports.len()];
            let value = (x >> 8) as u8;
            if x & 1 == 0 {
                sb.write(port, value);
            } else {
                let _ = sb.read(port);
            }
            if x & 0xF0 == 0 {
                if let Some(r) = sb.pending_transfer() {
                    let _ = r.duration_us();
                }
                sb.complete_transfer(&[value]);
            }
            assert!(sb.read_buffer.len() <= READ_BUFFER_LEN);
        }
        let mut odd = Sb::new(0xFFF8, 255, usize::MAX);
        for port in 0xFFF0..=0xFFFF {
            odd.write(port, 0x14);
            let _ = odd.read(port);
        }
    }

    #[test]
    fn serde_round_trip() {
        let mut sb = fresh();
        // Mid-command (14h with one length byte), speaker on, bytes to read, IRQ raised.
        send(
            &mut sb,
            &[0xD1, 0x40, 0xA5, 0xE1, 0xF2, 0x14, 0x10, 0x00, 0x14, 0x07],
        );
        let json = serde_json::to_string(&sb).unwrap();
        let mut back: Sb = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sb);
        for s in [&mut sb, &mut back] {
            s.write(CMD, 0x00);
            s.complete_transfer(&[3; 8]);
        }
        assert_eq!(back, sb);
        assert_eq!(back.bytes_played(), 8);
        for port in SB_BASE..SB_BASE + 0x10 {
            assert_eq!(back.read(port), sb.read(port), "port {port:#x}");
        }
        assert_eq!(back, sb);
    }
}
