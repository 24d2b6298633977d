; devices.asm - bare-ROM test of the vexed chipset's I/O devices, booted with `vexed boot`.
;
; With the timer running (8254 channel 0, mode 2, IRQ0), it checks:
;   - 8042: controller self-test (AAh -> 55h); keyboard echo (EEh -> EEh) delivered
;     through IRQ1;
;   - 16450 UART (COM1): loopback mode returns a transmitted byte in RBR with LSR DR set;
;     then, out of loopback, transmits "COM1" to the host;
;   - Sound Blaster DSP + 8237 channel 1: DSP reset (AAh), version (E1h -> 02h 01h), an
;     8-bit single-cycle DMA transfer of 64 bytes at ~11 kHz that ends with IRQ5 and the
;     8237's terminal-count status bit for channel 1.
; Results go to the debug port E9h; the exit port F4h gets 0 if every check passed.
;
; Assemble: nasm -f bin -o devices.bin devices.asm

        bits 16
        cpu 286
        org 0

TICKS   equ 0x0500                      ; timer interrupts
FAILS   equ 0x0502                      ; failed checks
KBDATA  equ 0x0504                      ; last byte IRQ1 read from port 60h
KBCOUNT equ 0x0506                      ; IRQ1 count
SBIRQ   equ 0x0508                      ; IRQ5 count
BUFFER  equ 0x1000                      ; 64-byte DMA source at physical 01000h
SB      equ 0x220

start:
        cli
        xor ax, ax
        mov ss, ax
        mov sp, 0x7000
        mov ds, ax
        mov es, ax
        mov di, TICKS
        mov cx, 8
        rep stosw                       ; clear the counters
        mov si, msg_hello
        call print

        ; 8259A master: vector base 08h; IRQ0, IRQ1 and IRQ5 unmasked.
        mov al, 0x11
        out 0x20, al
        mov al, 0x08
        out 0x21, al
        mov al, 0x04
        out 0x21, al
        mov al, 0x01
        out 0x21, al
        mov al, 0xDC                    ; 1101 1100: IRQ0, IRQ1, IRQ5 open
        out 0x21, al
        mov word [0x08 * 4], timer
        mov word [0x08 * 4 + 2], cs
        mov word [0x09 * 4], keyboard
        mov word [0x09 * 4 + 2], cs
        mov word [0x0D * 4], soundblaster
        mov word [0x0D * 4 + 2], cs

        ; 8254 channel 0, mode 2, count 11932 (~100 Hz).
        mov al, 0x34
        out 0x43, al
        mov ax, 11932
        out 0x40, al
        mov al, ah
        out 0x40, al
        sti

        ; --- 8042 self-test: command AAh, the controller answers 55h. IRQ1 is off in
        ; the command byte meanwhile (bit 0), so the answer is polled, not taken by IRQ1 ---
        mov al, 0x60                    ; write command byte
        out 0x64, al
        mov al, 0x44                    ; system flag, translate; IRQ1 off
        out 0x60, al
        mov al, 0xAA
        out 0x64, al
        call kbc_wait_obf
        in al, 0x60
        cmp al, 0x55
        call check
        mov si, msg_selftest
        call report
        mov al, 0x60
        out 0x64, al
        mov al, 0x45                    ; IRQ1 back on
        out 0x60, al

        ; --- keyboard echo through IRQ1: EEh to port 60h, the keyboard answers EEh ---
        mov word [KBCOUNT], 0
        mov al, 0xEE
        out 0x60, al
.kwait: hlt
        cmp word [KBCOUNT], 0
        je .kwait
        cmp byte [KBDATA], 0xEE
        call check
        mov si, msg_echo
        call report

        ; --- UART loopback: MCR 10h, THR 'U' comes back in RBR with LSR DR ---
        mov dx, 0x3FB
        mov al, 0x03                    ; 8 data bits, DLAB 0
        out dx, al
        mov dx, 0x3FC
        mov al, 0x10                    ; loopback
        out dx, al
        mov dx, 0x3F8
        mov al, 'U'
        out dx, al
        mov dx, 0x3FD
        in al, dx
        test al, 0x01                   ; DR
        jz .nodr
        mov dx, 0x3F8
        in al, dx
        cmp al, 'U'
        jmp .uart
.nodr:  cmp al, 0xFF                    ; forces ZF = 0 (AL has bit 0 clear)
.uart:  call check
        mov si, msg_uart
        call report
        mov dx, 0x3FC
        mov al, 0x00                    ; loopback off: bytes go to the host
        out dx, al
        mov si, msg_com1
        mov dx, 0x3F8
.tx:    cs lodsb
        test al, al
        jz .txdone
        out dx, al
        jmp .tx
