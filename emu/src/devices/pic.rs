//! The PC/AT interrupt controller pair: two Intel 8259A programmable interrupt controllers.
//!
//! Sources: the Intel datasheet "8259A Programmable Interrupt Controller (8259A/8259A-2)"
//! (Intel, 1988) for the chip's programming model, and the IBM PC/AT Technical Reference for
//! the wiring: the master answers ports 20h/21h, the slave A0h/A1h, the slave's INT output
//! drives master IR2 (the cascade), and the vectors are whatever the BIOS (or the guest) loads
//! into ICW2 (08h and 70h after the standard BIOS initialization, [`PicPair::pc_at_bios`]).
//!
//! Modelled per chip: ICW1-ICW4, OCW1 (mask), OCW2 (EOI, specific EOI, rotations, set
//! priority), OCW3 (IRR/ISR select, poll, special mask mode), edge and level (LTIM) inputs, fully
//! nested priority with rotation, special fully nested mode, AEOI, cascaded INTA and the
//! spurious (default) IR7 vector. Decisions where the datasheet leaves room, or where this
//! emulator differs on purpose:
//! - **Edge requests are latched**: a low-to-high transition sets the IRR bit until INTA even if
//!   the line falls first (the real chip needs it held until INTA); devices here may pulse a
//!   line and must not lose the request. In level mode the IRR bit follows the line.
//! - **Power-on** behaves as if initialized with all-zero ICWs (vector base 0, no cascade, edge
//!   mode), IMR, ISR and IRR zero. The real state is undefined; firmware initializes the chips.
//! - **x86 vectors only**: ICW4 uPM, ICW1 ADI/A7-A5 and ICW4 BUF/M-S are stored but ignored.
//!   INTA returns ICW2 with its low 3 bits replaced by the level; the master/slave roles are
//!   fixed by the AT's wiring (the slave's SP/EN pin is tied low).
//! - **Cascade**: at INTA the master puts the level on CAS0-2 if ICW3 marks it as a slave input;
//!   the slave answers if its ICW3 ID matches. If nobody answers, the data bus reads FFh.
//! - **IRQ 2**: master IR2 is wired only to the slave's INT (the AT routes the bus IRQ2 pin to
//!   slave IR1, IRQ 9), so `set_irq_line(2, ..)` is ignored.
//! - **INT falls during INTA**, so a slave that still has a deliverable request afterwards
//!   (AEOI, special mask mode) gives master IR2 a fresh edge instead of losing it.
//! - **Poll**: after an OCW3 poll the next read of either port of that chip (the datasheet's
//!   "next RD pulse") returns the poll word (00h if no request) and acts as INTA on that chip.
//! - ICW1 also cancels "rotate in AEOI mode" and a pending poll (as Bochs and QEMU do).

use serde::{Deserialize, Serialize};

/// Master command/status port (A0 = 0).
pub const MASTER_COMMAND: u16 = 0x20;
/// Master data (mask) port (A0 = 1).
pub const MASTER_DATA: u16 = 0x21;
/// Slave command/status port (A0 = 0).
pub const SLAVE_COMMAND: u16 = 0xA0;
/// Slave data (mask) port (A0 = 1).
pub const SLAVE_DATA: u16 = 0xA1;

/// The master input the slave's INT output is wired to on the PC/AT.
const CASCADE_LEVEL: u8 = 2;
/// What a read returns when no device drives the data bus.
const OPEN_BUS: u8 = 0xFF;

/// Where a chip is in its initialization sequence: which ICW the next odd-port write is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum InitStep {
    /// Initialized (or never initialized): odd-port writes are OCW1.
    #[default]
    Ready,
    /// ICW1 written; expecting ICW2 (vector base).
    Icw2,
    /// Expecting ICW3 (cascade configuration; skipped when ICW1 SNGL is set).
    Icw3,
    /// Expecting ICW4 (mode; skipped when ICW1 IC4 is clear).
    Icw4,
}

/// Selects one chip of the pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chip {
    /// Ports 20h/21h, IRQ 0-7, connected to the CPU's INTR.
    Master,
    /// Ports A0h/A1h, IRQ 8-15, its INT output on master IR2.
    Slave,
}

