; rtc.asm - bare-ROM test of the vexed MC146818A real-time clock and CMOS RAM, booted with
; `vexed boot`.
;
; Checks, with the expected values from the Motorola MC146818A datasheet and the IBM PC/AT
; Technical Reference (CMOS RAM address map): the AT's register set-up (A = 26h, B = 02h,
; D = 80h VRT), base memory 640 KiB in 15h/16h and the checksum of 10h-2Dh in 2Eh (high)
; and 2Fh (low); the clock at its power-on time (a bare machine boots at 1994-01-01
; 00:00:00, a Saturday: day of week 7, 1 = Sunday) in BCD, in binary (DM = 1: year 94 =
; 5Eh) and in 12-hour mode (hour 0 reads 12h, 12 AM); one update cycle: UIP rises and
; falls, the seconds register then reads 01h, and register C shows UF and PF (50h) and
; reads 00h the second time (a read clears it); and the periodic interrupt on IRQ 8 at
; 1024 Hz: the handler's read of C sees IRQF and PF (C0h), eight interrupts arrive, none
; after PIE is cleared. Every result goes to the debug port E9h; the exit port F4h
; receives 0 if all checks passed, 1 otherwise. The NMI mask bit (port 70h bit 7) is set
; for every access.
;
; Assemble: nasm -f bin -o rtc.bin rtc.asm

        bits 16
        cpu 286
        org 0

IRQS    equ 0x0500                      ; word at 0000:0500: IRQ 8 interrupts seen
FAILS   equ 0x0502                      ; word at 0000:0502: failed checks
LASTC   equ 0x0504                      ; byte at 0000:0504: C as the handler read it

start:
        cli
        xor ax, ax
        mov ss, ax
        mov sp, 0x7000
        mov ds, ax
        mov [IRQS], ax
        mov [FAILS], ax
        mov [LASTC], al
        mov si, msg_hello
        call print

        ; --- the AT's set-up: A = 26h, B = 02h, D = 80h ---
        mov al, 0x0A
        call cmos_read
        and al, 0x7F                    ; UIP aside
        mov ah, 0x26
        mov si, msg_a
        call expect
        mov al, 0x0B
        call cmos_read
        mov ah, 0x02
        mov si, msg_b
        call expect
        mov al, 0x0D
        call cmos_read
        mov ah, 0x80
        mov si, msg_d
        call expect

        ; --- base memory 640 KiB = 0280h ---
        mov al, 0x15
        call cmos_read
        mov ah, 0x80
        mov si, msg_base_lo
        call expect
        mov al, 0x16
        call cmos_read
        mov ah, 0x02
        mov si, msg_base_hi
        call expect

        ; --- checksum: sum of 10h-2Dh = 2Eh:2Fh ---
        xor bx, bx
        mov cl, 0x10
.sum:   mov al, cl
        call cmos_read
        xor ah, ah
        add bx, ax
        inc cl
        cmp cl, 0x2E
        jb .sum
        mov al, 0x2E
        call cmos_read
        mov dh, al
        mov al, 0x2F
        call cmos_read
        mov dl, al
        mov al, 1
        cmp bx, dx
        je .sum_ok
        mov al, 0
.sum_ok:
        mov si, msg_checksum
        call report

        ; --- power-on date in BCD: 94-01-01, Saturday (7) ---
        mov al, 0x09
        call cmos_read
        mov ah, 0x94
        mov si, msg_year
        call expect
        mov al, 0x08
        call cmos_read
        mov ah, 0x01
        mov si, msg_month
        call expect
        mov al, 0x07
        call cmos_read
        mov ah, 0x01
        mov si, msg_day
        call expect
        mov al, 0x06
        call cmos_read
        mov ah, 0x07
        mov si, msg_dow
        call expect

        ; --- binary data mode: year 94 = 5Eh ---
        mov ax, 0x060B                  ; B = 06h: DM = 1 (binary), 24 hours
        call cmos_write
        mov al, 0x09
        call cmos_read
        mov ah, 0x5E
        mov si, msg_binary
        call expect
        ; --- 12-hour mode: hour 0 is 12 AM = 12h ---
        mov ax, 0x000B                  ; B = 00h: BCD, 12 hours
        call cmos_write
        mov al, 0x04
        call cmos_read
        mov ah, 0x12
        mov si, msg_12h
        call expect
        mov ax, 0x020B                  ; back to B = 02h
        call cmos_write

        ; --- one update cycle: UIP rises, falls, the seconds read 01h ---
        mov al, 0x0C                    ; clear the flags so far
        call cmos_read
.uip0:  mov al, 0x0A
        call cmos_read
        test al, 0x80
        jz .uip0
