//! The PC/AT DMA subsystem: two Intel 8237A DMA controllers and the 74LS612 page registers.
//!
//! Sources: the Intel datasheet "8237A High Performance Programmable DMA Controller
//! (8237A, 8237A-4, 8237A-5)" for the programming model (register set, command codes, mode
//! register, first/last flip-flop, Master Clear, terminal count and autoinitialize), and the
//! IBM PC/AT Technical Reference (System Board: "DMA Controller" and the I/O address map) for
//! the wiring: DMA1 (8-bit channels 0-3) answers 00h-0Fh; DMA2 (16-bit channels 4-7) answers
//! C0h-DEh with its register n at C0h + 2n; channel 4 cascades DMA1; the page registers at
//! 80h-8Fh supply A16-A23 (channels 0-3) or A17-A23 (channels 5-7, the word address shifted left
//! by one supplies A1-A16; page bit 0 is ignored).
//!
//! Decisions where the documents leave room, or where this emulator differs on purpose:
//! - **No clock**: transfers do not happen per bus cycle. A device calls
//!   [`DmaPair::transfer_to_memory`] (mode "write") or [`DmaPair::transfer_from_memory`] (mode
//!   "read") when its transfer completes; demand, single and block mode all move as many units
//!   as the device offers, up to terminal count. Verify (00) and the illegal type 11 match
//!   neither call, nor does a channel in cascade mode, so they move nothing.
//! - **Terminal count** is reached when the current count wraps from 0000h to FFFFh, so a
//!   programmed count N moves N+1 units. At TC the status TC bit and the end of the software
//!   request are set/cleared as the datasheet says; with autoinitialize the current address and
//!   count reload from the base registers and the transfer *continues* if the device offers more
//!   data (the request line is still active on hardware); without it the mask bit is set and
//!   the transfer stops. [`Transfer::terminal_count`] says TC was reached at least once.
//! - **Wrap inside the page**: the current address is a 16-bit counter; the page register does
//!   not carry (64 KiB pages for DMA1, 128 KiB for DMA2), as on the AT.
//! - **16-bit channels** move two bytes per unit, low byte at the even address. `data.len()` and
//!   `max` always count bytes; an odd trailing byte on a 16-bit channel is not transferred.
//! - **Cascade not gated**: the AT routes DMA1's hold request through DMA2 channel 4; the BIOS
//!   always programs channel 4 for cascade and unmasks it, so DMA1 transfers here regardless of
//!   channel 4's state. Channel 4 itself never transfers. The command register is stored;
//!   only its bit 2 (controller disable) acts: a disabled chip moves nothing. Memory-to-memory
//!   (command bit 0) is not modelled (the PC bus cannot use it).
//! - **Power-on** is the Master Clear state (command, status, request, temporary registers and
//!   the flip-flop cleared, all mask bits set); address, count and mode registers, undefined on
//!   hardware, start at 0. Master Clear leaves address, count and mode alone (datasheet).
//! - **Reads**: address/count ports read the *current* registers (the base registers are not
//!   readable). Reading status clears its TC bits; status bits 4-7 are the software request
//!   register (no DREQ lines are modelled). 0Dh reads the temporary register. 0Fh reads the
//!   masks in bits 0-3 with bits 4-7 set (later AT chipsets allow this read-back; the 8237A
//!   calls it illegal). The other write-only registers (09h-0Ch, 0Eh) read FFh.
//! - **Ports**: DMA2 is claimed on its even ports only (as Bochs and QEMU do); on a real AT A0
//!   is not decoded, so odd ports C1h-DFh alias. All sixteen 74LS612 latches 80h-8Fh read back
//!   what was written; 80h is the POST code port ([`DmaPair::post_code`]), 8Fh is channel 4's
//!   (unused, refresh on the AT).
//! - **Mode read-back**: [`DmaPair::mode`] returns mode register bits 7-2 as written; bits 1-0
//!   (the channel select of the write) read 0.
//! - **Out-of-range channels** (above 7) transfer nothing and every accessor returns 0/false.

use serde::{Deserialize, Serialize};

/// First port of DMA1 (8-bit channels 0-3); its registers are 00h-0Fh.
pub const DMA1_BASE: u16 = 0x00;
/// First port of DMA2 (16-bit channels 4-7); register n is at C0h + 2n.
pub const DMA2_BASE: u16 = 0xC0;
/// First page register port; the latches are 80h-8Fh.
pub const PAGE_BASE: u16 = 0x80;
/// The POST diagnostic code port (page register latch 0).
pub const POST_CODE_PORT: u16 = 0x80;
/// The page register port of each channel 0-7 (IBM PC/AT Technical Reference).
pub const PAGE_PORTS: [u16; 8] = [0x87, 0x83, 0x81, 0x82, 0x8F, 0x8B, 0x89, 0x8A];

