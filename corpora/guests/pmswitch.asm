; pmswitch.asm - a DOS program that switches to protected mode with Int 15h AH=89h and
; comes back the 80286 way: the CMOS shutdown byte and a reset through the 8042.
;
; The flow (RBIL INT 15 AH=89h and table 00500; IBM PC/AT Technical Reference, the
; shutdown byte at CMOS 0Fh and the resume vector at 0040:0067h):
;   1. Build the table Int 15h AH=89h expects: null, GDT (08h), IDT (10h), DS (18h, this
;      program), ES (20h, 64 KiB at 2 MiB), SS (28h, this program), CS (30h, this program)
;      and the slot 38h the BIOS fills with its own code descriptor.
;   2. Save the 8259A masks and SS:SP, set CMOS 0Fh = 0Ah ("jump through 40:67 without
;      EOI") and 40:67 = resume, so that any reset - ours, or a triple fault if something
;      goes wrong in protected mode - comes back here.
;   3. Int 15h AH=89h with BL = 20h, BH = 28h: the BIOS returns to the next instruction in
;      protected mode with CS = 30h, CF clear, AH = 0.
;   4. In protected mode: 40 rounds of filling the 32 KiB at 2 MiB with a word sequence
;      through ES and summing it back (about 4.6 million instructions, so a recording has
;      checkpoints inside protected mode); the sum goes to our data.
;   5. Reset through the 8042 (OUT 64h, FEh). The BIOS's POST sees shutdown code 0Ah and
;      jumps to resume, in real mode with interrupts off.
;   6. Restore SS:SP, the 8259A bases (08h, 70h) and masks, A20 off (Int 15h AX=2400h),
;      and check: CF was clear, CS was 30h in protected mode, MSW.PE was set there, and the
;      sum read back equals the sum of the values written (computed again in real mode
;      from registers only).
; Exit code 0 when all checks pass, 1 otherwise.
;
; Assemble: nasm -f bin pmswitch.asm -o pmswitch.com

        cpu 286
        bits 16
        org 100h

ROUNDS      equ 40
WORDS       equ 4000h           ; 32 KiB per round
STEP        equ 9E37h

%macro SAY 1
        mov dx, %1
        mov ah, 09h
        int 21h
%endmacro

start:
        ; Our segment's linear base, 24 bits, in base_lo/base_hi.
        mov ax, cs
        mov dx, ax
        shl ax, 4
        shr dx, 12
        mov [base_lo], ax
        mov [base_hi], dl

        mov di, gdt + 08h
        mov cx, gdt
        call setbase
        mov di, gdt + 10h
        mov cx, idt
        call setbase
        mov di, gdt + 18h
        xor cx, cx
        call setbase
        mov di, gdt + 28h
        call setbase
        mov di, gdt + 30h
        call setbase

        ; The way back: 8259A masks, SS:SP, resume vector, shutdown code 0Ah.
        in al, 21h
        mov [mask_master], al
        in al, 0A1h
        mov [mask_slave], al
        mov [saved_sp], sp
        cli
        push ds
        mov ax, 40h
        mov ds, ax
        mov word [67h], resume
        mov [69h], cs
        pop ds
        mov al, 8Fh                     ; CMOS 0Fh with NMI disabled, as the BIOS does
        out 70h, al
        mov al, 0Ah
        out 71h, al

        ; Into protected mode.
        mov ax, cs
        mov es, ax
        mov si, gdt
        mov bl, 20h                     ; IRQ 0-7 at vectors 20h-27h
        mov bh, 28h                     ; IRQ 8-15 at 28h-2Fh
        mov ah, 89h
        int 15h
        ; Protected mode from here (or real mode with CF set on failure).
        jc .failed
        mov [pm_cs], cs
        smsw ax
        mov [pm_msw], ax
        mov bp, ROUNDS
.round: xor di, di
        mov cx, WORDS
        mov ax, bp
.fill:  mov [es:di], ax
        add ax, STEP
        add di, 2
        loop .fill
        xor si, si
        mov cx, WORDS
        xor bx, bx
.sum:   add bx, [es:si]
        add si, 2
        loop .sum
        add [pm_sum], bx
        dec bp
        jnz .round
        mov byte [pm_done], 1
        mov al, 0FEh                    ; pulse the reset line through the 8042
        out 64h, al
.halt:  hlt
        jmp .halt
.failed:
        mov byte [pm_cf], 1
        jmp resume

; DI -> a descriptor of our table, CX = an offset in our segment: base = ours + CX.
setbase:
        mov ax, [base_lo]
        mov dl, [base_hi]
        add ax, cx
        adc dl, 0
        mov [di + 2], ax
        mov [di + 4], dl
        ret

resume:
        ; Real mode again: interrupts off, SS:SP the BIOS's.
        mov ax, cs
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, [saved_sp]
        ; The 8259As back at 08h and 70h (ICW1-4), then their masks.
        mov al, 11h
        out 20h, al
        out 0A0h, al
        mov al, 08h
        out 21h, al
        mov al, 70h
        out 0A1h, al
        mov al, 04h
        out 21h, al
        mov al, 02h
        out 0A1h, al
        mov al, 01h
        out 21h, al
        out 0A1h, al
        mov al, [mask_master]
        out 21h, al
        mov al, [mask_slave]
        out 0A1h, al
        sti
        mov ax, 2400h                   ; A20 off again
        int 15h

        SAY msg_title
        ; 1. The switch itself.
        SAY msg_switch
        cmp byte [pm_cf], 0
        jne .bad1
        cmp word [pm_cs], 30h
        jne .bad1
        test word [pm_msw], 1
        jz .bad1
        call ok
        jmp .c2
.bad1:  call bad
        ; 2. The memory at 2 MiB, written and read back through ES in protected mode.
.c2:    SAY msg_memory
        cmp byte [pm_done], 1
        jne .bad2
        xor di, di                      ; the expected sum, from registers only
        mov bp, ROUNDS
.r:     mov cx, WORDS
        mov ax, bp
.f:     add di, ax
        add ax, STEP
        loop .f
        dec bp
        jnz .r
        cmp di, [pm_sum]
        jne .bad2
        call ok
        jmp .c3
.bad2:  call bad
        ; 3. Back in real mode through the reset.
.c3:    SAY msg_back
        smsw ax
        test ax, 1
        jnz .bad3
        call ok
        jmp .done
.bad3:  call bad
.done:  mov al, [fails]
        mov ah, 4Ch
        int 21h

ok:     SAY msg_ok
        ret
bad:    SAY msg_bad
        mov byte [fails], 1
        ret

msg_title:  db "pmswitch: Int 15h AH=89h and back through the CMOS shutdown byte", 13, 10, "$"
msg_switch: db "in protected mode with CS=0030h, PE set, CF clear: $"
msg_memory: db "32 KiB at 2 MiB written and read back 40 times: $"
msg_back:   db "back in real mode after shutdown code 0Ah and an 8042 reset: $"
msg_ok:     db "ok", 13, 10, "$"
msg_bad:    db "FAIL", 13, 10, "$"

fails:       db 0
pm_cf:       db 0
pm_done:     db 0
mask_master: db 0
mask_slave:  db 0
base_hi:     db 0
base_lo:     dw 0
saved_sp:    dw 0
pm_cs:       dw 0
pm_msw:      dw 0
pm_sum:      dw 0

; desc limit, base (24 bits), access
%macro desc 3
        dw %1
        dw (%2) & 0FFFFh
        db ((%2) >> 16) & 0FFh
        db %3
        dw 0
%endmacro

        align 8
gdt:
        dq 0                            ; 00h null
        desc gdt_end - gdt - 1, 0, 92h  ; 08h the GDT (base set at run time)
        desc idt_end - idt - 1, 0, 92h  ; 10h the IDT (base set at run time)
        desc 0FFFFh, 0, 92h             ; 18h DS: this program
        desc 0FFFFh, 200000h, 92h       ; 20h ES: 64 KiB at 2 MiB
        desc 0FFFFh, 0, 92h             ; 28h SS: this program
        desc 0FFFFh, 0, 9Ah             ; 30h CS: this program
        dq 0                            ; 38h the BIOS's code descriptor
gdt_end:

; One not-present gate: any exception in protected mode ends in a triple fault, the reset
; and the resume path, where pm_done tells.
idt:    dq 0
idt_end:
