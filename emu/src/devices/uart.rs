//! A serial port: the National Semiconductor NS16450 UART, wired as on the IBM PC (COM1 at
//! 3F8h-3FFh on IRQ 4, [`COM1_BASE`], [`COM1_IRQ`]).
//!
//! Source: the National Semiconductor datasheet "NS16450/INS8250A/NS16C450/INS82C50A
//! Universal Asynchronous Receiver/Transmitter" (register summary, interrupt control
//! functions table, master reset table and the loopback description of the MCR), and the
//! IBM PC Asynchronous Communications Adapter wiring: OUT2 enables the driver between the
//! chip's INTRPT pin and the bus IRQ line.
//!
//! Modelled: all eight registers (RBR/THR, IER, IIR, LCR, MCR, LSR, MSR, SCR and the divisor
//! latch behind DLAB), the four prioritized interrupt sources and their reset rules, overrun,
//! modem-status deltas and loopback. Decisions where this emulator differs from the wire or the
//! datasheet leaves room:
//! - **No time**: the device does not know about ticks. A byte written to THR is transmitted
//!   at once into an output buffer the host drains ([`Uart::output`], [`Uart::drain_output`],
//!   [`Uart::take_output`]); THRE and TEMT are set again before the `OUT` returns. So the THRE
//!   interrupt, which writing THR resets, is re-armed by the same write (THR went empty).
//! - **Bytes, not bit frames**: word length, stop bits, parity, break (LCR bits 0-6) and the
//!   divisor are stored and read back but do not shape the data: the host link is a byte pipe,
//!   so transmitted and received bytes are whole 8-bit values and PE, FE and BI are never set.
//! - **One-byte receiver** (a 16450 has no FIFO): [`Uart::receive`] loads RBR and sets DR; if
//!   DR was still set the old byte is lost and OE is set. FCR writes (base+2) are ignored and
//!   IIR bits 7-3 read 0.
//! - **THRE interrupt**: raised when THR becomes empty with IER bit 1 set, and when IER bit 1
//!   goes from 0 to 1 while THR is empty (what drivers rely on to start transmitting; the
//!   8250A/16450 do this). Reset by reading IIR while THRE is the reported source, or by
//!   writing THR; clearing IER bit 1 drops it.
//! - **Host modem lines**: outside loopback the host is a null-modem peer that holds CTS, DSR
//!   and DCD asserted and never rings, so MSR reads B0h and its deltas stay 0 until loopback
//!   changes the inputs.
//! - **Loopback** (MCR bit 4): THR goes into RBR instead of the output buffer; the serial input
//!   is disconnected, so host bytes given to [`Uart::receive`] meanwhile are dropped (as on the
//!   wire); the modem inputs follow the MCR outputs (RTS to CTS, DTR to DSR, OUT1 to RI, OUT2 to
//!   DCD) and changes set the delta bits. The datasheet forces the OUT2 pin inactive in
//!   loopback, so on a PC no interrupt reaches IRQ 4 then ([`Uart::irq`] is false); IIR still
//!   reports it for polling.
//! - **Writes to LSR and MSR** (factory test only per the datasheet) are ignored.
//! - **Power-on** is the datasheet's master reset (IER, LCR, MCR 0, IIR 01h, LSR 60h, MSR
//!   deltas 0). Registers the reset does not touch (RBR, DLL/DLM, SCR) start at 0; divisor 0
//!   means "not programmed" ([`Uart::baud`] is `None`).
//!
//! The owner drives the PIC: after every [`Uart::read`], [`Uart::write`] and [`Uart::receive`]
//! it sets IRQ 4 to [`Uart::irq`].

use serde::{Deserialize, Serialize};

/// I/O base of COM1 on the PC.
pub const COM1_BASE: u16 = 0x3F8;
/// Interrupt request line of COM1 on the PC.
pub const COM1_IRQ: u8 = 4;
/// The divisor latch input clock over 16: the baud rate for divisor 1 (1.8432 MHz / 16).
pub const BAUD_BASE: u32 = 115_200;

/// What a read from a port this device does not decode returns.
const OPEN_BUS: u8 = 0xFF;

// Register offsets from the base.
const RBR_THR_DLL: u16 = 0;
const IER_DLM: u16 = 1;
const IIR_FCR: u16 = 2;
const LCR: u16 = 3;
const MCR: u16 = 4;
const LSR: u16 = 5;
const MSR: u16 = 6;
const SCR: u16 = 7;

// IER bits.
const IER_RDA: u8 = 0x01;
const IER_THRE: u8 = 0x02;
const IER_RLS: u8 = 0x04;
const IER_MS: u8 = 0x08;

// IIR values (bit 0 clear = interrupt pending).
const IIR_NONE: u8 = 0x01;
const IIR_RLS: u8 = 0x06;
const IIR_RDA: u8 = 0x04;
const IIR_THRE: u8 = 0x02;
const IIR_MS: u8 = 0x00;

// LCR and MCR bits.
const LCR_DLAB: u8 = 0x80;
const MCR_OUT2: u8 = 0x08;
const MCR_LOOP: u8 = 0x10;
const MCR_MASK: u8 = 0x1F;

// LSR bits.
const LSR_DR: u8 = 0x01;
const LSR_OE: u8 = 0x02;
const LSR_ERRORS: u8 = 0x1E; // OE, PE, FE, BI
const LSR_THRE: u8 = 0x20;
const LSR_TEMT: u8 = 0x40;

// MSR bits.
const MSR_DCTS: u8 = 0x01;
const MSR_DDSR: u8 = 0x02;
const MSR_TERI: u8 = 0x04;
const MSR_DDCD: u8 = 0x08;
const MSR_CTS: u8 = 0x10;
const MSR_DSR: u8 = 0x20;
const MSR_RI: u8 = 0x40;
const MSR_DCD: u8 = 0x80;

/// The modem inputs the host peer holds outside loopback: CTS, DSR and DCD.
const HOST_MODEM_INPUTS: u8 = MSR_CTS | MSR_DSR | MSR_DCD;

/// One NS16450. `Default` is not provided: the base address is part of the wiring.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Uart {
    base: u16,
    /// Receiver buffer register (last byte received).
    rbr: u8,
    /// Divisor latch, DLM:DLL.
    divisor: u16,
    /// Interrupt enable register, bits 0-3.
    ier: u8,
    /// Line control register.
    lcr: u8,
    /// Modem control register, bits 0-4.
    mcr: u8,
    /// Line status register, bits 0-6 (bit 7 is 0 on a 16450).
    lsr: u8,
    /// MSR delta bits 0-3 (DCTS, DDSR, TERI, DDCD); bits 4-7 are computed from the inputs.
    msr_delta: u8,
    /// Scratch register.
    scr: u8,
    /// The THRE interrupt latch (see the module docs).
    thre_pending: bool,
    /// Transmitted bytes the host has not drained yet, oldest first.
    output: Vec<u8>,
}

impl Uart {
    /// A UART at `base` (decoding `base`..`base + 7`) in its master-reset state.
    pub fn new(base: u16) -> Self {
        Uart {
            base,
            rbr: 0,
            divisor: 0,
            ier: 0,
            lcr: 0,
            mcr: 0,
            lsr: LSR_THRE | LSR_TEMT,
            msr_delta: 0,
            scr: 0,
            thre_pending: false,
            output: Vec::new(),
        }
    }

    /// COM1: base 3F8h, IRQ 4.
    pub fn com1() -> Self {
        Self::new(COM1_BASE)
    }

    /// The first port this UART decodes.
    pub fn base(&self) -> u16 {
        self.base
    }

    /// Whether `port` is one of the eight registers.
    pub fn handles_port(&self, port: u16) -> bool {
        self.offset(port).is_some()
    }

    fn offset(&self, port: u16) -> Option<u16> {
        port.checked_sub(self.base).filter(|&o| o < 8)
    }

    /// The divisor latch (DLM:DLL) as last written.
    pub fn divisor(&self) -> u16 {
        self.divisor
    }

    /// The programmed baud rate, [`BAUD_BASE`] / divisor (rounded down), or `None` for
    /// divisor 0. Informational only: nothing here is timed.
    pub fn baud(&self) -> Option<u32> {
        (self.divisor != 0).then(|| BAUD_BASE / u32::from(self.divisor))
    }

    /// The line control register.
    pub fn lcr(&self) -> u8 {
        self.lcr
    }

    /// The modem control register.
    pub fn mcr(&self) -> u8 {
        self.mcr
    }

    /// The interrupt enable register.
    pub fn ier(&self) -> u8 {
        self.ier
    }

    /// Whether MCR selects loopback.
    pub fn loopback(&self) -> bool {
        self.mcr & MCR_LOOP != 0
    }

    /// What IIR reads now, without the read's side effect.
    pub fn interrupt_id(&self) -> u8 {
        if self.ier & IER_RLS != 0 && self.lsr & LSR_ERRORS != 0 {
            IIR_RLS
        } else if self.ier & IER_RDA != 0 && self.lsr & LSR_DR != 0 {
            IIR_RDA
        } else if self.ier & IER_THRE != 0 && self.thre_pending {
            IIR_THRE
        } else if self.ier & IER_MS != 0 && self.msr_delta != 0 {
            IIR_MS
        } else {
            IIR_NONE
        }
    }

    /// The level on the PC's IRQ line: an interrupt is pending and the OUT2 pin is active
    /// (MCR bit 3 set and not in loopback, which forces the pin inactive).
    pub fn irq(&self) -> bool {
        self.interrupt_id() != IIR_NONE && self.mcr & (MCR_OUT2 | MCR_LOOP) == MCR_OUT2
    }

    /// A byte arrives on the serial input (the host's `SerialRx`). It goes to RBR and sets DR;
    /// an unread byte there is lost and OE set. Dropped in loopback (input disconnected).
    pub fn receive(&mut self, byte: u8) {
        if !self.loopback() {
            self.load_rbr(byte);
        }
    }

    /// Transmitted bytes not yet drained, oldest first.
    pub fn output(&self) -> &[u8] {
        &self.output
    }

    /// Forgets the transmitted bytes.
    pub fn clear_output(&mut self) {
        self.output.clear();
    }

