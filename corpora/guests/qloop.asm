; qloop.asm - the peer loop of cpuloop.asm and loop.asm as a boot sector, for timing QEMU on
; the same 720,896,000 loop instructions (corpora/bench/peers.sh).
;
; The BIOS loads the sector at 0000:7C00 and jumps to it. It runs the loop of loop.asm (the
; same 11 instructions, 65,536 x 1,000 times, on the same 256 data bytes, here in the sector
; itself), then writes the low byte of DX to port F4h: QEMU's isa-debug-exit device
; (-device isa-debug-exit,iobase=0xf4,iosize=1) ends QEMU with exit status (value << 1) | 1.
; DX after the loop is C8E4h (loop.asm prints it), so QEMU exits with status 0C9h = 201,
; which the script checks. Without that device the sector halts.
;
; Assemble: nasm -f bin qloop.asm -o qloop.bin (512 bytes; the script pads a copy to a
; 1.44 MB floppy image).

%include "cpuloop.inc"

        bits 16
        org 7C00h

start:
        cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 7C00h
        xor bx, bx
        xor dx, dx
        xor di, di
        xor si, si
        CPULOOP_BODY
        mov al, dl
        out 0F4h, al
.halt:  hlt
        jmp .halt

        CPULOOP_DATA

        times 510 - ($ - $$) db 0
        dw 0AA55h
