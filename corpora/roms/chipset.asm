; chipset.asm - bare-ROM test of the vexed PC chipset, booted with `vexed boot`.
;
; A 64 KiB ROM image mapped at F0000h; the CPU starts at FFFF:0000 (the far jump at the
; end). It programs the 8259A master (ICW1-4, mask) and the 8254 channel 0 (mode 2),
; counts five timer interrupts, then checks the A20 gate both ways through the 8042
; output port (command D1h) and through port 92h, by writing at FFFF:0610 (physical
; 100600h) and reading 0000:0600. Every result goes to the debug port E9h; the exit port
; F4h receives 0 if all checks passed, 1 otherwise.
;
; Assemble: nasm -f bin -o chipset.bin chipset.asm

        bits 16
        cpu 286
        org 0

TICKS   equ 0x0500                      ; word at 0000:0500: timer interrupts seen
FAILS   equ 0x0502                      ; word at 0000:0502: failed checks

start:
        cli
        xor ax, ax
        mov ss, ax
        mov sp, 0x7000
        mov ds, ax
        mov [TICKS], ax
        mov [FAILS], ax
        mov si, msg_hello
        call print

        ; --- 8259A master: edge triggered, cascade, vector base 08h, 8086 mode ---
        mov al, 0x11                    ; ICW1: ICW4 needed, cascade mode
        out 0x20, al
        mov al, 0x08                    ; ICW2: IRQ0 -> vector 08h
        out 0x21, al
        mov al, 0x04                    ; ICW3: slave on IR2
        out 0x21, al
        mov al, 0x01                    ; ICW4: 8086 mode, normal EOI
        out 0x21, al
        mov al, 0xFE                    ; OCW1: only IRQ0 unmasked
        out 0x21, al

        ; --- vector 08h -> timer handler ---
        mov word [0x08 * 4], timer
        mov word [0x08 * 4 + 2], cs

        ; --- 8254 channel 0: mode 2 (rate generator), binary, count 1193 (~1 kHz) ---
        mov al, 0x34                    ; SC=0, RW=lsb then msb, mode 2, binary
        out 0x43, al
        mov ax, 1193
        out 0x40, al
        mov al, ah
        out 0x40, al

        sti
.wait:  hlt                             ; woken by IRQ0
        cmp word [TICKS], 5
        jb .wait
        cli
        mov si, msg_timer
        call print

        ; --- A20: off at power-on (8042 output port bit 1 = 0, port 92h bit 1 = 0) ---
        call expect_wrap
        mov si, msg_a20_off
        call report

        ; --- A20 on through the 8042: command D1h, output port DFh (A20 + reset high) ---
        mov al, 0xD1
        out 0x64, al
        mov al, 0xDF
        out 0x60, al
        call expect_no_wrap
        mov si, msg_kbc_on
        call report

        ; --- and off again: output port DDh ---
        mov al, 0xD1
        out 0x64, al
        mov al, 0xDD
        out 0x60, al
        call expect_wrap
        mov si, msg_kbc_off
        call report

        ; --- A20 on through port 92h bit 1 (bit 0, the reset, left 0) ---
        in al, 0x92
        and al, 0xFE
        or al, 0x02
        out 0x92, al
        call expect_no_wrap
        mov si, msg_92_on
        call report

        ; --- off again ---
        in al, 0x92
        and al, 0xFC
        out 0x92, al
        call expect_wrap
        mov si, msg_92_off
        call report

        mov si, msg_done
        call print
        mov ax, [FAILS]
        test ax, ax
        jz .exit
        mov al, 1
.exit:  out 0xF4, al                    ; exit status
        cli
        hlt

; Sets CF if FFFF:0610 is 0000:0600 (A20 off), clears it otherwise. Uses ES.
probe_wrap:
        push ax
        mov ax, 0xFFFF
        mov es, ax
        mov byte [0x0600], 0x55
        mov byte [es:0x0610], 0xAA      ; physical 100600h, or 000600h with A20 off
        cmp byte [0x0600], 0xAA
        je .wraps
        pop ax
        clc
        ret
.wraps: pop ax
        stc
        ret

; AL := 1 if the address wraps as expected (A20 off), 0 otherwise.
expect_wrap:
        call probe_wrap
        sbb al, al                      ; FFh if CF, 00h if not
        neg al
        ret

; AL := 1 if the address does not wrap (A20 on), 0 otherwise.
expect_no_wrap:
        call probe_wrap
        sbb al, al
        inc al                          ; 00h if CF, 01h if not
        ret

; Prints the label at CS:SI and "ok" if AL = 1, else "FAIL" (and counts the failure).
report:
        push ax
        call print
        pop ax
        mov si, msg_ok
        test al, al
        jnz .print
        inc word [FAILS]
        mov si, msg_fail
.print: jmp print

; Writes the NUL-terminated string at CS:SI to port E9h.
print:
        cs lodsb
        test al, al
        jz .done
        out 0xE9, al
        jmp print
.done:  ret

timer:
        push ax
        inc word [TICKS]
        mov al, 0x20                    ; non-specific EOI
        out 0x20, al
        pop ax
        iret

msg_hello:   db "vexed chipset ROM", 10, 0
msg_timer:   db "pic+pit: 5 timer interrupts", 10, 0
msg_a20_off: db "a20 off at power-on, FFFF:0610 wraps to 0000:0600: ", 0
msg_kbc_on:  db "a20 on via 8042 D1h, no wrap: ", 0
msg_kbc_off: db "a20 off via 8042 D1h, wraps: ", 0
msg_92_on:   db "a20 on via port 92h, no wrap: ", 0
msg_92_off:  db "a20 off via port 92h, wraps: ", 0
msg_ok:      db "ok", 10, 0
msg_fail:    db "FAIL", 10, 0
msg_done:    db "done", 10, 0

        times 0xFFF0 - ($ - $$) db 0xFF
reset:  jmp 0xF000:start                ; FFFF:0000 = F000:FFF0
        times 0x10000 - ($ - $$) db 0xFF
