; v86page.asm - a DOS program that runs itself in virtual-8086 mode under its own
; monitor with paging on, the way EMM386 runs DOS, and calls DOS and the BIOS from there.
;
; The firmware's services must then address memory as the V86 code does: segment * 16 +
; offset is a linear address, and the page tables say which physical page it is.
;
; The flow (Intel 80386 Programmer's Reference Manual, 1986: 5.2 page translation, 5.2.4.4
; accessed and dirty bits, 14.4 and 14.5 entering and leaving protected mode, 15 virtual-8086
; mode, 15.4.1 reflecting interrupts through the 8086 vector table):
;   1. In real mode, page tables in this program's memory map the first 4 MiB one to one,
;      except: the "window" page W maps the physical page A after it, linear B8000h (the
;      colour text screen) maps the physical page V, the page C maps physical B8000h, and the
;      page N is not present. W's own physical page holds a string that says FAIL, A the
;      one that says ok.
;   2. Protected mode with paging (CR0.PE and PG together), a TSS whose I/O bitmap allows
;      every port, an IDT whose gates 10h and 21h (DPL 3) go to the ring-0 monitor, which
;      reflects them through the vector table at linear 0 (15.4.1), and a gate 60h that
;      returns to real mode. Every other vector ends the run in real mode with a failure.
;   3. IRETD into V86 mode at IOPL 3 (CLI, STI, PUSHF, POPF, IRET run natively, 15.4) with
;      the PICs masked (vectors 08h-0Fh are processor exceptions in protected mode).
;   4. From V86 mode, the checks: Int 21h AH=09h prints the string at the window page
;      (DOS must read physical page A); DOS's read set the window entry's accessed bit and
;      not its dirty bit (5.2.4.4); Int 10h AH=0Eh writes a character at the cursor, which
;      must land in physical page V and not in physical B8000h; the screen entry's dirty
;      bit is set.
;   5. With a command tail (`v86page fault`), Int 21h AH=09h on the not-present page N
;      instead: vexed's firmware cannot take a page fault halfway through a service and
;      ends the run, naming the linear address (a BIOS in ROM would fault to the monitor).
;   6. INT 60h: the monitor turns paging off, then protection, and returns to real mode
;      (14.5), where the PIC masks and the real-mode IDT come back.
; Exit code: the number of failed checks.
;
; Assemble: nasm -f bin v86page.asm -o v86page.com

        cpu 386
        bits 16
        org 100h

SEL_CODE32  equ 08h             ; base = this program, 32-bit, DPL 0
SEL_DATA32  equ 10h             ; base = this program
SEL_TSS     equ 18h
SEL_CODE16  equ 20h             ; base = this program, 64 KiB, for the way back
SEL_DATA16  equ 28h
SEL_FLAT    equ 30h             ; base 0, 4 GiB
PTE_USER    equ 7               ; present, writable, user
PTE_A       equ 20h
PTE_D       equ 40h

%macro SAY 1
        mov dx, %1
        mov ah, 09h
        int 21h
%endmacro

start:
        SAY msg_title
        ; B = our linear base; the six pages start at the first 4 KiB boundary after the
        ; program: directory, table, window W, its stand-in A, screen copy V, page C.
        ; N (not present) is the page after them.
        xor eax, eax
        mov ax, cs
        shl eax, 4
        mov [base], eax
        mov ebx, eax
        add ebx, pages + 0FFFh
        and ebx, 0FFFFF000h             ; linear (= physical) address of the directory
        mov [pd_lin], ebx
        sub ebx, eax
        mov [pd_off], bx                ; ... and its offset in our segment
        lea ax, [bx + 1000h]
        mov [pt_off], ax
        add ax, 1000h
        mov [w_off], ax
        add ax, 1000h
        mov [a_off], ax
        add ax, 1000h
        mov [v_off], ax
        add ax, 1000h
        mov [c_off], ax
        add ax, 1000h
        mov [n_off], ax

        ; The directory: entry 0 = the table; the rest not present.
        cld
        push ds
        pop es
        mov di, [pd_off]
        xor eax, eax
        mov cx, 2048                    ; directory and table, zeroed
        rep stosd
        mov di, [pd_off]
        mov eax, [pd_lin]
        add eax, 1000h | PTE_USER
        mov [di], eax
        ; The table: linear = physical for 4 MiB.
        mov di, [pt_off]
        mov eax, PTE_USER
        mov cx, 1024