/// One 8259A. The fields are its registers, public for reading (a [`PicPair`] hands out only
/// shared references); the chip changes state only through the pair's port and pin interface.
/// `Default` is the power-on state.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Pic8259 {
    /// Interrupt request register.
    pub irr: u8,
    /// In-service register.
    pub isr: u8,
    /// Interrupt mask register (OCW1).
    pub imr: u8,
    /// Current level of the eight IR input pins (bit set = high).
    pub lines: u8,
    /// ICW1-ICW4 as last written (ICW4 is 0 when ICW1 IC4 was clear).
    pub icw: [u8; 4],
    /// Which ICW the next odd-port write is.
    pub init: InitStep,
    /// OCW3 read register select: `true` = ISR, `false` = IRR.
    pub read_isr: bool,
    /// An OCW3 poll command is waiting for the next read.
    pub poll: bool,
    /// OCW3 special mask mode.
    pub special_mask: bool,
    /// OCW2 "rotate in automatic EOI mode".
    pub rotate_aeoi: bool,
    /// The level with the highest priority: 0 after ICW1 (IR7 lowest). The rotation and set
    /// priority commands make the level they name the lowest, so this becomes that level + 1.
    pub highest: u8,
}

impl Pic8259 {
    /// Vector base from ICW2 (low 3 bits ignored).
    pub fn vector_base(&self) -> u8 {
        self.icw[1] & 0xF8
    }
    /// ICW1 LTIM: level-triggered inputs.
    pub fn level_triggered(&self) -> bool {
        self.icw[0] & 0x08 != 0
    }
    /// ICW4 AEOI: automatic end of interrupt.
    pub fn auto_eoi(&self) -> bool {
        self.icw[3] & 0x02 != 0
    }
    /// ICW4 SFNM: special fully nested mode.
    pub fn special_fully_nested(&self) -> bool {
        self.icw[3] & 0x10 != 0
    }
    /// The lowest-priority level (7 after ICW1).
    pub fn lowest_priority(&self) -> u8 {
        self.highest.wrapping_sub(1) & 7
    }

    fn single(&self) -> bool {
        self.icw[0] & 0x02 != 0
    }

    fn vector(&self, level: u8) -> u8 {
        self.vector_base() | (level & 7)
    }

    /// The rotation primitive: `level` becomes the lowest priority.
    fn make_lowest(&mut self, level: u8) {
        self.highest = level.wrapping_add(1) & 7;
    }

    /// Level `i` places below the highest priority (i = 0 is the highest).
    fn level_at(&self, i: u8) -> u8 {
        self.highest.wrapping_add(i) & 7
    }

    /// Drives IR input `level` (0-7) to `high`.
    fn set_input(&mut self, level: u8, high: bool) {
        let bit = 1u8 << (level & 7);
        let was_high = self.lines & bit != 0;
        if high {
            self.lines |= bit;
        } else {
            self.lines &= !bit;
        }
        if self.level_triggered() {
            self.irr = (self.irr & !bit) | (self.lines & bit);
        } else if high && !was_high {
            self.irr |= bit;
        }
    }

    /// Priority resolution: the level this chip would raise INT for, if any. `nest_ok` marks
    /// levels whose own in-service bit does not block them (special fully nested mode on the
    /// master's cascade inputs).
    fn resolve(&self, nest_ok: u8) -> Option<u8> {
        let requests = self.irr & !self.imr;
        for i in 0..8 {
            let level = self.level_at(i);
            let bit = 1u8 << level;
            if self.special_mask {
                // Only the mask decides; an in-service level cannot be requested again.
                if requests & bit != 0 && self.isr & bit == 0 {
                    return Some(level);
                }
            } else if self.isr & bit != 0 {
                // Fully nested: an in-service level blocks itself and everything below it.
                return (requests & nest_ok & bit != 0).then_some(level);
            } else if requests & bit != 0 {
                return Some(level);
            }
        }
        None
    }

    /// The highest-priority in-service level (the one a non-specific EOI ends).
    fn highest_in_service(&self) -> Option<u8> {
        (0..8)
            .map(|i| self.level_at(i))
            .find(|&level| self.isr & (1 << level) != 0)
    }

    /// The INTA (or poll) effect on `level`: IRR to ISR, or straight through in AEOI mode.
    fn accept(&mut self, level: u8) {
        let bit = 1u8 << (level & 7);
        self.irr &= !bit;
        if self.level_triggered() {
            self.irr |= self.lines & bit;
        }
        if self.auto_eoi() {
            if self.rotate_aeoi {
                self.make_lowest(level);
            }
        } else {
            self.isr |= bit;
        }
    }

    fn write_command(&mut self, value: u8) {
        if value & 0x10 != 0 {
            self.icw1(value);
        } else if value & 0x08 != 0 {
            self.ocw3(value);
        } else {
            self.ocw2(value);
        }
    }

    fn icw1(&mut self, value: u8) {
        self.icw = [value, 0, 0, 0]; // without IC4, all ICW4 functions are zero
        self.init = InitStep::Icw2;
        self.imr = 0;
        self.isr = 0;
        // The edge sense circuit is reset: an edge input must go low-to-high again.
        self.irr = self.lines & if self.level_triggered() { 0xFF } else { 0 };
        self.special_mask = false;
        self.read_isr = false;
        self.poll = false;
        self.rotate_aeoi = false;
        self.highest = 0;
    }