/// What a read of a port nothing drives returns.
const OPEN_BUS: u8 = 0xFF;

// Register numbers (A3-A0) within one 8237A.
const REG_STATUS_COMMAND: u16 = 0x8;
const REG_REQUEST: u16 = 0x9;
const REG_SINGLE_MASK: u16 = 0xA;
const REG_MODE: u16 = 0xB;
const REG_CLEAR_FLIP_FLOP: u16 = 0xC;
const REG_MASTER_CLEAR_TEMP: u16 = 0xD;
const REG_CLEAR_MASK: u16 = 0xE;
const REG_ALL_MASK: u16 = 0xF;

/// Command register bit 2: controller disable.
const CMD_DISABLE: u8 = 0x04;
/// Mode register bit 4: autoinitialize.
const MODE_AUTOINIT: u8 = 0x10;
/// Mode register bit 5: address decrement.
const MODE_DECREMENT: u8 = 0x20;

/// Mode register bits 3-2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferType {
    /// 00: verify (no memory access).
    Verify,
    /// 01: write transfer, device to memory.
    Write,
    /// 10: read transfer, memory to device.
    Read,
    /// 11: illegal.
    Illegal,
}

/// Mode register bits 7-6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeSelect {
    /// 00: demand mode.
    Demand,
    /// 01: single transfer mode.
    Single,
    /// 10: block transfer mode.
    Block,
    /// 11: cascade mode.
    Cascade,
}

/// A decoded mode register value (bits 1-0, the channel select, are not part of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode {
    /// Bits 3-2.
    pub transfer: TransferType,
    /// Bit 4.
    pub autoinit: bool,
    /// Bit 5: the address counts down.
    pub decrement: bool,
    /// Bits 7-6.
    pub select: ModeSelect,
}

impl Mode {
    /// Decodes a mode register byte.
    pub fn decode(mode: u8) -> Mode {
        Mode {
            transfer: match (mode >> 2) & 3 {
                0 => TransferType::Verify,
                1 => TransferType::Write,
                2 => TransferType::Read,
                _ => TransferType::Illegal,
            },
            autoinit: mode & MODE_AUTOINIT != 0,
            decrement: mode & MODE_DECREMENT != 0,
            select: match mode >> 6 {
                0 => ModeSelect::Demand,
                1 => ModeSelect::Single,
                2 => ModeSelect::Block,
                _ => ModeSelect::Cascade,
            },
        }
    }
}

/// What one device-side transfer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Transfer {
    /// Units moved: bytes on channels 0-3, words on channels 5-7.
    pub units: usize,
    /// Terminal count was reached (at least once, with autoinitialize).
    pub terminal_count: bool,
}

/// One 8237A. Fields are its registers, public for reading (a [`DmaPair`] hands out only shared
/// references). Index `i` of the arrays is the chip's channel `i`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Dma8237 {
    /// Base address registers (written together with the current ones, reloaded by autoinit).
    pub base_address: [u16; 4],
    /// Base word count registers.
    pub base_count: [u16; 4],
    /// Current address registers.
    pub current_address: [u16; 4],
    /// Current word count registers.
    pub current_count: [u16; 4],
    /// Mode registers, bits 7-2 (bits 1-0 are 0).
    pub mode: [u8; 4],
    /// Command register.
    pub command: u8,
    /// Status bits 0-3: terminal count reached, cleared by reading status.
    pub terminal_count: u8,
    /// Request register bits 0-3 (software requests), status bits 4-7.
    pub request: u8,
    /// Mask register bits 0-3 (set = channel masked).
    pub mask: u8,
    /// First/last flip-flop: `true` means the next address/count access is the high byte.
    pub flip_flop: bool,
    /// Temporary register (memory-to-memory only; read at 0Dh).
    pub temporary: u8,
}

impl Default for Dma8237 {
    fn default() -> Self {
        Dma8237 {
            base_address: [0; 4],
            base_count: [0; 4],
            current_address: [0; 4],
            current_count: [0; 4],
            mode: [0; 4],
            command: 0,
            terminal_count: 0,
            request: 0,
            mask: 0x0F,
            flip_flop: false,
            temporary: 0,
        }
    }
}