.ident: stosd
        add eax, 1000h
        loop .ident
        ; The exceptions.
        mov bx, [w_off]                 ; W -> A
        call pte_of
        mov [w_pte], di
        mov eax, [pd_lin]
        add eax, 3000h | PTE_USER       ; A is W + 1000h: directory + 3000h
        mov [di], eax
        mov di, [pt_off]                ; B8000h -> V
        add di, 0B8h * 4
        mov [v_pte], di
        mov eax, [pd_lin]
        add eax, 4000h | PTE_USER
        mov [di], eax
        mov bx, [c_off]                 ; C -> B8000h
        call pte_of
        mov dword [di], 0B8000h | PTE_USER
        mov bx, [n_off]                 ; N: not present
        call pte_of
        mov dword [di], 0

        ; The two strings: W's physical page says FAIL, A says ok.
        mov si, msg_wrong
        mov di, [w_off]
        call copy_string
        mov si, msg_right
        mov di, [a_off]
        call copy_string
        ; V starts blank, so a character found there was written through the tables.
        mov di, [v_off]
        mov ax, 0720h
        mov cx, 2048
        rep stosw

        ; Descriptor bases: this program for 08h, 10h, 20h, 28h; the TSS.
        mov eax, [base]
        mov di, gdt + SEL_CODE32
        call set_base
        mov di, gdt + SEL_DATA32
        call set_base
        mov di, gdt + SEL_CODE16
        call set_base
        mov di, gdt + SEL_DATA16
        call set_base
        add eax, tss
        mov di, gdt + SEL_TSS
        call set_base
        mov eax, [base]
        add eax, gdt
        mov [gdtr + 2], eax
        mov eax, [base]
        add eax, idt
        mov [idtr + 2], eax

        ; The IDT: every vector to the monitor's "unexpected" exit, then 10h, 21h, 60h.
        mov di, idt
        mov cx, 61h
.gates: mov word [di], unexpected
        mov word [di + 2], SEL_CODE32
        mov word [di + 4], 8E00h        ; 32-bit interrupt gate, DPL 0
        mov word [di + 6], 0
        add di, 8
        loop .gates
        mov word [idt + 10h * 8], reflect10
        mov word [idt + 10h * 8 + 4], 0EE00h    ; DPL 3: INT n from V86 at IOPL 3 (15.4)
        mov word [idt + 21h * 8], reflect21
        mov word [idt + 21h * 8 + 4], 0EE00h
        mov word [idt + 60h * 8], leave_pm
        mov word [idt + 60h * 8 + 4], 0EE00h

        ; The TSS: the ring-0 stack; the I/O bitmap (all zero) allows every port.
        mov dword [tss + 4], ring0_top
        mov word [tss + 8], SEL_DATA32
        mov word [tss + 66h], iomap - tss

        ; Which run: a command tail asks for the not-present page.
        cmp byte [80h], 0
        je .masks
        mov byte [fault_run], 1

.masks: in al, 21h
        mov [mask_master], al
        in al, 0A1h
        mov [mask_slave], al
        cli
        mov al, 0FFh
        out 21h, al
        out 0A1h, al
        mov [real_sp], sp
        mov [real_cs], cs

        lgdt [gdtr]
        lidt [idtr]
        mov eax, [pd_lin]
        mov cr3, eax
        mov eax, cr0
        or eax, 80000001h               ; PE and PG (14.4)
        mov cr0, eax
        jmp dword SEL_CODE32:pm32

; DI := the offset of the table entry for the page at offset BX of our segment.
pte_of:
        movzx ebx, bx
        add ebx, [base]
        shr ebx, 12
        shl bx, 2
        mov di, [pt_off]
        add di, bx
        ret

; Copies the $-terminated string at SI (with the $) to DI.
copy_string:
        lodsb
        stosb
        cmp al, '$'
        jne copy_string
        ret

; The descriptor at DI gets base EAX.
set_base:
        mov [di + 2], ax
        push eax
        shr eax, 16
        mov [di + 4], al
        mov [di + 7], ah
        pop eax
        ret

; ----- protected mode, CPL 0 ------------------------------------------------------------
        bits 32
pm32:
        mov ax, SEL_DATA32
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, ring0_top
        mov ax, SEL_TSS
        ltr ax
        ; Into V86 mode (15.3.2): GS FS DS ES SS ESP EFLAGS CS EIP.
        movzx eax, word [real_cs]
        push eax                        ; GS
        push eax                        ; FS
        push eax                        ; DS
        push eax                        ; ES
        push eax                        ; SS
        push dword v86_stack_top        ; ESP
        push dword 00023002h            ; EFLAGS: VM, IOPL 3, IF 0
        push eax                        ; CS
        push dword v86_code             ; EIP
        iretd

; INT n from V86 mode through a DPL-3 gate: the ring-0 stack holds EIP CS EFLAGS ESP SS ES
; DS FS GS. Reflect it (15.4.1): FLAGS, CS and IP onto the V86 stack, IF and TF cleared,
; CS:IP from the vector table at linear 0.
reflect10:
        push dword 10h
        jmp reflect
reflect21:
        push dword 21h
reflect:
        pushad
        mov ebp, esp
        mov ax, SEL_FLAT
        mov es, ax
        movzx ebx, word [ebp + 52]      ; SS
        shl ebx, 4
        movzx ecx, word [ebp + 48]      ; SP
        sub cx, 6
        mov [ebp + 48], cx
        mov ax, [ebp + 44]              ; FLAGS
        mov [es:ebx + ecx + 4], ax
        mov ax, [ebp + 40]              ; CS
        mov [es:ebx + ecx + 2], ax
        mov ax, [ebp + 36]              ; IP
        mov [es:ebx + ecx], ax
        mov eax, [ebp + 32]             ; the vector
        movzx edx, word [es:eax * 4]
        mov [ebp + 36], edx
        movzx edx, word [es:eax * 4 + 2]
        mov [ebp + 40], edx
        and dword [ebp + 44], ~300h     ; IF and TF
        popad
        add esp, 4
        iretd

unexpected:
        mov ax, SEL_DATA32
        mov ds, ax
        mov byte [unexpected_seen], 1
leave_pm:
        ; Back to real mode (14.5): a 16-bit segment first, then paging off, then PE off.
        jmp SEL_CODE16:pm16

        bits 16
pm16:
        mov ax, SEL_DATA16
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov eax, cr0
        and eax, 7FFFFFFFh
        mov cr0, eax
        xor eax, eax
        mov cr3, eax                    ; flush the TLB
        mov eax, cr0
        and al, 0FEh
        mov cr0, eax
        jmp far [real_ip]

real_again:
        mov ax, cs
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, [real_sp]
        lidt [real_idtr]
        mov al, [mask_master]
        out 21h, al
        mov al, [mask_slave]
        out 0A1h, al
        sti
        SAY msg_back
        cmp byte [unexpected_seen], 0
        jne .bad
        call ok
        jmp .exit
.bad:   call bad
.exit:  mov al, [fails]
        mov ah, 4Ch
        int 21h

; ----- virtual-8086 mode ----------------------------------------------------------------
v86_code:
        cmp byte [fault_run], 0
        jne .fault
        ; 1. DOS reads DS:DX through the page tables.
        mov dx, [w_off]
        mov ah, 09h
        int 21h
        ; 2. Its read set the accessed bit of W's entry, and not the dirty bit.
        SAY msg_accessed
        mov di, [w_pte]
        mov al, [di]
        and al, PTE_A | PTE_D
        cmp al, PTE_A
        jne .bad2
        call ok
        jmp .c3
.bad2:  call bad
        ; 3. The BIOS writes the screen at linear B8000h: physical page V.
.c3:    SAY msg_screen
        mov ah, 03h
        xor bh, bh
        int 10h                         ; DH = row, DL = column
        mov al, 80
        mul dh
        movzx bx, dl
        add ax, bx
        shl ax, 1
        mov [cell], ax
        mov di, [c_off]                 ; physical B8000h's cell, through C
        add di, ax
        mov byte [di], '.'
        mov ax, 0E00h | '*'
        xor bx, bx
        int 10h
        mov bx, [cell]
        mov di, [v_off]
        cmp byte [di + bx], '*'
        jne .bad3
        mov di, [c_off]
        cmp byte [di + bx], '.'
        jne .bad3
        call ok
        jmp .c4
.bad3:  call bad
        ; 4. That write set the dirty bit of the screen's entry.
.c4:    SAY msg_dirty
        mov di, [v_pte]
        test byte [di], PTE_D
        jz .bad4
        call ok
        jmp .out
.bad4:  call bad
.out:   int 60h

.fault: SAY msg_fault
        mov dx, [n_off]
        mov ah, 09h
        int 21h
        ; Not reached: the run ends in the call above.
        SAY msg_survived
        mov byte [fails], 1
        int 60h

ok:     SAY msg_ok
        ret
bad:    SAY msg_bad
        inc byte [fails]
        ret

msg_title:    db "v86page: DOS and the BIOS called from V86 mode with paging on", 13, 10, "$"
msg_wrong:    db "Int 21h AH=09h reads DS:DX through the page tables: FAIL (physical page)", 13, 10, "$"
msg_right:    db "Int 21h AH=09h reads DS:DX through the page tables: ok", 13, 10, "$"
msg_accessed: db "DOS's read set the accessed bit and not the dirty bit: $"
msg_screen:   db "Int 10h AH=0Eh writes linear B8000h through the page tables: $"
msg_dirty:    db "the BIOS's write set the dirty bit: $"
msg_fault:    db "Int 21h AH=09h on a page that is not present:", 13, 10, "$"
msg_survived: db "the call returned: FAIL", 13, 10, "$"
msg_back:     db "back in real mode, no unexpected exception: $"
msg_ok:       db "ok", 13, 10, "$"
msg_bad:      db "FAIL", 13, 10, "$"

fails:           db 0
fault_run:       db 0
unexpected_seen: db 0
mask_master:     db 0
mask_slave:      db 0
        align 4
base:      dd 0
pd_lin:    dd 0
pd_off:    dw 0
pt_off:    dw 0
w_off:     dw 0
a_off:     dw 0
v_off:     dw 0
c_off:     dw 0
n_off:     dw 0
w_pte:     dw 0
v_pte:     dw 0
cell:      dw 0
real_sp:   dw 0
real_ip:   dw real_again
real_cs:   dw 0
gdtr:      dw gdt_end - gdt - 1
           dd 0
idtr:      dw 61h * 8 - 1
           dd 0
real_idtr: dw 3FFh
           dd 0

        align 8
gdt:    dq 0
        dw 0FFFFh, 0, 9A00h, 00CFh      ; 08h code, 32-bit, 4 GiB, DPL 0
        dw 0FFFFh, 0, 9200h, 00CFh      ; 10h data, 32-bit, 4 GiB
        dw tss_end - tss - 1, 0, 8900h, 0 ; 18h available 386 TSS
        dw 0FFFFh, 0, 9A00h, 0          ; 20h code, 16-bit, 64 KiB
        dw 0FFFFh, 0, 9200h, 0          ; 28h data, 16-bit, 64 KiB
        dw 0FFFFh, 0, 9200h, 00CFh      ; 30h flat data, base 0
gdt_end:

        align 4
tss:    times 68h db 0
iomap:  times 8192 / 8 db 0             ; ports 0-FFFFh allowed
        db 0FFh
tss_end:

        align 4
        times 256 db 0
ring0_top:
        times 512 db 0
v86_stack_top:

        align 8
idt:    times 61h * 8 db 0

pages:
