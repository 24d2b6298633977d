; echodev.asm - a DOS character device driver (ECHODEV.SYS), loaded by CONFIG.SYS's
; DEVICE= line. Bytes written to the device are kept (up to 32) and read back in upper
; case.
;
; The protocol, from RBIL INT 21 tables #01646/#01647 (device header, attribute bits) and
; #02597-#02614 (request header and the command-specific parts) and the MS-DOS device
; driver documentation:
;   - the header at offset 0: next pointer FFFF:FFFF (DOS links it), attribute C800h
;     (bit 15 character device, bit 14 IOCTL supported, bit 11 OPEN/CLOSE supported),
;     the strategy and interrupt routines' offsets, the name "ECHODEV ";
;   - DOS calls the strategy routine with ES:BX -> request header, which it saves, then
;     the interrupt routine, which does the work: byte 00h is the header's length, 01h
;     the unit, 02h the command, word 03h the status (bit 15 error with the code in the
;     low byte, bit 9 busy, bit 8 done);
;   - INIT (00h): the command line pointer at 12h (the text after "DEVICE="), the end of
;     available memory at 0Eh on entry and the break address there on return. A driver's
;     INIT may only use Int 21h functions 01h-0Ch and 30h: the banner is written with
;     AH=02h, the DOS version read with AH=30h. The break address is the start of the INIT
;     code, which DOS may then reuse;
;   - INPUT (04h) and OUTPUT (08h, 09h with verify): transfer address at 0Eh, count at 12h
;     (the driver sets the count it moved); IOCTL input (03h) returns two bytes, the
;     number of opens and the bytes stored; IOCTL output (0Ch) with 'C' first empties the
;     buffer; non-destructive input (05h) returns the next byte at 0Dh or busy when empty;
;     input status (06h) busy when empty; output status (0Ah) busy when full; flushes
;     (07h, 0Bh) empty the buffer; OPEN (0Dh) and CLOSE (0Eh) count the opens. Any other
;     command: error 03h (unknown command).
;
; Assemble: nasm -f bin echodev.asm -o echodev.sys

        cpu 8086
        bits 16
        org 0

%define DEVNAME 'ECHODEV '
%define DEVTAG 'ECHODEV'
%include "echodev.inc"