    fn write_data(&mut self, value: u8) {
        match self.init {
            InitStep::Ready => self.imr = value,
            InitStep::Icw2 => {
                self.icw[1] = value;
                self.init = if !self.single() {
                    InitStep::Icw3
                } else if self.icw[0] & 0x01 != 0 {
                    InitStep::Icw4
                } else {
                    InitStep::Ready
                };
            }
            InitStep::Icw3 => {
                self.icw[2] = value;
                self.init = if self.icw[0] & 0x01 != 0 {
                    InitStep::Icw4
                } else {
                    InitStep::Ready
                };
            }
            InitStep::Icw4 => {
                self.icw[3] = value;
                self.init = InitStep::Ready;
            }
        }
    }

    fn ocw2(&mut self, value: u8) {
        let level = value & 7;
        match value >> 5 {
            0b001 => {
                if let Some(l) = self.highest_in_service() {
                    self.isr &= !(1 << l);
                }
            }
            0b011 => self.isr &= !(1 << level),
            0b101 => {
                if let Some(l) = self.highest_in_service() {
                    self.isr &= !(1 << l);
                    self.make_lowest(l);
                }
            }
            0b100 => self.rotate_aeoi = true,
            0b000 => self.rotate_aeoi = false,
            0b111 => {
                self.isr &= !(1 << level);
                self.make_lowest(level);
            }
            0b110 => self.make_lowest(level),
            _ => {} // 010: no operation
        }
    }

    fn ocw3(&mut self, value: u8) {
        if value & 0x02 != 0 {
            self.read_isr = value & 0x01 != 0;
        }
        self.poll = value & 0x04 != 0;
        if value & 0x40 != 0 {
            self.special_mask = value & 0x20 != 0;
        }
    }
}

/// The master/slave pair of a PC/AT.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PicPair {
    master: Pic8259,
    slave: Pic8259,
}

impl Default for PicPair {
    fn default() -> Self {
        Self::new()
    }
}

impl PicPair {
    /// Power-on state: both chips uninitialized (see the module docs).
    pub fn new() -> Self {
        PicPair {
            master: Pic8259::default(),
            slave: Pic8259::default(),
        }
    }

    /// The state after the standard PC/AT BIOS initialization, produced by writing the BIOS's
    /// ICW sequence through the ports: ICW1 11h (edge, cascade, ICW4 needed), ICW2 08h / 70h,
    /// ICW3 04h (slave on IR2) / 02h (slave ID 2), ICW4 01h (8086 mode, normal EOI), masks 00h.
    pub fn pc_at_bios() -> Self {
        let mut pair = Self::new();
        pair.initialize(MASTER_COMMAND, [0x11, 0x08, 0x04, 0x01]);
        pair.initialize(SLAVE_COMMAND, [0x11, 0x70, 0x02, 0x01]);
        pair.write(MASTER_DATA, 0x00);
        pair.write(SLAVE_DATA, 0x00);
        pair
    }

    /// Writes ICW1 to `command_port` and ICW2-ICW4 to the data port above it.
    fn initialize(&mut self, command_port: u16, icws: [u8; 4]) {
        self.write(command_port, icws[0]);
        for &icw in &icws[1..] {
            self.write(command_port | 1, icw);
        }
    }

    /// Whether `port` belongs to the pair.
    pub const fn handles_port(port: u16) -> bool {
        matches!(
            port,
            MASTER_COMMAND | MASTER_DATA | SLAVE_COMMAND | SLAVE_DATA
        )
    }

    /// One chip, read-only (for tests and the debugger).
    pub fn chip(&self, which: Chip) -> &Pic8259 {
        match which {
            Chip::Master => &self.master,
            Chip::Slave => &self.slave,
        }
    }
    /// `which` chip's interrupt request register.
    pub fn irr(&self, which: Chip) -> u8 {
        self.chip(which).irr
    }
    /// `which` chip's in-service register.
    pub fn isr(&self, which: Chip) -> u8 {
        self.chip(which).isr
    }
    /// `which` chip's interrupt mask register.
    pub fn imr(&self, which: Chip) -> u8 {
        self.chip(which).imr
    }

    /// An `IN` from one of the pair's ports; other ports read FFh.
    pub fn read(&mut self, port: u16) -> u8 {
        let which = match port {
            MASTER_COMMAND | MASTER_DATA => Chip::Master,
            SLAVE_COMMAND | SLAVE_DATA => Chip::Slave,
            _ => return OPEN_BUS,
        };
        let chip = self.chip(which);
        if chip.poll {
            return self.poll_read(which);
        }
        if port & 1 != 0 {
            chip.imr
        } else if chip.read_isr {
            chip.isr
        } else {
            chip.irr
        }
    }