.txdone:

        ; --- Sound Blaster DSP reset: 1 then 0 to 226h, then AAh in the read buffer ---
        mov dx, SB + 6
        mov al, 1
        out dx, al
        xor al, al
        out dx, al
        call dsp_read
        cmp al, 0xAA
        call check
        mov si, msg_dsp_reset
        call report

        ; --- DSP version: E1h -> 02h 01h ---
        mov al, 0xE1
        call dsp_write
        call dsp_read
        mov ah, al
        call dsp_read
        cmp ax, 0x0201
        call check
        mov si, msg_dsp_version
        call report

        ; --- 8-bit single-cycle DMA output of 64 bytes from 01000h on channel 1 ---
        mov di, BUFFER
        mov cx, 64
        mov al, 0x80
        rep stosb                       ; silence (80h) samples
        mov al, 0x05                    ; mask channel 1
        out 0x0A, al
        out 0x0C, al                    ; clear the byte flip-flop
        mov al, 0x49                    ; single mode, read from memory, channel 1
        out 0x0B, al
        mov al, BUFFER & 0xFF
        out 0x02, al
        mov al, (BUFFER >> 8) & 0xFF
        out 0x02, al
        xor al, al                      ; page: bits 16-23 of 01000h
        out 0x83, al
        mov al, 63                      ; count = bytes - 1
        out 0x03, al
        xor al, al
        out 0x03, al
        in al, 0x08                     ; read status: clears old terminal counts
        mov al, 0x01                    ; unmask channel 1
        out 0x0A, al
        mov al, 0x40                    ; time constant A5h: 1,000,000 / 91 = 10,989 Hz
        call dsp_write
        mov al, 0xA5
        call dsp_write
        mov al, 0xD1                    ; speaker on
        call dsp_write
        mov word [SBIRQ], 0
        mov al, 0x14                    ; 8-bit single-cycle DMA output, length 64
        call dsp_write
        mov al, 63
        call dsp_write
        xor al, al
        call dsp_write
.swait: hlt
        cmp word [SBIRQ], 0
        je .swait
        in al, 0x08                     ; 8237 status: bit 1 = channel 1 reached TC
        test al, 0x02
        jz .notc
        cmp al, al                      ; ZF = 1
.notc:  call check
        mov si, msg_dma
        call report

        cli
        mov si, msg_done
        call print
        mov ax, [FAILS]
        test ax, ax
        jz .exit
        mov al, 1
.exit:  out 0xF4, al
        hlt

; Counts a failure unless ZF is set; leaves AL = 1 for pass, 0 for fail.
check:
        mov al, 1
        je .ok
        inc word [FAILS]
        xor al, al
.ok:    ret

; Waits for the 8042's output buffer (status bit 0).
kbc_wait_obf:
        in al, 0x64
        test al, 0x01
        jz kbc_wait_obf
        ret

; Writes AL to the DSP once it is ready (22Ch bit 7 clear).
dsp_write:
        push dx
        push ax
        mov dx, SB + 0x0C
.busy:  in al, dx
        test al, 0x80
        jnz .busy
        pop ax
        out dx, al
        pop dx
        ret

; Reads the DSP's next byte into AL once 22Eh bit 7 says one is there.
dsp_read:
        push dx
        mov dx, SB + 0x0E
.wait:  in al, dx
        test al, 0x80
        jz .wait
        mov dx, SB + 0x0A
        in al, dx
        pop dx
        ret

; Prints the label at CS:SI and "ok" if AL = 1, else "FAIL".
report:
        push ax
        call print
        pop ax
        mov si, msg_ok
        test al, al
        jnz print
        mov si, msg_fail
        ; fall through
; Writes the NUL-terminated string at CS:SI to port E9h.
print:
        push ax
.next:  cs lodsb
        test al, al
        jz .done
        out 0xE9, al
        jmp .next
.done:  pop ax
        ret

timer:
        push ax
        inc word [TICKS]
        mov al, 0x20
        out 0x20, al
        pop ax
        iret

keyboard:
        push ax
        in al, 0x60
        mov [KBDATA], al
        inc word [KBCOUNT]
        mov al, 0x20
        out 0x20, al
        pop ax
        iret

soundblaster:
        push ax
        push dx
        mov dx, SB + 0x0E               ; acknowledge the 8-bit DMA interrupt
        in al, dx
        inc word [SBIRQ]
        mov al, 0x20
        out 0x20, al
        pop dx
        pop ax
        iret

msg_hello:       db "vexed devices ROM", 10, 0
msg_selftest:    db "8042 self-test 55h: ", 0
msg_echo:        db "keyboard echo EEh through IRQ1: ", 0
msg_uart:        db "16450 loopback: ", 0
msg_com1:        db "COM1", 0
msg_dsp_reset:   db "DSP reset AAh: ", 0
msg_dsp_version: db "DSP version 2.01: ", 0
msg_dma:         db "64-byte DMA output, IRQ5 and channel 1 terminal count: ", 0
msg_ok:          db "ok", 10, 0
msg_fail:        db "FAIL", 10, 0
msg_done:        db "done", 10, 0

        times 0xFFF0 - ($ - $$) db 0xFF
reset:  jmp 0xF000:start
        times 0x10000 - ($ - $$) db 0xFF