.uip1:  mov al, 0x0A
        call cmos_read
        test al, 0x80
        jnz .uip1
        mov al, 0x00
        call cmos_read
        mov ah, 0x01
        mov si, msg_seconds
        call expect
        ; --- register C: UF and PF, then 00h ---
        mov al, 0x0C
        call cmos_read
        mov ah, 0x50
        mov si, msg_c
        call expect
        mov al, 0x0C
        call cmos_read
        mov ah, 0x00
        mov si, msg_c_again
        call expect

        ; --- periodic interrupt on IRQ 8 ---
        ; 8259A master: vector base 08h, slave on IR2; slave: base 70h, cascade ID 2.
        mov al, 0x11
        out 0x20, al
        mov al, 0x08
        out 0x21, al
        mov al, 0x04
        out 0x21, al
        mov al, 0x01
        out 0x21, al
        mov al, 0x11
        out 0xA0, al
        mov al, 0x70
        out 0xA1, al
        mov al, 0x02
        out 0xA1, al
        mov al, 0x01
        out 0xA1, al
        mov al, 0xFB                    ; master: only IR2 (the slave)
        out 0x21, al
        mov al, 0xFE                    ; slave: only IR0 (IRQ 8)
        out 0xA1, al
        mov word [0x70 * 4], rtc_irq
        mov word [0x70 * 4 + 2], cs
        mov ax, 0x260A                  ; A = 26h: 1024 Hz
        call cmos_write
        mov ax, 0x420B                  ; B = 42h: PIE, 24 hours
        call cmos_write
        sti
.wait:  hlt                             ; woken by IRQ 8
        cmp word [IRQS], 8
        jb .wait
        cli
        mov ax, 0x020B                  ; PIE off
        call cmos_write
        mov al, [LASTC]
        mov ah, 0xC0
        mov si, msg_irq_c
        call expect
        mov al, 1
        mov si, msg_irq8
        call report
        ; No interrupt after PIE is cleared: wait 13 x 20,000 LOOPs (about 10 ms at the
        ; default 25 million instructions per second), 10 periods of the 1024 Hz rate.
        mov al, 0x0C                    ; release a flag set meanwhile
        call cmos_read
        mov bx, [IRQS]
        sti
        mov dx, 13
.quiet: mov cx, 20000
.q2:    loop .q2
        dec dx
        jnz .quiet
        cli
        mov al, 1
        cmp bx, [IRQS]
        je .quiet_ok
        mov al, 0
.quiet_ok:
        mov si, msg_quiet
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

; AL := CMOS register AL (NMI masked during the access).
cmos_read:
        or al, 0x80
        out 0x70, al
        in al, 0x71
        ret

; CMOS register AL := AH.
cmos_write:
        or al, 0x80
        out 0x70, al
        mov al, ah
        out 0x71, al
        ret

; Prints the label at CS:SI and "ok" if AL = AH, else "FAIL" and the value read.
expect:
        cmp al, ah
        je .ok
        push ax
        call print
        mov si, msg_fail_got
        call print
        pop ax
        call hex
        mov si, msg_nl
        inc word [FAILS]
        jmp print
.ok:    mov al, 1
        ; fall through

; Prints the label at CS:SI and "ok" if AL = 1, else "FAIL" (and counts the failure).
report:
        push ax
        call print
        pop ax
        mov si, msg_ok
        cmp al, 1
        je .print
        inc word [FAILS]
        mov si, msg_fail
.print: jmp print

; Prints AL as two hex digits.
hex:
        push ax
        shr al, 4
        call .digit
        pop ax
        and al, 0x0F
.digit: add al, '0'
        cmp al, '9'
        jbe .out
        add al, 'A' - '0' - 10
.out:   out 0xE9, al
        ret

; Writes the NUL-terminated string at CS:SI to port E9h.
print:
        cs lodsb
        test al, al
        jz .done
        out 0xE9, al
        jmp print
.done:  ret

; IRQ 8: read C (acknowledges the chip), count, EOI slave then master.
rtc_irq:
        push ax
        mov al, 0x8C
        out 0x70, al
        in al, 0x71
        mov [LASTC], al
        inc word [IRQS]
        mov al, 0x20
        out 0xA0, al
        out 0x20, al
        pop ax
        iret

msg_hello:    db "vexed rtc ROM", 10, 0
msg_a:        db "register A = 26h: ", 0
msg_b:        db "register B = 02h: ", 0
msg_d:        db "register D = 80h (VRT): ", 0
msg_base_lo:  db "CMOS 15h = 80h: ", 0
msg_base_hi:  db "CMOS 16h = 02h (640 KiB): ", 0
msg_checksum: db "checksum of 10h-2Dh in 2Eh/2Fh: ", 0
msg_year:     db "year = 94h: ", 0
msg_month:    db "month = 01h: ", 0
msg_day:      db "date = 01h: ", 0
msg_dow:      db "day of week = 07h (Saturday): ", 0
msg_binary:   db "binary mode year = 5Eh: ", 0
msg_12h:      db "12-hour mode hour = 12h (12 AM): ", 0
msg_seconds:  db "after UIP falls, seconds = 01h: ", 0
msg_c:        db "register C = 50h (UF, PF): ", 0
msg_c_again:  db "register C read again = 00h: ", 0
msg_irq_c:    db "IRQ 8 handler reads C = C0h (IRQF, PF): ", 0
msg_irq8:     db "8 periodic interrupts on IRQ 8: ", 0
msg_quiet:    db "none after PIE is cleared: ", 0
msg_ok:       db "ok", 10, 0
msg_fail:     db "FAIL", 10, 0
msg_fail_got: db "FAIL, read ", 0
msg_nl:       db "h", 10, 0
msg_done:     db "done", 10, 0

        times 0xFFF0 - ($ - $$) db 0xFF
reset:  jmp 0xF000:start                ; FFFF:0000 = F000:FFF0
        times 0x10000 - ($ - $$) db 0xFF