    /// An `OUT` to one of the pair's ports; other ports are ignored.
    pub fn write(&mut self, port: u16, value: u8) {
        match port {
            MASTER_COMMAND => self.master.write_command(value),
            MASTER_DATA => self.master.write_data(value),
            SLAVE_COMMAND => self.slave.write_command(value),
            SLAVE_DATA => self.slave.write_data(value),
            _ => return,
        }
        self.sync_cascade();
    }

    /// Drives interrupt request line `irq` (0-15; 8-15 are the slave's IR0-7). Numbers above
    /// 15 and IRQ 2 (the cascade input, see the module docs) are ignored.
    pub fn set_irq_line(&mut self, irq: u8, high: bool) {
        match irq {
            CASCADE_LEVEL => return,
            0..=7 => self.master.set_input(irq, high),
            8..=15 => self.slave.set_input(irq - 8, high),
            _ => return,
        }
        self.sync_cascade();
    }

    /// Whether the master asserts INTR to the CPU.
    pub fn pending(&self) -> bool {
        self.master.resolve(self.master_nest_ok()).is_some()
    }

    /// The INTA cycle: returns the vector the CPU reads and updates IRR/ISR. With no request
    /// left at INTA time the master returns its IR7 vector and sets no ISR bit (spurious).
    pub fn acknowledge(&mut self) -> u8 {
        let Some(level) = self.master.resolve(self.master_nest_ok()) else {
            return self.master.vector(7);
        };
        self.master.accept(level);
        let cascaded = !self.master.single() && self.master.icw[2] & (1 << level) != 0;
        let vector = if !cascaded {
            self.master.vector(level)
        } else if self.slave.icw[2] & 7 == level {
            self.slave_inta()
        } else {
            OPEN_BUS
        };
        self.sync_cascade();
        vector
    }

    /// The slave's part of a cascaded INTA: its vector, or its IR7 vector if it has nothing.
    fn slave_inta(&mut self) -> u8 {
        self.master.set_input(CASCADE_LEVEL, false);
        match self.slave.resolve(0) {
            Some(level) => {
                self.slave.accept(level);
                self.slave.vector(level)
            }
            None => self.slave.vector(7),
        }
    }

    /// A read after a poll command: the poll word, acknowledging the level it reports.
    fn poll_read(&mut self, which: Chip) -> u8 {
        let master_nest_ok = self.master_nest_ok();
        let (chip, nest_ok) = match which {
            Chip::Master => (&mut self.master, master_nest_ok),
            Chip::Slave => (&mut self.slave, 0),
        };
        chip.poll = false;
        let Some(level) = chip.resolve(nest_ok) else {
            return 0;
        };
        chip.accept(level);
        if which == Chip::Slave {
            self.master.set_input(CASCADE_LEVEL, false);
        }
        self.sync_cascade();
        0x80 | level
    }

    /// Master levels exempt from self-blocking: its slave inputs in special fully nested mode.
    fn master_nest_ok(&self) -> u8 {
        if self.master.special_fully_nested() && !self.master.single() {
            self.master.icw[2]
        } else {
            0
        }
    }

    /// Propagates the slave's INT output to master IR2.
    fn sync_cascade(&mut self) {
        let int = self.slave.resolve(0).is_some();
        self.master.set_input(CASCADE_LEVEL, int);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Non-specific EOI command (OCW2 R=0 SL=0 EOI=1).
    const EOI: u8 = 0x20;

    /// Raises then lowers `irq`: one edge-triggered request.
    fn pulse(p: &mut PicPair, irq: u8) {
        p.set_irq_line(irq, true);
        p.set_irq_line(irq, false);
    }

    /// The vector the CPU takes if the pair asserts INTR (an INTA cycle), or `None`.
    fn take(p: &mut PicPair) -> Option<u8> {
        p.pending().then(|| p.acknowledge())
    }

    /// One request on `irq` and the INTA cycle that follows: the vector.
    fn deliver(p: &mut PicPair, irq: u8) -> u8 {
        pulse(p, irq);
        p.acknowledge()
    }

    #[test]
    fn bios_init_gives_at_vectors() {
        // ICW2 T7-T3 supply the vector's top five bits, the IR level the bottom three; the
        // AT BIOS loads 08h (master) and 70h (slave). A slave request comes through IR2, which
        // ICW3 04h marks as cascaded, and the slave with ID 2 supplies its vector.
        let mut p = PicPair::pc_at_bios();
        assert_eq!(p.imr(Chip::Master), 0);
        assert_eq!(p.imr(Chip::Slave), 0);
        assert_eq!(p.chip(Chip::Master).init, InitStep::Ready);
        assert_eq!(p.chip(Chip::Slave).icw, [0x11, 0x70, 0x02, 0x01]);
        for (irq, vector) in [(0, 0x08), (1, 0x09), (8, 0x70), (15, 0x77)] {
            assert!(!p.pending());
            pulse(&mut p, irq);
            assert!(p.pending(), "IRQ {irq}");
            assert_eq!(p.acknowledge(), vector, "IRQ {irq}");
            if irq >= 8 {
                p.write(SLAVE_COMMAND, EOI);
            }
            p.write(MASTER_COMMAND, EOI);
        }
        assert!(!p.pending());
        assert_eq!(p.isr(Chip::Master) | p.isr(Chip::Slave), 0);
    }

    #[test]
    fn edge_triggered_input_requests_once_per_rising_edge() {
        // Edge mode (LTIM = 0): a low-to-high transition sets the IRR bit; a line held high
        // does not request again after INTA.
        let mut p = PicPair::pc_at_bios();
        p.set_irq_line(3, true);
        assert_eq!(p.acknowledge(), 0x0B);
        p.write(MASTER_COMMAND, EOI);
        assert!(!p.pending());
        p.set_irq_line(3, true); // still high: no edge
        assert!(!p.pending());
        p.set_irq_line(3, false);
        assert!(!p.pending());
        p.set_irq_line(3, true);
        assert_eq!(take(&mut p), Some(0x0B));
    }

    #[test]
    fn imr_masks_requests_and_reads_back() {
        // OCW1 sets the mask; a masked IR still latches in IRR but raises no INT. A read of
        // the odd port returns the IMR.
        let mut p = PicPair::pc_at_bios();
        p.write(MASTER_DATA, 0x02);
        p.write(SLAVE_DATA, 0xA5);
        assert_eq!(p.read(MASTER_DATA), 0x02);
        assert_eq!(p.read(SLAVE_DATA), 0xA5);
        pulse(&mut p, 1);
        assert!(!p.pending());
        assert_eq!(p.read(MASTER_COMMAND), 0x02); // IRR (the default read select)
        p.write(MASTER_DATA, 0x00);
        assert_eq!(take(&mut p), Some(0x09));
    }

    #[test]
    fn fully_nested_priority() {
        // Fully nested mode: IR0 highest, IR7 lowest; an in-service level inhibits equal and
        // lower levels until its EOI, while a higher level interrupts a lower one in service.
        let mut p = PicPair::pc_at_bios();
        assert_eq!(deliver(&mut p, 0), 0x08);
        pulse(&mut p, 1);
        assert!(!p.pending());
        p.write(MASTER_COMMAND, EOI);
        assert_eq!(take(&mut p), Some(0x09));
        p.write(MASTER_COMMAND, EOI);

        assert_eq!(deliver(&mut p, 3), 0x0B);
        pulse(&mut p, 1);
        assert_eq!(take(&mut p), Some(0x09));
        assert_eq!(p.isr(Chip::Master), 0b0000_1010);
        // Two simultaneous requests: the higher priority one goes first.
        let mut p = PicPair::pc_at_bios();
        pulse(&mut p, 6);
        assert_eq!(deliver(&mut p, 4), 0x0C);
    }

    #[test]
    fn non_specific_and_specific_eoi() {
        // Non-specific EOI resets the highest-priority ISR bit; specific EOI (011, L2-L0)
        // resets the named bit whatever its priority.
        let mut p = PicPair::pc_at_bios();
        deliver(&mut p, 3);
        deliver(&mut p, 1);
        assert_eq!(p.isr(Chip::Master), 0b0000_1010);
        p.write(MASTER_COMMAND, EOI);
        assert_eq!(p.isr(Chip::Master), 0b0000_1000);

        let mut p = PicPair::pc_at_bios();
        deliver(&mut p, 3);
        deliver(&mut p, 1);
        p.write(MASTER_COMMAND, 0x63); // specific EOI, level 3
        assert_eq!(p.isr(Chip::Master), 0b0000_0010);
        p.write(MASTER_COMMAND, 0x40); // OCW2 010: no operation
        assert_eq!(p.isr(Chip::Master), 0b0000_0010);
    }

    #[test]
    fn cascade_needs_eoi_on_both_chips() {
        // Cascade: the master sets its ISR bit for the slave's IR (2), the slave sets its own
        // (IRQ 12 = slave IR4); each chip keeps its bit until it receives its own EOI.
        let mut p = PicPair::pc_at_bios();
        pulse(&mut p, 12);
        assert_eq!(take(&mut p), Some(0x74));
        assert_eq!(p.isr(Chip::Master), 0x04);
        assert_eq!(p.isr(Chip::Slave), 0x10);
        assert_eq!(p.irr(Chip::Master) & 0x04, 0);
        // A higher slave request (IRQ 8) reaches the slave's INT, but master IR2 is in service
        // and, without special fully nested mode, blocks its own level.
        pulse(&mut p, 8);
        assert!(!p.pending());
        p.write(SLAVE_COMMAND, EOI);
        assert_eq!(p.isr(Chip::Slave), 0x00);
        assert!(!p.pending());
        p.write(MASTER_COMMAND, EOI);
        assert_eq!(take(&mut p), Some(0x70));
        p.write(MASTER_COMMAND, EOI);
        // IRQ 12 now waits behind slave IR0, still in service, until the slave's EOI.
        pulse(&mut p, 12);
        assert!(!p.pending());
        p.write(SLAVE_COMMAND, EOI);
        assert_eq!(p.acknowledge(), 0x74);
        // EOI to the master alone leaves IR4 in service on the slave: IRQ 13 (IR5) is lower
        // and stays blocked until the slave's EOI.
        p.write(MASTER_COMMAND, EOI);
        pulse(&mut p, 13);
        assert!(!p.pending());
        p.write(SLAVE_COMMAND, EOI);
        assert_eq!(take(&mut p), Some(0x75));
    }

    #[test]
    fn special_fully_nested_master_accepts_higher_slave_request() {
        // SFNM (ICW4 bit 4): a request from a slave whose level is in service on the master is
        // still recognized, so a higher-priority slave IR nests inside a lower one.
        let mut p = PicPair::pc_at_bios();
        p.initialize(MASTER_COMMAND, [0x11, 0x08, 0x04, 0x11]);
        assert_eq!(deliver(&mut p, 12), 0x74);
        pulse(&mut p, 8);
        assert_eq!(take(&mut p), Some(0x70));
        assert_eq!(p.isr(Chip::Slave), 0x11);
        // A lower master level stays blocked by IR2 in service.
        pulse(&mut p, 5);
        assert!(!p.pending());
    }

    #[test]
    fn automatic_eoi() {
        // AEOI (ICW4 bit 1): the ISR bit is reset at the end of the INTA sequence, so nothing
        // remains in service and a lower request is delivered at once.
        let mut p = PicPair::pc_at_bios();
        p.initialize(MASTER_COMMAND, [0x11, 0x08, 0x04, 0x03]);
        assert!(p.chip(Chip::Master).auto_eoi());
        pulse(&mut p, 0);
        assert_eq!(deliver(&mut p, 1), 0x08);
        assert_eq!(p.isr(Chip::Master), 0);
        assert_eq!(take(&mut p), Some(0x09));
        assert_eq!(p.isr(Chip::Master), 0);
        assert!(!p.pending());
    }

    #[test]
    fn aeoi_slave_keeps_second_request() {
        // Both chips in AEOI: after the first INTA nothing is in service, so the slave's
        // second request (IRQ 10) must still reach the CPU through master IR2.
        let mut p = PicPair::new();
        p.initialize(MASTER_COMMAND, [0x11, 0x08, 0x04, 0x03]);
        p.initialize(SLAVE_COMMAND, [0x11, 0x70, 0x02, 0x03]);
        pulse(&mut p, 9);
        assert_eq!(deliver(&mut p, 10), 0x71);
        assert_eq!(take(&mut p), Some(0x72));
        assert!(!p.pending());
        assert_eq!(p.isr(Chip::Master) | p.isr(Chip::Slave), 0);
    }

    #[test]
    fn ocw3_selects_irr_or_isr() {
        // OCW3 RR=1: RIS=0 reads IRR, RIS=1 reads ISR on the even port; the selection sticks
        // until changed, and ICW1 sets it back to IRR.
        let mut p = PicPair::pc_at_bios();
        pulse(&mut p, 1);
        pulse(&mut p, 3);
        assert_eq!(p.read(MASTER_COMMAND), 0x0A);
        p.acknowledge();
        assert_eq!(p.read(MASTER_COMMAND), 0x08);
        p.write(MASTER_COMMAND, 0x0B);
        assert_eq!(p.read(MASTER_COMMAND), 0x02);
        assert_eq!(p.read(MASTER_COMMAND), 0x02);
        p.write(MASTER_COMMAND, 0x08); // RR=0: no change
        assert_eq!(p.read(MASTER_COMMAND), 0x02);
        p.write(MASTER_COMMAND, 0x0A);
        assert_eq!(p.read(MASTER_COMMAND), 0x08);
        p.write(MASTER_COMMAND, 0x0B);
        p.write(MASTER_COMMAND, 0x11);
        assert!(!p.chip(Chip::Master).read_isr);
    }

    #[test]
    fn poll_command() {
        // Poll (OCW3 P=1): the next read returns I (bit 7) and W2-W0, the highest requesting
        // level, and acts as an interrupt acknowledge (sets the ISR bit).
        let mut p = PicPair::pc_at_bios();
        p.write(MASTER_COMMAND, 0x0C);
        assert_eq!(p.read(MASTER_COMMAND) & 0x80, 0);
        pulse(&mut p, 5);
        pulse(&mut p, 3);
        p.write(MASTER_COMMAND, 0x0C);
        assert_eq!(p.read(MASTER_COMMAND), 0x83);
        assert_eq!(p.isr(Chip::Master), 0x08);
        assert_eq!(p.irr(Chip::Master), 0x20);
        // The poll is consumed: the next read is the IRR again.
        assert_eq!(p.read(MASTER_COMMAND), 0x20);
        // Polling the slave acknowledges on the slave.
        pulse(&mut p, 14);
        p.write(SLAVE_COMMAND, 0x0C);
        assert_eq!(p.read(SLAVE_COMMAND), 0x86);
        assert_eq!(p.isr(Chip::Slave), 0x40);
    }

    #[test]
    fn spurious_irq7_on_master() {
        // If the request is gone at INTA time (the IR line dropped in level mode), the chip
        // answers with the IR7 vector (default IR7) and sets no ISR bit.
        let mut p = PicPair::pc_at_bios();
        p.initialize(MASTER_COMMAND, [0x19, 0x08, 0x04, 0x01]);
        p.set_irq_line(5, true);
        assert!(p.pending());
        p.set_irq_line(5, false);
        assert!(!p.pending());
        assert_eq!(p.acknowledge(), 0x0F);
        assert_eq!(p.isr(Chip::Master), 0);
        // Edge mode: a request masked before INTA leaves nothing to acknowledge.
        let mut p = PicPair::pc_at_bios();
        pulse(&mut p, 3);
        p.write(MASTER_DATA, 0x08);
        assert_eq!(p.acknowledge(), 0x0F);
        assert_eq!(p.isr(Chip::Master), 0);
    }

    #[test]
    fn spurious_irq15_on_slave() {
        // The master acknowledged IR2 and put the slave's ID on CAS0-2, but the slave's request
        // was masked meanwhile: the slave gives its IR7 vector (77h), sets no ISR bit, and the
        // master's ISR bit 2 is set as for any cascaded acknowledge.
        let mut p = PicPair::pc_at_bios();
        pulse(&mut p, 12);
        assert!(p.pending());
        p.write(SLAVE_DATA, 0x10);
        assert!(p.pending()); // master IR2 latched the slave's INT edge
        assert_eq!(p.acknowledge(), 0x77);
        assert_eq!(p.isr(Chip::Master), 0x04);
        assert_eq!(p.isr(Chip::Slave), 0x00);
    }

    #[test]
    fn rotation_changes_priority_order() {
        // Rotate on non-specific EOI (101): the level just ended becomes the lowest priority,
        // so after ending IR0 the order is 1, 2, ..., 7, 0.
        let mut p = PicPair::pc_at_bios();
        assert_eq!(deliver(&mut p, 0), 0x08);
        p.write(MASTER_COMMAND, 0xA0);
        assert_eq!(p.isr(Chip::Master), 0);
        assert_eq!(p.chip(Chip::Master).lowest_priority(), 0);
        pulse(&mut p, 0);
        assert_eq!(deliver(&mut p, 1), 0x09);
        // Now IR1 is in service and is the highest priority: IR0 (lowest) waits.
        assert!(!p.pending());
        p.write(MASTER_COMMAND, EOI);
        assert_eq!(p.acknowledge(), 0x08);
        p.write(MASTER_COMMAND, EOI);
        // Set priority (110, level 4): IR5 becomes the highest, so IR5 beats IR3.
        p.write(MASTER_COMMAND, 0xC4);
        pulse(&mut p, 3);
        assert_eq!(deliver(&mut p, 5), 0x0D);
        // Rotate on specific EOI (111, level 5): ends IR5 and makes it the lowest, IR6 highest.
        p.write(MASTER_COMMAND, 0xE5);
        assert_eq!(p.isr(Chip::Master), 0);
        assert_eq!(p.chip(Chip::Master).lowest_priority(), 5);
        assert_eq!(p.acknowledge(), 0x0B);
        // Rotate in AEOI mode (100 set / 000 clear).
        p.write(MASTER_COMMAND, 0x80);
        assert!(p.chip(Chip::Master).rotate_aeoi);
        p.write(MASTER_COMMAND, 0x00);
        assert!(!p.chip(Chip::Master).rotate_aeoi);
    }

    #[test]
    fn special_mask_mode_admits_lower_levels() {
        // Special mask mode (OCW3 ESMM=1 SMM=1): masking the in-service level enables all
        // unmasked levels, lower as well as higher; SMM reset (10) restores nesting.
        let mut p = PicPair::pc_at_bios();
        assert_eq!(deliver(&mut p, 0), 0x08);
        pulse(&mut p, 3);
        assert!(!p.pending());
        p.write(MASTER_COMMAND, 0x68);
        p.write(MASTER_DATA, 0x01);
        assert_eq!(take(&mut p), Some(0x0B));
        assert_eq!(p.isr(Chip::Master), 0x09);
        p.write(MASTER_COMMAND, 0x48);
        assert!(!p.chip(Chip::Master).special_mask);
        pulse(&mut p, 4);
        assert!(!p.pending());
    }

    #[test]
    fn level_mode_rerequests_while_line_high() {
        // Level mode (LTIM=1): the IR input is sensed by level, so a line still high after EOI
        // requests again.
        let mut p = PicPair::pc_at_bios();
        p.initialize(MASTER_COMMAND, [0x19, 0x08, 0x04, 0x01]);
        p.set_irq_line(4, true);
        assert_eq!(p.acknowledge(), 0x0C);
        assert!(!p.pending());
        p.write(MASTER_COMMAND, EOI);
        assert!(p.pending());
    }

    #[test]
    fn icw1_resets_and_sequence_follows_sngl_and_ic4() {
        // ICW1 clears IMR (and here ISR), resets the edge sense (a high line must go low and
        // high again) and selects IRR; with SNGL=1 no ICW3 and with IC4=0 no ICW4 is expected,
        // so the third odd write is already OCW1.
        let mut p = PicPair::pc_at_bios();
        p.set_irq_line(6, true);
        p.acknowledge();
        p.write(MASTER_DATA, 0xF0);
        p.write(MASTER_COMMAND, 0x12);
        assert_eq!((p.isr(Chip::Master), p.imr(Chip::Master)), (0, 0));
        assert_eq!(p.chip(Chip::Master).init, InitStep::Icw2);
        p.write(MASTER_DATA, 0x47); // low 3 bits ignored: base 40h
        assert_eq!(p.chip(Chip::Master).init, InitStep::Ready);
        p.write(MASTER_DATA, 0xFE);
        assert_eq!(p.read(MASTER_DATA), 0xFE);
        p.write(MASTER_DATA, 0x00);
        assert!(!p.pending()); // IRQ 6 still high, but no new edge
        p.set_irq_line(6, false);
        p.set_irq_line(6, true);
        assert_eq!(p.acknowledge(), 0x46);
    }

    #[test]
    fn power_on_and_other_ports() {
        // Power-on model: vector base 0, no cascade; unclaimed ports read FFh; IRQ 2 is the
        // cascade input and IRQs above 15 do not exist.
        let mut p = PicPair::default();
        assert_eq!(p, PicPair::new());
        assert_eq!(deliver(&mut p, 6), 0x06);
        assert_eq!(p.read(0x22), 0xFF);
        assert!(!PicPair::handles_port(0x22));
        let before = p.clone();
        p.write(0x22, 0x11);
        p.set_irq_line(2, true);
        p.set_irq_line(16, true);
        p.set_irq_line(255, true);
        assert_eq!(p, before);
    }

    #[test]
    fn any_port_traffic_is_handled() {
        // Guest-controlled values must never panic: every byte to every port, in several
        // orders, interleaved with line changes, INTA cycles and reads.
        let ports = [MASTER_COMMAND, MASTER_DATA, SLAVE_COMMAND, SLAVE_DATA];
        for order in 0..4u16 {
            let mut p = PicPair::pc_at_bios();
            for v in 0..=255u16 {
                let value = match order {
                    0 => v,
                    1 => 255 - v,
                    2 => (v * 7) & 0xFF,
                    _ => v ^ 0x5A,
                } as u8;
                for i in 0..ports.len() {
                    let port = ports[(i + usize::from(value)) % ports.len()];
                    p.write(port, value);
                    p.set_irq_line(value, value & 1 != 0);
                    p.set_irq_line(value & 15, value & 2 != 0);
                    if p.pending() {
                        p.acknowledge();
                    }
                    p.acknowledge();
                    for &r in &ports {
                        p.read(r);
                    }
                }
            }
        }
    }

    #[test]
    fn state_is_serializable_and_clones_continue_identically() {
        // DESIGN.md section 6: all state is plain serializable data, and a copy taken mid-run
        // continues exactly like the original.
        fn assert_serde<T: Serialize + for<'de> Deserialize<'de>>() {}
        assert_serde::<PicPair>();
        let mut p = PicPair::pc_at_bios();
        pulse(&mut p, 12);
        deliver(&mut p, 3);
        let mut q = p.clone();
        assert_eq!(p, q);
        for pair in [&mut p, &mut q] {
            pair.write(SLAVE_COMMAND, EOI);
            pulse(pair, 9);
        }
        assert_eq!(p.acknowledge(), q.acknowledge());
        assert_eq!(p, q);
    }
}