impl Dma8237 {
    /// Master Clear (same as hardware reset): command, status, request, temporary registers
    /// and the flip-flop cleared, mask register set.
    fn master_clear(&mut self) {
        self.command = 0;
        self.terminal_count = 0;
        self.request = 0;
        self.temporary = 0;
        self.flip_flop = false;
        self.mask = 0x0F;
    }

    /// Toggles the flip-flop and says whether this access is the high byte.
    fn flip(&mut self) -> bool {
        let high = self.flip_flop;
        self.flip_flop = !high;
        high
    }

    fn read(&mut self, reg: u16) -> u8 {
        match reg {
            0..=7 => {
                let ch = usize::from(reg >> 1);
                let value = if reg & 1 == 0 {
                    self.current_address[ch]
                } else {
                    self.current_count[ch]
                };
                let [lo, hi] = value.to_le_bytes();
                if self.flip() { hi } else { lo }
            }
            REG_STATUS_COMMAND => {
                let status = self.terminal_count | (self.request << 4);
                self.terminal_count = 0;
                status
            }
            REG_MASTER_CLEAR_TEMP => self.temporary,
            REG_ALL_MASK => 0xF0 | self.mask,
            _ => OPEN_BUS,
        }
    }

    fn write(&mut self, reg: u16, value: u8) {
        let ch = usize::from(value & 3);
        match reg {
            0..=7 => {
                let i = usize::from(reg >> 1);
                let high = self.flip();
                let (base, current) = if reg & 1 == 0 {
                    (&mut self.base_address[i], &mut self.current_address[i])
                } else {
                    (&mut self.base_count[i], &mut self.current_count[i])
                };
                let mut bytes = base.to_le_bytes();
                bytes[usize::from(high)] = value;
                *base = u16::from_le_bytes(bytes);
                *current = *base;
            }
            REG_STATUS_COMMAND => self.command = value,
            REG_REQUEST => set_bit(&mut self.request, ch, value & 4 != 0),
            REG_SINGLE_MASK => set_bit(&mut self.mask, ch, value & 4 != 0),
            REG_MODE => self.mode[ch] = value & 0xFC,
            REG_CLEAR_FLIP_FLOP => self.flip_flop = false,
            REG_MASTER_CLEAR_TEMP => self.master_clear(),
            REG_CLEAR_MASK => self.mask = 0,
            _ => self.mask = value & 0x0F,
        }
    }

    /// Advances channel `ch` by one unit; returns whether this unit reached terminal count.
    fn step(&mut self, ch: usize) -> bool {
        let mode = self.mode[ch];
        self.current_address[ch] = if mode & MODE_DECREMENT != 0 {
            self.current_address[ch].wrapping_sub(1)
        } else {
            self.current_address[ch].wrapping_add(1)
        };
        let (count, wrapped) = self.current_count[ch].overflowing_sub(1);
        self.current_count[ch] = count;
        if wrapped {
            self.terminal_count |= 1 << ch;
            self.request &= !(1 << ch);
            if mode & MODE_AUTOINIT != 0 {
                self.current_address[ch] = self.base_address[ch];
                self.current_count[ch] = self.base_count[ch];
            } else {
                self.mask |= 1 << ch;
            }
        }
        wrapped
    }
}

fn set_bit(reg: &mut u8, bit: usize, on: bool) {
    if on {
        *reg |= 1 << bit;
    } else {
        *reg &= !(1 << bit);
    }
}

/// The AT's two 8237As and the page registers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct DmaPair {
    /// DMA1 (channels 0-3) and DMA2 (channels 4-7).
    chips: [Dma8237; 2],
    /// The sixteen 74LS612 latches at 80h-8Fh.
    pages: [u8; 16],
}

impl Default for DmaPair {
    fn default() -> Self {
        Self::new()
    }
}

impl DmaPair {
    /// Power-on state: both chips in the Master Clear state (all channels masked), page
    /// registers 0.
    pub fn new() -> Self {
        DmaPair {
            chips: [Dma8237::default(), Dma8237::default()],
            pages: [0; 16],
        }
    }

    /// Whether `port` belongs to the DMA controllers or the page registers.
    pub const fn handles_port(port: u16) -> bool {
        Self::decode(port).is_some() || matches!(port, 0x80..=0x8F)
    }

    /// Maps a controller port to (chip, register).
    const fn decode(port: u16) -> Option<(usize, u16)> {
        match port {
            0x00..=0x0F => Some((0, port - DMA1_BASE)),
            0xC0..=0xDE if port & 1 == 0 => Some((1, (port - DMA2_BASE) >> 1)),
            _ => None,
        }
    }

    /// One chip, read-only: 0 is DMA1, 1 is DMA2 (other numbers give `None`).
    pub fn chip(&self, index: usize) -> Option<&Dma8237> {
        self.chips.get(index)
    }

    /// An `IN` from one of the ports; other ports read FFh.
    pub fn read(&mut self, port: u16) -> u8 {
        if let Some((chip, reg)) = Self::decode(port) {
            self.chips[chip].read(reg)
        } else if let 0x80..=0x8F = port {
            self.pages[usize::from(port - PAGE_BASE)]
        } else {
            OPEN_BUS
        }
    }

    /// An `OUT` to one of the ports; other ports are ignored.
    pub fn write(&mut self, port: u16, value: u8) {
        if let Some((chip, reg)) = Self::decode(port) {
            self.chips[chip].write(reg, value);
        } else if let 0x80..=0x8F = port {
            self.pages[usize::from(port - PAGE_BASE)] = value;
        }
    }

    /// The last byte written to the POST code port 80h.
    pub fn post_code(&self) -> u8 {
        self.pages[0]
    }

    /// (chip, channel within chip) for channels 0-7.
    fn split(channel: usize) -> Option<(usize, usize)> {
        (channel < 8).then_some((channel / 4, channel % 4))
    }

    /// Whether `channel`'s mask bit is set (`false` for channels above 7).
    pub fn masked(&self, channel: usize) -> bool {
        Self::split(channel).is_some_and(|(c, i)| self.chips[c].mask & (1 << i) != 0)
    }

    /// `channel`'s current address register (words on channels 4-7).
    pub fn current_address(&self, channel: usize) -> u16 {
        Self::split(channel).map_or(0, |(c, i)| self.chips[c].current_address[i])
    }

    /// `channel`'s current word count register (units left minus one).
    pub fn current_count(&self, channel: usize) -> u16 {
        Self::split(channel).map_or(0, |(c, i)| self.chips[c].current_count[i])
    }

    /// `channel`'s page register.
    pub fn page(&self, channel: usize) -> u8 {
        PAGE_PORTS
            .get(channel)
            .map_or(0, |&port| self.pages[usize::from(port - PAGE_BASE)])
    }

    /// `channel`'s mode register, bits 7-2 (see [`Mode::decode`]).
    pub fn mode(&self, channel: usize) -> u8 {
        Self::split(channel).map_or(0, |(c, i)| self.chips[c].mode[i])
    }

    /// The 24-bit physical address `channel`'s next unit goes to or comes from: page in
    /// A16-A23 (8-bit channels), or page bits 7-1 in A17-A23 and the word address in A1-A16.
    pub fn physical_address(&self, channel: usize) -> u32 {
        let page = u32::from(self.page(channel));
        let address = u32::from(self.current_address(channel));
        match channel {
            0..=3 => (page << 16) | address,
            4..=7 => ((page & 0xFE) << 16) | (address << 1),
            _ => 0,
        }
    }

    /// (chip, index, bytes per unit) if `channel` exists, is unmasked, its chip is enabled and
    /// its mode is a `wanted` transfer that is not cascade mode.
    fn ready(&self, channel: usize, wanted: TransferType) -> Option<(usize, usize, usize)> {
        let (c, i) = Self::split(channel)?;
        let chip = &self.chips[c];
        let mode = Mode::decode(chip.mode[i]);
        let ok = channel != 4
            && chip.mask & (1 << i) == 0
            && chip.command & CMD_DISABLE == 0
            && mode.transfer == wanted
            && mode.select != ModeSelect::Cascade;
        ok.then_some((c, i, c + 1))
    }

    /// A device-to-memory ("write") transfer of `data` on `channel`: stores each byte through
    /// `mem(physical address, byte)` until the data runs out or the channel stops at terminal
    /// count. Moves nothing if the channel is masked, disabled or not in write mode.
    pub fn transfer_to_memory(
        &mut self,
        channel: usize,
        data: &[u8],
        mem: &mut impl FnMut(u32, u8),
    ) -> Transfer {
        let mut done = Transfer::default();
        let Some((c, i, width)) = self.ready(channel, TransferType::Write) else {
            return done;
        };
        for unit in data.chunks_exact(width) {
            if self.chips[c].mask & (1 << i) != 0 {
                break;
            }
            let address = self.physical_address(channel);
            for (k, &byte) in (0u32..).zip(unit) {
                mem(address + k, byte);
            }
            done.units += 1;
            done.terminal_count |= self.chips[c].step(i);
        }
        done
    }

