; resume.asm - the PC/AT's return to real mode: reset the CPU through the 8042 (command
; FEh) with the CMOS shutdown byte set and continue at the address stored at 0040:0067h.
;
; IBM PC/AT Technical Reference (BIOS listing, POST's shutdown table) and RBIL (CMOS 0Fh):
; shutdown code 0Ah jumps through the dword at 0040:0067h without EOI; 05h flushes the
; keyboard, sends EOI to both 8259As and jumps through 0040:0067h; POST writes 00h to the
; shutdown byte; the CPU reset keeps RAM and leaves the 8042's A20 gate as it was. Each
; reset is done from inside the timer interrupt handler (IRQ 0 in service, no EOI yet), so
; the in-service register after the resume shows whether POST sent the EOI.
;
; Prints one line per check; exit code 0 if all passed, 1 otherwise.
;
; Assemble: nasm -f bin -o resume.com resume.asm

        bits 16
        cpu 286
        org 0x100

; The first thing after a resume (the BIOS leaves its POST stack; load ours).
%macro RESUMED 0
        mov ax, cs
        mov ds, ax
        mov es, ax
        mov ss, [saved_ss]
        mov sp, [saved_sp]
        call restore
%endmacro

start:
        mov dx, msg_hello
        call print
        mov word [marker], 0x1234
        mov ax, 0x2401                  ; A20 on through the BIOS (8042)
        int 0x15
        mov ax, 0x3508                  ; keep the timer vector
        int 0x21
        mov [old08], bx
        mov [old08 + 2], es

        ; --- shutdown code 0Ah ---
        mov byte [code], 0x0A
        mov word [resume_at], resume_0a
        call reset_in_irq0
resume_0a:
        RESUMED
        mov dx, msg_0a
        call print
        call check_common
        call isr0                       ; no EOI: IRQ 0 still in service
        mov dx, msg_no_eoi
        call report
        mov al, 0x20                    ; finish that interrupt ourselves
        out 0x20, al

        ; --- shutdown code 05h ---
        mov byte [code], 0x05
        mov word [resume_at], resume_05
        call reset_in_irq0
resume_05:
        RESUMED
        mov dx, msg_05
        call print
        call check_common
        call isr0
        xor al, 1                       ; the BIOS sent the EOI: not in service
        mov dx, msg_eoi
        call report

        mov ax, 0x2400                  ; A20 off again, as DOS had it
        int 0x15
        mov al, [fails]
        test al, al
        jz .exit
        mov al, 1
.exit:  mov ah, 0x4C
        int 0x21

; Hooks IRQ 0 and waits for it; the handler resets the CPU with shutdown code [code]
; and resume address CS:[resume_at]. Does not return.
reset_in_irq0:
        mov [saved_sp], sp
        mov [saved_ss], ss
        mov ax, 0x2508
        mov dx, irq0
        int 0x21
        sti
.wait:  hlt
        jmp .wait

irq0:
        cli
        push ds
        mov ax, 0x0040
        mov ds, ax
        mov ax, [cs:resume_at]
        mov [0x67], ax
        mov [0x69], cs
        pop ds
        mov al, 0x8F                    ; CMOS 0Fh (NMI masked): the shutdown code
        out 0x70, al
        mov al, [cs:code]
        out 0x71, al
        mov al, 0xFE                    ; pulse the reset line
        out 0x64, al
.dead:  hlt
        jmp .dead

; After a resume: the timer vector back; interrupts stay off.
restore:
        push ds
        lds dx, [old08]
        mov ax, 0x2508
        int 0x21
        pop ds
        ret

; RAM kept, shutdown byte cleared, A20 still on.
check_common:
        cmp word [marker], 0x1234
        call zf_to_al
        mov dx, msg_ram
        call report
        mov al, 0x8F
        out 0x70, al
        in al, 0x71
        test al, al
        call zf_to_al
        mov dx, msg_cleared
        call report
        mov ax, 0x2402
        int 0x15
        mov dx, msg_a20
        jmp report

; AL := 1 if ZF is set, else 0.
zf_to_al:
        mov al, 1
        jz .done
        mov al, 0
.done:  ret

; AL := 1 if IRQ 0 is in service at the master 8259A (OCW3: read ISR).
isr0:
        mov al, 0x0B
        out 0x20, al
        in al, 0x20
        and al, 1
        push ax
        mov al, 0x0A                    ; back to reading IRR
        out 0x20, al
        pop ax
        ret

; Prints the label at DX and "ok" if AL = 1, else "FAIL".
report:
        push ax
        call print
        pop ax
        mov dx, msg_ok
        cmp al, 1
        je print
        inc byte [fails]
        mov dx, msg_fail
print:
        mov ah, 0x09
        int 0x21
        ret

msg_hello:   db "vexed resume test", 13, 10, "$"
msg_0a:      db "reset with shutdown code 0Ah resumed at 0040:0067h", 13, 10, "$"
msg_05:      db "reset with shutdown code 05h resumed at 0040:0067h", 13, 10, "$"
msg_ram:     db "  RAM kept: $"
msg_cleared: db "  shutdown byte cleared by POST: $"
msg_a20:     db "  A20 still on: $"
msg_no_eoi:  db "  no EOI, IRQ 0 still in service: $"
msg_eoi:     db "  EOI sent, IRQ 0 not in service: $"
msg_ok:      db "ok", 13, 10, "$"
msg_fail:    db "FAIL", 13, 10, "$"

code:      db 0
fails:     db 0
marker:    dw 0
resume_at: dw 0
saved_sp:  dw 0
saved_ss:  dw 0
old08:     dd 0