    /// Removes and returns the transmitted bytes, oldest first.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// Removes the transmitted bytes, yielding them oldest first.
    pub fn drain_output(&mut self) -> impl Iterator<Item = u8> + '_ {
        self.output.drain(..)
    }

    /// An `IN` from `port`; ports outside this UART read FFh.
    pub fn read(&mut self, port: u16) -> u8 {
        let Some(offset) = self.offset(port) else {
            return OPEN_BUS;
        };
        let dlab = self.lcr & LCR_DLAB != 0;
        match offset {
            RBR_THR_DLL if dlab => self.divisor as u8,
            RBR_THR_DLL => {
                // Reading RBR resets DR and with it the received-data interrupt.
                self.lsr &= !LSR_DR;
                self.rbr
            }
            IER_DLM if dlab => (self.divisor >> 8) as u8,
            IER_DLM => self.ier,
            IIR_FCR => {
                let iir = self.interrupt_id();
                if iir == IIR_THRE {
                    // Reading IIR resets the THRE interrupt when it is the source.
                    self.thre_pending = false;
                }
                iir
            }
            LCR => self.lcr,
            MCR => self.mcr,
            LSR => {
                // Reading LSR resets OE, PE, FE, BI and the line-status interrupt.
                let lsr = self.lsr;
                self.lsr &= !LSR_ERRORS;
                lsr
            }
            MSR => {
                // Reading MSR resets the delta bits and the modem-status interrupt.
                let msr = self.modem_inputs() | self.msr_delta;
                self.msr_delta = 0;
                msr
            }
            SCR => self.scr,
            _ => OPEN_BUS, // offset() admits only 0-7
        }
    }

    /// An `OUT` to `port`; ports outside this UART are ignored.
    pub fn write(&mut self, port: u16, value: u8) {
        let Some(offset) = self.offset(port) else {
            return;
        };
        let dlab = self.lcr & LCR_DLAB != 0;
        match offset {
            RBR_THR_DLL if dlab => self.divisor = (self.divisor & 0xFF00) | u16::from(value),
            RBR_THR_DLL => self.transmit(value),
            IER_DLM if dlab => self.divisor = (self.divisor & 0x00FF) | (u16::from(value) << 8),
            IER_DLM => {
                let old = self.ier;
                self.ier = value & 0x0F;
                if self.ier & IER_THRE == 0 {
                    self.thre_pending = false;
                } else if old & IER_THRE == 0 && self.lsr & LSR_THRE != 0 {
                    self.thre_pending = true;
                }
            }
            IIR_FCR => {} // FCR: a 16550 register; the 16450 has none.
            LCR => self.lcr = value,
            MCR => {
                let before = self.modem_inputs();
                self.mcr = value & MCR_MASK;
                self.note_modem_change(before, self.modem_inputs());
            }
            LSR | MSR => {} // Factory test only; see the module docs.
            SCR => self.scr = value,
            _ => {} // offset() admits only 0-7
        }
    }

    /// Writes THR: the byte leaves at once, so THR and the shifter are empty again.
    fn transmit(&mut self, value: u8) {
        if self.loopback() {
            self.load_rbr(value);
        } else {
            self.output.push(value);
        }
        self.lsr |= LSR_THRE | LSR_TEMT;
        // Writing THR resets the THRE interrupt; THR going empty raises it again.
        self.thre_pending = self.ier & IER_THRE != 0;
    }

    fn load_rbr(&mut self, byte: u8) {
        if self.lsr & LSR_DR != 0 {
            self.lsr |= LSR_OE;
        }
        self.rbr = byte;
        self.lsr |= LSR_DR;
    }

    /// MSR bits 4-7: the host's lines, or in loopback the MCR outputs.
    fn modem_inputs(&self) -> u8 {
        if !self.loopback() {
            return HOST_MODEM_INPUTS;
        }
        let m = self.mcr;
        let mut inputs = 0;
        if m & 0x02 != 0 {
            inputs |= MSR_CTS; // RTS
        }
        if m & 0x01 != 0 {
            inputs |= MSR_DSR; // DTR
        }
        if m & 0x04 != 0 {
            inputs |= MSR_RI; // OUT1
        }
        if m & MCR_OUT2 != 0 {
            inputs |= MSR_DCD; // OUT2
        }
        inputs
    }

    /// Sets the delta bits for input changes: any change of CTS, DSR, DCD; RI only on its
    /// trailing edge (on to off).
    fn note_modem_change(&mut self, before: u8, after: u8) {
        let changed = before ^ after;
        if changed & MSR_CTS != 0 {
            self.msr_delta |= MSR_DCTS;
        }
        if changed & MSR_DSR != 0 {
            self.msr_delta |= MSR_DDSR;
        }
        if before & MSR_RI != 0 && after & MSR_RI == 0 {
            self.msr_delta |= MSR_TERI;
        }
        if changed & MSR_DCD != 0 {
            self.msr_delta |= MSR_DDCD;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THR: u16 = COM1_BASE;
    const RBR: u16 = COM1_BASE;
    const IER: u16 = COM1_BASE + 1;
    const IIR: u16 = COM1_BASE + 2;
    const LCR_PORT: u16 = COM1_BASE + 3;
    const MCR_PORT: u16 = COM1_BASE + 4;
    const LSR_PORT: u16 = COM1_BASE + 5;
    const MSR_PORT: u16 = COM1_BASE + 6;
    const SCR_PORT: u16 = COM1_BASE + 7;

    #[test]
    fn master_reset_state() {
        // Datasheet master-reset table: IER 0, IIR 01h (no interrupt), LCR 0, MCR 0, LSR 60h
        // (THRE, TEMT). MSR bits 4-7 are the inputs: the host holds CTS, DSR, DCD (B0h).
        let mut u = Uart::com1();
        assert_eq!(u.read(IER), 0x00);
        assert_eq!(u.read(IIR), 0x01);
        assert_eq!(u.read(LCR_PORT), 0x00);
        assert_eq!(u.read(MCR_PORT), 0x00);
        assert_eq!(u.read(LSR_PORT), 0x60);
        assert_eq!(u.read(MSR_PORT), 0xB0);
        assert!(!u.irq());
        assert_eq!(u.divisor(), 0);
        assert_eq!(u.baud(), None);
    }

    #[test]
    fn handles_only_its_eight_ports() {
        // The chip decodes A0-A2 under one chip select: base..base+7.
        let mut u = Uart::com1();
        assert!((0x3F8..=0x3FF).all(|p| u.handles_port(p)));
        assert!(!u.handles_port(0x3F7));
        assert!(!u.handles_port(0x400));
        assert!(!u.handles_port(0x2F8));
        assert_eq!(u.read(0x2F8), 0xFF);
        u.write(0x2F8, b'x');
        assert!(u.output().is_empty());
        let top = Uart::new(0xFFFC);
        assert!(top.handles_port(0xFFFF));
        assert!(!top.handles_port(0x0000));
    }

    #[test]
    fn divisor_latch_via_dlab() {
        // LCR bit 7 (DLAB) = 1 maps offsets 0 and 1 to DLL and DLM; baud = 1.8432 MHz /
        // (16 x divisor), so divisor 000Ch is 9600 baud and 0001h is 115200.
        let mut u = Uart::com1();
        u.write(LCR_PORT, 0x80);
        u.write(THR, 0x0C);
        u.write(IER, 0x00);
        assert_eq!(u.divisor(), 12);
        assert_eq!(u.baud(), Some(9600));
        assert_eq!(u.read(RBR), 0x0C);
        assert_eq!(u.read(IER), 0x00);
        u.write(IER, 0x01);
        u.write(THR, 0x80);
        assert_eq!(u.divisor(), 0x0180);
        assert_eq!(u.baud(), Some(300));
        // Nothing was transmitted and IER was not touched.
        assert!(u.output().is_empty());
        u.write(LCR_PORT, 0x03); // DLAB = 0, 8N1
        assert_eq!(u.read(IER), 0x00);
        u.write(IER, 0x05);
        assert_eq!(u.read(IER), 0x05);
        assert_eq!(u.divisor(), 0x0180);
        u.write(LCR_PORT, 0x83);
        u.write(THR, 0x01);
        u.write(IER, 0x00);
        assert_eq!(u.baud(), Some(115_200));
    }

    #[test]
    fn lcr_round_trip() {
        // LCR is fully readable: every value written reads back.
        let mut u = Uart::com1();
        for v in 0..=255u8 {
            u.write(LCR_PORT, v);
            assert_eq!(u.read(LCR_PORT), v);
            assert_eq!(u.lcr(), v);
        }
    }

    #[test]
    fn transmit_collects_bytes_in_order() {
        // Writing THR (DLAB = 0) sends the byte; with instantaneous transmission THRE and
        // TEMT are set again at once: LSR 60h.
        let mut u = Uart::com1();
        u.write(LCR_PORT, 0x03);
        for &b in b"Hi!\r\n" {
            u.write(THR, b);
            assert_eq!(u.read(LSR_PORT), 0x60);
        }
        assert_eq!(u.output(), b"Hi!\r\n");
        assert_eq!(u.drain_output().collect::<Vec<_>>(), b"Hi!\r\n");
        assert!(u.output().is_empty());
        u.write(THR, 0x00);
        u.write(THR, 0xFF);
        assert_eq!(u.take_output(), vec![0x00, 0xFF]);
        u.write(THR, 0x41);
        u.clear_output();
        assert!(u.output().is_empty());
    }

    #[test]
    fn thre_interrupt_and_its_reset_by_iir_read() {
        // Interrupt control table: THRE interrupt (IIR 02h) when IER bit 1 is set and THR is
        // empty; reset by reading IIR (when it is the source) or writing THR.
        let mut u = Uart::com1();
        u.write(IER, 0x02);
        assert_eq!(u.read(IIR), 0x02);
        assert_eq!(u.read(IIR), 0x01);
        // THR written and emptied at once: the interrupt comes back.
        u.write(THR, b'a');
        assert_eq!(u.read(IIR), 0x02);
        assert_eq!(u.read(IIR), 0x01);
        // Disabling the source removes it; re-enabling with THR empty raises it again.
        u.write(THR, b'b');
        u.write(IER, 0x00);
        assert_eq!(u.read(IIR), 0x01);
        u.write(IER, 0x02);
        assert_eq!(u.interrupt_id(), 0x02);
        // Rewriting IER with bit 1 already set is not a new enable.
        assert_eq!(u.read(IIR), 0x02);
        u.write(IER, 0x02);
        assert_eq!(u.read(IIR), 0x01);
    }

    #[test]
    fn receive_sets_dr_and_rda_interrupt() {
        // LSR bit 0 (DR) is set when a character is in RBR; with IER bit 0 the received-data
        // interrupt reads IIR 04h; reading RBR resets DR and the interrupt.
        let mut u = Uart::com1();
        u.write(IER, 0x01);
        u.receive(0x41);
        assert_eq!(u.read(LSR_PORT), 0x61);
        assert_eq!(u.read(IIR), 0x04);
        assert_eq!(u.read(IIR), 0x04); // IIR reads do not reset it
        assert_eq!(u.read(RBR), 0x41);
        assert_eq!(u.read(LSR_PORT), 0x60);
        assert_eq!(u.read(IIR), 0x01);
    }

    #[test]
    fn overrun_loses_old_byte_and_lsr_read_clears_oe() {
        // LSR bit 1 (OE): RBR was not read before the next character was transferred into it,
        // destroying the previous one. Reading LSR resets OE; DR stays until RBR is read.
        let mut u = Uart::com1();
        u.receive(b'1');
        u.receive(b'2');
        assert_eq!(u.read(LSR_PORT), 0x63);
        assert_eq!(u.read(LSR_PORT), 0x61);
        assert_eq!(u.read(RBR), b'2');
        assert_eq!(u.read(LSR_PORT), 0x60);
    }

    #[test]
    fn interrupt_priority() {
        // Interrupt control table priorities: receiver line status (06h) highest, then
        // received data (04h), then THRE (02h), then modem status (00h).
        let mut u = Uart::com1();
        u.write(IER, 0x07); // THRE raised by the enable
        assert_eq!(u.interrupt_id(), 0x02);
        u.receive(1);
        assert_eq!(u.interrupt_id(), 0x04);
        u.receive(2); // overrun
        assert_eq!(u.read(IIR), 0x06);
        assert_eq!(u.read(IIR), 0x06);
        u.read(LSR_PORT);
        assert_eq!(u.read(IIR), 0x04);
        u.read(RBR);
        assert_eq!(u.read(IIR), 0x02);
        assert_eq!(u.read(IIR), 0x01);
        // Without IER bit 2 an overrun is only a received-data interrupt.
        u.write(IER, 0x01);
        u.receive(3);
        u.receive(4);
        assert_eq!(u.read(IIR), 0x04);
    }

    #[test]
    fn modem_status_deltas_and_interrupt_in_loopback() {
        // Loopback: CTS = RTS, DSR = DTR, RI = OUT1, DCD = OUT2. Delta bits: DCTS, DDSR, DDCD
        // on any change, TERI when RI goes from on to off; reading MSR resets them. IER bit 3
        // enables the modem-status interrupt (IIR 00h).
        let mut u = Uart::com1();
        u.write(IER, 0x08);
        assert_eq!(u.read(IIR), 0x01);
        u.write(MCR_PORT, 0x10); // host's CTS, DSR, DCD drop away
        assert_eq!(u.read(IIR), 0x00);
        assert_eq!(u.read(MSR_PORT), 0x0B);
        assert_eq!(u.read(MSR_PORT), 0x00);
        assert_eq!(u.read(IIR), 0x01);
        u.write(MCR_PORT, 0x1F); // all four on: RI rising is no trailing edge
        assert_eq!(u.read(MSR_PORT), 0xFB);
        u.write(MCR_PORT, 0x1B); // OUT1 off: RI trailing edge
        assert_eq!(u.read(MSR_PORT), 0xB4);
        u.write(MCR_PORT, 0x1B); // no change, no delta
        assert_eq!(u.read(MSR_PORT), 0xB0);
        u.write(MCR_PORT, 0x08); // back to the host lines (CTS DSR DCD): no change
        assert_eq!(u.read(MSR_PORT), 0xB0);
        assert_eq!(u.read(IIR), 0x01);
    }

    #[test]
    fn loopback_echoes_transmitted_bytes() {
        // Loopback: the transmitter output is looped back to the receiver input, the serial
        // output is held marking and the serial input disconnected.
        let mut u = Uart::com1();
        u.write(IER, 0x01);
        u.write(MCR_PORT, 0x10);
        assert!(u.loopback());
        u.write(THR, 0x55);
        assert!(u.output().is_empty());
        assert_eq!(u.read(LSR_PORT), 0x61);
        assert_eq!(u.read(IIR), 0x04);
        u.receive(0x99); // input disconnected: dropped
        assert_eq!(u.read(LSR_PORT), 0x61);
        assert_eq!(u.read(RBR), 0x55);
        u.write(THR, 1);
        u.write(THR, 2);
        assert_eq!(u.read(LSR_PORT), 0x63);
        assert_eq!(u.read(RBR), 2);
        u.write(MCR_PORT, 0x00);
        u.write(THR, b'z');
        assert_eq!(u.output(), b"z");
        u.receive(b'q');
        assert_eq!(u.read(RBR), b'q');
    }

    #[test]
    fn irq_line_gated_by_out2() {
        // PC wiring: the INTRPT pin reaches IRQ 4 only while OUT2 (MCR bit 3) is active; the
        // datasheet forces OUT2 inactive in loopback.
        let mut u = Uart::com1();
        u.write(IER, 0x01);
        u.receive(b'x');
        assert_eq!(u.interrupt_id(), 0x04);
        assert!(!u.irq());
        u.write(MCR_PORT, 0x08);
        assert!(u.irq());
        u.write(MCR_PORT, 0x18);
        assert!(!u.irq());
        assert_eq!(u.interrupt_id(), 0x04);
        u.write(MCR_PORT, 0x0B);
        assert!(u.irq());
        u.read(RBR);
        assert!(!u.irq());
    }

    #[test]
    fn scratch_and_read_only_bits() {
        // SCR holds any byte and is not behind DLAB. IER bits 4-7 and MCR bits 5-7 read 0;
        // the 16450 has no FCR (writes ignored) and IIR bits 3-7 read 0.
        let mut u = Uart::com1();
        for v in [0x00, 0xA5, 0xFF] {
            u.write(SCR_PORT, v);
            assert_eq!(u.read(SCR_PORT), v);
        }
        u.write(LCR_PORT, 0x80);
        assert_eq!(u.read(SCR_PORT), 0xFF);
        u.write(LCR_PORT, 0x00);
        u.write(IER, 0xF0);
        assert_eq!(u.read(IER), 0x00);
        u.write(MCR_PORT, 0xE3);
        assert_eq!(u.read(MCR_PORT), 0x03);
        u.write(IIR, 0xC7);
        assert_eq!(u.read(IIR), 0x01);
        u.write(LSR_PORT, 0xFF);
        u.write(MSR_PORT, 0xFF);
        assert_eq!(u.read(LSR_PORT), 0x60);
        assert_eq!(u.read(MSR_PORT), 0xB0);
    }

    #[test]
    fn every_byte_to_every_register_never_panics() {
        for base in [COM1_BASE, 0x0000, 0xFFF8, 0xFFFC] {
            for dlab in [false, true] {
                let mut u = Uart::new(base);
                for offset in 0..8u16 {
                    for v in 0..=255u8 {
                        u.write(base.wrapping_add(LCR), if dlab { 0x80 } else { 0 });
                        u.write(base.wrapping_add(offset), v);
                        u.receive(v);
                        for r in 0..8u16 {
                            u.read(base.wrapping_add(r));
                        }
                        let _ = (u.irq(), u.baud(), u.divisor());
                    }
                }
                u.take_output();
            }
        }
    }

    #[test]
    fn serde_round_trip() {
        // Snapshots (DESIGN.md section 6): a restored UART equals and behaves like the original.
        let mut u = Uart::com1();
        u.write(LCR_PORT, 0x83);
        u.write(THR, 0x0C);
        u.write(LCR_PORT, 0x03);
        u.write(IER, 0x0F);
        u.write(MCR_PORT, 0x0B);
        u.write(SCR_PORT, 0x5A);
        u.write(THR, b'o');
        u.receive(b'i');
        let json = serde_json::to_string(&u).unwrap();
        let mut back: Uart = serde_json::from_str(&json).unwrap();
        assert_eq!(back, u);
        for port in COM1_BASE..COM1_BASE + 8 {
            assert_eq!(back.read(port), u.read(port), "port {port:#x}");
        }
        assert_eq!(back, u);
    }
}