    /// A memory-to-device ("read") transfer of up to `max` bytes on `channel`: reads each byte
    /// through `mem(physical address)` until `max` is reached or the channel stops at terminal
    /// count. Moves nothing if the channel is masked, disabled or not in read mode.
    pub fn transfer_from_memory(
        &mut self,
        channel: usize,
        max: usize,
        mem: &impl Fn(u32) -> u8,
    ) -> (Vec<u8>, Transfer) {
        let mut data = Vec::new();
        let mut done = Transfer::default();
        let Some((c, i, width)) = self.ready(channel, TransferType::Read) else {
            return (data, done);
        };
        while max - data.len() >= width && self.chips[c].mask & (1 << i) == 0 {
            let address = self.physical_address(channel);
            data.extend((0..width as u32).map(|k| mem(address + k)));
            done.units += 1;
            done.terminal_count |= self.chips[c].step(i);
        }
        (data, done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Programs `channel` through its ports the way a driver does: mask, clear flip-flop,
    /// address lo/hi, count lo/hi, page, mode, unmask.
    fn program(d: &mut DmaPair, channel: usize, page: u8, address: u16, count: u16, mode: u8) {
        let (base, stride, i) = if channel < 4 {
            (DMA1_BASE, 1, channel as u16)
        } else {
            (DMA2_BASE, 2, channel as u16 - 4)
        };
        let reg = |r: u16| base + r * stride;
        d.write(reg(REG_SINGLE_MASK), 0x04 | i as u8);
        d.write(reg(REG_CLEAR_FLIP_FLOP), 0);
        for b in address.to_le_bytes() {
            d.write(reg(2 * i), b);
        }
        for b in count.to_le_bytes() {
            d.write(reg(2 * i + 1), b);
        }
        d.write(PAGE_PORTS[channel], page);
        d.write(reg(REG_MODE), mode | i as u8);
        d.write(reg(REG_SINGLE_MASK), i as u8);
    }

    /// A transfer of `units` that reached terminal count.
    fn at_tc(units: usize) -> Transfer {
        Transfer {
            units,
            terminal_count: true,
        }
    }

    /// Test memory: the byte at a physical address is a function of the address.
    fn pattern(address: u32) -> u8 {
        (address ^ (address >> 8) ^ (address >> 16)) as u8
    }

    #[test]
    fn flip_flop_programs_and_reads_low_then_high() {
        // Datasheet: the 16-bit address and count registers are accessed one byte at a time,
        // the first/last flip-flop selecting low then high byte; it toggles on each access and
        // is cleared by the Clear Byte Pointer command. Writes load base and current together;
        // reads return the current register.
        let mut d = DmaPair::new();
        d.write(0x0C, 0);
        d.write(0x04, 0x34);
        d.write(0x04, 0x12);
        d.write(0x05, 0xCD);
        d.write(0x05, 0xAB);
        assert_eq!(d.current_address(2), 0x1234);
        assert_eq!(d.current_count(2), 0xABCD);
        let chip = d.chip(0).unwrap();
        assert_eq!((chip.base_address[2], chip.base_count[2]), (0x1234, 0xABCD));
        d.write(0x0C, 0);
        assert_eq!([d.read(0x04), d.read(0x04)], [0x34, 0x12]);
        // The flip-flop is shared by all registers: a low-byte read leaves it on "high".
        assert_eq!(d.read(0x05), 0xCD);
        assert_eq!(d.read(0x04), 0x12);
        d.write(0x0C, 0);
        assert_eq!(d.read(0x05), 0xCD);
        // DMA2 uses the same scheme on its even ports: channel 6 address is register 4 (C8h).
        d.write(0xD8, 0);
        d.write(0xC8, 0x78);
        d.write(0xC8, 0x56);
        assert_eq!(d.current_address(6), 0x5678);
    }

    #[test]
    fn mode_register_decode() {
        // Datasheet, Mode Register: bits 1-0 select the channel, 3-2 verify/write/read,
        // bit 4 autoinitialize, bit 5 address decrement, bits 7-6 demand/single/block/cascade.
        let mut d = DmaPair::new();
        d.write(0x0B, 0x49); // single, read, channel 1
        d.write(0x0B, 0x56); // single, autoinit, write, channel 2
        d.write(0x0B, 0xA3); // block, decrement, verify, channel 3
        d.write(0xD6, 0xC0); // DMA2 channel 0 (= channel 4): cascade
        assert_eq!(d.mode(1), 0x48);
        assert_eq!(d.mode(0), 0x00);
        let m = Mode::decode(d.mode(1));
        assert_eq!(
            (m.transfer, m.autoinit, m.decrement),
            (TransferType::Read, false, false)
        );
        assert_eq!(m.select, ModeSelect::Single);
        let m = Mode::decode(d.mode(2));
        assert_eq!(
            (m.transfer, m.autoinit, m.select),
            (TransferType::Write, true, ModeSelect::Single)
        );
        let m = Mode::decode(d.mode(3));
        assert_eq!(
            (m.transfer, m.decrement, m.select),
            (TransferType::Verify, true, ModeSelect::Block)
        );
        assert_eq!(Mode::decode(d.mode(4)).select, ModeSelect::Cascade);
        assert_eq!(Mode::decode(0x0C).transfer, TransferType::Illegal);
        assert_eq!(Mode::decode(0x00).select, ModeSelect::Demand);
    }

    #[test]
    fn single_and_all_mask_registers() {
        // Datasheet: single mask (0Ah) bits 1-0 select, bit 2 set/clear; write all mask (0Fh)
        // bits 0-3; clear mask register (0Eh) clears all four.
        let mut d = DmaPair::new();
        d.write(0x0A, 0x01);
        assert!(!d.masked(1) && d.masked(0) && d.masked(2) && d.masked(3));
        d.write(0x0A, 0x05);
        assert!(d.masked(1));
        d.write(0x0E, 0);
        assert!((0..4).all(|ch| !d.masked(ch)));
        assert!(d.masked(4), "DMA2 is a separate chip");
        d.write(0x0F, 0x0A);
        assert!(!d.masked(0) && d.masked(1) && !d.masked(2) && d.masked(3));
        assert_eq!(d.read(0x0F), 0xFA);
        d.write(0xDE, 0x01); // DMA2 write all masks: only channel 4 masked
        assert!(d.masked(4) && !d.masked(5) && !d.masked(6) && !d.masked(7));
        d.write(0xD4, 0x06); // DMA2 single mask: set channel 6
        assert!(d.masked(6));
        assert!(!d.masked(8), "out of range reads false");
    }

    #[test]
    fn master_clear_masks_all() {
        // Datasheet: Master Clear has the effect of Reset: command, status, request,
        // temporary and flip-flop cleared, all masks set; address/count/mode untouched.
        // Power-on (hardware Reset) is the same state.
        let mut d = DmaPair::new();
        assert!((0..8).all(|ch| d.masked(ch)));
        assert_eq!((d.read(0x08), d.read(0xD0), d.read(0x0D)), (0, 0, 0));
        assert!(d.chip(2).is_none());
        program(&mut d, 1, 0x12, 0x3456, 9, 0x48);
        d.write(0x08, 0x10);
        d.write(0x09, 0x06); // software request channel 2
        d.write(0x0E, 0);
        d.write(0x04, 0x00); // flip-flop now "high"
        d.write(0x0D, 0);
        assert!((0..4).all(|ch| d.masked(ch)));
        let chip = d.chip(0).unwrap();
        assert_eq!((chip.command, chip.request, chip.flip_flop), (0, 0, false));
        assert_eq!(d.read(0x08), 0);
        assert_eq!(
            (d.current_address(1), d.current_count(1), d.mode(1)),
            (0x3456, 9, 0x48)
        );
    }

    #[test]
    fn sound_blaster_playback_reads_n_bytes_and_sets_tc() {
        // An SB driver: channel 1, page 83h, mode 48h (single, read from memory), count N-1.
        // Datasheet: TC occurs when the count rolls from 0 to FFFFh, so N bytes move; TC sets
        // status bit 1 (cleared by the status read) and, without autoinit, the mask bit.
        const N: usize = 300;
        let mut d = DmaPair::new();
        program(&mut d, 1, 0x12, 0x3456, (N - 1) as u16, 0x48);
        assert_eq!(d.read(0x83), 0x12);
        assert_eq!(d.physical_address(1), 0x12_3456);
        let (data, t) = d.transfer_from_memory(1, 4096, &pattern);
        assert_eq!(t, at_tc(N));
        let expected: Vec<u8> = (0x12_3456..0x12_3456 + N as u32).map(pattern).collect();
        assert_eq!(data, expected);
        assert_eq!(d.current_count(1), 0xFFFF);
        assert_eq!(d.current_address(1), 0x3456 + N as u16);
        assert!(d.masked(1));
        assert_eq!(d.read(0x08) & 0x0F, 0x02);
        assert_eq!(d.read(0x08) & 0x0F, 0x00, "reading status clears TC");
        let (more, t) = d.transfer_from_memory(1, 4096, &pattern);
        assert!(more.is_empty() && t == Transfer::default());
        // A device taking fewer bytes than programmed stops short of TC, channel unmasked.
        program(&mut d, 1, 0x02, 0x0100, 9, 0x48);
        let (data, t) = d.transfer_from_memory(1, 4, &pattern);
        assert_eq!((data.len(), t.units, t.terminal_count), (4, 4, false));
        assert_eq!((d.current_address(1), d.current_count(1)), (0x0104, 5));
        assert_eq!((d.read(0x08) & 0x0F, d.masked(1)), (0, false));
    }

    #[test]
    fn autoinit_reloads_base_registers() {
        // Datasheet, Autoinitialize: at EOP the current address and count are restored from
        // the base registers and the mask bit is left clear.
        let mut d = DmaPair::new();
        program(&mut d, 1, 0x01, 0x2000, 3, 0x58); // single, autoinit, read
        let (data, t) = d.transfer_from_memory(1, 6, &pattern);
        let addresses = [0x2000, 0x2001, 0x2002, 0x2003, 0x2000, 0x2001];
        let expected: Vec<u8> = addresses.iter().map(|&a| pattern(0x1_0000 | a)).collect();
        assert_eq!(data, expected);
        assert_eq!(t, at_tc(6));
        assert!(!d.masked(1));
        assert_eq!((d.current_address(1), d.current_count(1)), (0x2002, 1));
        assert_eq!(d.read(0x08) & 0x0F, 0x02);
    }

    #[test]
    fn address_decrement() {
        // Mode bit 5: the address is decremented after each transfer.
        let mut d = DmaPair::new();
        program(&mut d, 3, 0x04, 0x0010, 2, 0x64); // single, decrement, write
        let mut seen = Vec::new();
        let t = d.transfer_to_memory(3, &[1, 2, 3, 4], &mut |a, b| seen.push((a, b)));
        assert_eq!(t, at_tc(3));
        assert_eq!(seen, [(0x4_0010, 1), (0x4_000F, 2), (0x4_000E, 3)]);
        assert_eq!(d.current_address(3), 0x000D);
    }

    #[test]
    fn address_wraps_inside_the_64k_page() {
        // AT TechRef: the page register does not count; the 8237's 16-bit address rolls from
        // FFFFh to 0000h within the same 64 KiB page.
        let mut d = DmaPair::new();
        program(&mut d, 2, 0x05, 0xFFFE, 3, 0x44); // single, write (floppy-style)
        let mut seen = Vec::new();
        let t = d.transfer_to_memory(2, &[9, 8, 7, 6, 5], &mut |a, _| seen.push(a));
        assert_eq!(t.units, 4);
        assert_eq!(seen, [0x5_FFFE, 0x5_FFFF, 0x5_0000, 0x5_0001]);
        assert_eq!(d.page(2), 0x05);
    }

    #[test]
    fn sixteen_bit_channel_translation_and_byte_doubling() {
        // AT TechRef: DMA2 addresses words; A1-A16 come from address bits 0-15 and A17-A23
        // from page register 8Bh bits 7-1 (bit 0 ignored). Each unit is two bytes.
        let mut d = DmaPair::new();
        program(&mut d, 5, 0x13, 0x8001, 2, 0x44); // 3 words, single, write
        assert_eq!(d.physical_address(5), 0x13_0002);
        let mut seen = Vec::new();
        let t = d.transfer_to_memory(5, &[1, 2, 3, 4, 5, 6, 7, 8], &mut |a, b| seen.push((a, b)));
        assert_eq!(t, at_tc(3));
        assert_eq!(seen, (0x13_0002..).zip(1..=6).collect::<Vec<(u32, u8)>>());
        assert_eq!(d.read(0xD0) & 0x0F, 0x02, "DMA2 status bit 1 is channel 5");
        // The 128 KiB page wraps too: word FFFFh + 1 is word 0000h.
        program(&mut d, 6, 0x20, 0xFFFF, 1, 0x48);
        let (data, t) = d.transfer_from_memory(6, 5, &pattern);
        assert_eq!(t.units, 2, "an odd trailing byte is not a unit");
        let expected: Vec<u8> = [0x21_FFFE, 0x21_FFFF, 0x20_0000, 0x20_0001]
            .map(pattern)
            .into();
        assert_eq!(data, expected);
    }

    #[test]
    fn wrong_type_masked_cascade_and_disabled_move_nothing() {
        // A read-mode channel does not accept device-to-memory data and vice versa; verify
        // and cascade channels and a disabled controller (command bit 2) move nothing.
        let mut d = DmaPair::new();
        let mut sink = |_: u32, _: u8| panic!("no memory write expected");
        program(&mut d, 1, 0, 0, 9, 0x48);
        assert_eq!(d.transfer_to_memory(1, &[1, 2], &mut sink).units, 0);
        program(&mut d, 0, 0, 0, 9, 0x40); // verify
        assert_eq!(d.transfer_to_memory(0, &[1], &mut sink).units, 0);
        assert!(d.transfer_from_memory(0, 4, &pattern).0.is_empty());
        program(&mut d, 4, 0, 0, 9, 0xC4);
        assert_eq!(d.transfer_to_memory(4, &[1, 2], &mut sink).units, 0);
        program(&mut d, 2, 0, 0, 9, 0x44);
        d.write(0x08, CMD_DISABLE);
        assert_eq!(d.transfer_to_memory(2, &[1], &mut sink).units, 0);
        d.write(0x0A, 0x04 | 2);
        d.write(0x08, 0);
        assert_eq!(d.transfer_to_memory(2, &[1], &mut sink).units, 0);
        assert_eq!(d.transfer_to_memory(8, &[1], &mut sink).units, 0);
        assert!(d.transfer_from_memory(usize::MAX, 9, &pattern).0.is_empty());
        assert_eq!((d.page(9), d.mode(9), d.physical_address(9)), (0, 0, 0));
    }

    #[test]
    fn request_register_shows_in_status_until_tc() {
        // Datasheet: status bits 4-7 show requests; a software request bit is reset at TC.
        let mut d = DmaPair::new();
        program(&mut d, 2, 0, 0, 0, 0x44);
        d.write(0x09, 0x06);
        assert_eq!(d.read(0x08), 0x40);
        d.transfer_to_memory(2, &[0], &mut |_, _| {});
        assert_eq!(d.read(0x08), 0x04);
        d.write(0x09, 0x07);
        d.write(0x09, 0x03);
        assert_eq!(d.read(0x08), 0x00);
    }

    #[test]
    fn page_latches_and_post_code() {
        // AT TechRef: 80h-8Fh are the 74LS612 page latches; 80h carries POST codes.
        let mut d = DmaPair::new();
        for (k, port) in (0x80..=0x8Fu16).enumerate() {
            d.write(port, 0xA0 + k as u8);
        }
        for (k, port) in (0x80..=0x8Fu16).enumerate() {
            assert_eq!(d.read(port), 0xA0 + k as u8);
        }
        assert_eq!(d.post_code(), 0xA0);
        let pages: Vec<u8> = (0..8).map(|ch| d.page(ch)).collect();
        assert_eq!(pages, [0xA7, 0xA3, 0xA1, 0xA2, 0xAF, 0xAB, 0xA9, 0xAA]);
    }

    #[test]
    fn port_decoding() {
        assert!((0x00..=0x0F).all(DmaPair::handles_port));
        assert!((0x80..=0x8F).all(DmaPair::handles_port));
        assert!((0xC0..=0xDE).step_by(2).all(DmaPair::handles_port));
        for port in [0x10, 0x7F, 0x90, 0xBF, 0xC1, 0xDF, 0xE0, 0x3F8, 0xFFFF] {
            assert!(!DmaPair::handles_port(port), "{port:#x}");
        }
        let mut d = DmaPair::new();
        assert_eq!(d.read(0x10), 0xFF);
        assert_eq!(d.read(0x09), 0xFF, "write-only register");
    }

    #[test]
    fn every_byte_to_every_port_never_panics() {
        let mut d = DmaPair::new();
        for port in 0..=0xFFFFu16 {
            d.write(port, port as u8);
            d.read(port);
        }
        for port in 0..=0xFFu16 {
            for value in 0..=0xFFu8 {
                d.write(port, value);
                d.read(port);
            }
            for ch in [0, 1, 2, 3, 4, 5, 6, 7, 8, usize::MAX] {
                d.transfer_to_memory(ch, &[1, 2, 3], &mut |_, _| {});
                d.transfer_from_memory(ch, 3, &pattern);
                d.physical_address(ch);
            }
        }
        for ch in 0..8 {
            assert!(d.physical_address(ch) < 1 << 24);
        }
    }

    #[test]
    fn serde_round_trip() {
        let mut d = DmaPair::new();
        program(&mut d, 5, 0x13, 0x8001, 2, 0x54);
        d.write(0x80, 0x42);
        d.write(0x0C, 0);
        d.write(0x02, 0x11);
        let json = serde_json::to_string(&d).unwrap();
        let back: DmaPair = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
    }
}
