; debug386.asm - bare-ROM test of the 80386 debug registers, booted with `vexed boot` on
; the 80386 model.
;
; A 64 KiB ROM image mapped at F0000h; the CPU starts at FFFF:0000 (the far jump at the
; end). In real mode it checks an instruction breakpoint (a fault, resumed past with RF by
; IRETD) and general detect; it then enters flat 32-bit protected mode and checks an
; instruction breakpoint, data breakpoints (write, read or write, the length alignment, a
; disabled breakpoint), the single-step trap, general detect, the task-switch trap of a
; TSS with the T bit set, and the single-step trap in virtual-8086 mode.
;
; Every check prints "name: ok" or "name: FAIL <value>" to the debug port E9h; the exit
; port F4h receives 0 if all checks passed, 1 otherwise. An unexpected interrupt prints
; its vector and exits with 1.
;
; Section numbers refer to the Intel 80386 Programmer's Reference Manual (1986), chapter 12.
; DR6 reads FFFF0FF0h plus its status bits (B0-B3 = bits 0-3, BD 13, BS 14, BT 15) and DR7
; reads bit 10 as 1 (figure 12-1).
;
; Assemble: nasm -f bin -o debug386.bin debug386.asm

        bits 16
        cpu 386
        org 0

%define L(x) (0xF0000 + (x))            ; linear address of a ROM label (CS base 0)

FAILS      equ 0x0502                   ; word: failed checks
DB_COUNT   equ 0x0510                   ; dword: #DB taken
DB_IP      equ 0x0514                   ; dword: the saved (E)IP
DB_FL      equ 0x0518                   ; dword: the saved EFLAGS (protected mode)
DB_DR6     equ 0x051C                   ; dword: DR6 as the handler found it
DB_RF      equ 0x0520                   ; byte: the handler returns with RF set
T_IP       equ 0x0524                   ; words: the real-mode frame being rebuilt
T_CS       equ 0x0526
T_FL       equ 0x0528
RESUME     equ 0x052C                   ; dword: where task 2 jumps back to
SAVED_ESP  equ 0x0530                   ; dword: ring-0 ESP around the virtual-8086 check

DATA       equ 0x8000                   ; the data breakpoints' bytes
GDT_AT     equ 0x1000
IDT_AT     equ 0x2000
IDT_VECS   equ 32
TSS1       equ 0x3000
TSS2       equ 0x3100

SEL_CODE   equ 0x08                     ; flat 4 GiB 32-bit code, DPL 0
SEL_DATA   equ 0x10                     ; flat 4 GiB data, DPL 0
SEL_TSS1   equ 0x18                     ; 386 TSS at 3000h (the first task)
SEL_TSS2   equ 0x20                     ; 386 TSS at 3100h, T bit set

DR6_ONES   equ 0xFFFF0FF0

; BL := 0 and EDX := the observed value if the dword at %1 is not %2.
%macro EQD 2
        cmp dword %1, %2
        je %%ok
        mov bl, 0
        mov edx, %1
%%ok:
%endmacro

; Clears the #DB record and sets DR7 := %1.
%macro ARM 1
        mov dword [DB_COUNT], 0
        mov dword [DB_IP], -1
        mov dword [DB_DR6], 0
        mov eax, %1
        mov dr7, eax
%endmacro

; ======================================================================================
; real mode
; ======================================================================================
start:
        cli
        xor ax, ax
        mov ss, ax
        mov sp, 0x7000
        mov ds, ax
        mov es, ax
        mov [FAILS], ax
        mov word [6 * 4], rm_ud         ; an 80286 stops here (no 32-bit registers)
        mov [6 * 4 + 2], cs
        mov word [1 * 4], rm_db
        mov [1 * 4 + 2], cs
        mov si, msg_hello
        call print

        ; 12.2.3 / figure 12-1: with no status bit set DR6 reads FFFF0FF0h; DR7 reads 400h.
        mov bl, 1
        xor eax, eax
        mov dr6, eax
        mov dr7, eax
        mov eax, dr6
        mov [DB_DR6], eax
        EQD [DB_DR6], DR6_ONES
        mov eax, dr7
        mov [DB_DR6], eax
        EQD [DB_DR6], 0x400
        mov al, bl
        mov si, msg_fixed
        call report

        ; 12.3.1.1: an instruction breakpoint is a fault taken before the instruction, the
        ; saved IP at it, B0 in DR6; the handler returns with RF set in the image (IRETD)
        ; and the instruction then runs once.
        mov eax, L(.bp)                 ; linear address: F0000h + IP
        mov dr0, eax
        mov byte [DB_RF], 1
        xor ecx, ecx
        ARM 0x00000002                  ; G0, R/W0 = 00 (execute), LEN0 = 00
.bp:    inc ecx
        xor eax, eax
        mov dr7, eax
        mov bl, 1
        EQD [DB_COUNT], 1
        EQD [DB_IP], .bp
        EQD [DB_DR6], DR6_ONES | 1
        cmp ecx, 1
        je .bp1
        mov bl, 0
        mov edx, ecx
.bp1:   mov al, bl
        mov si, msg_rm_exec
        call report

        ; 12.2.4: with GD set, MOV from a debug register is a #DB fault with BD in DR6 and
        ; GD cleared; the handler's return runs the MOV again.
        ARM 0x00002000                  ; GD
.gd:    mov eax, dr0
        mov bl, 1
        EQD [DB_COUNT], 1
        EQD [DB_IP], .gd
        EQD [DB_DR6], DR6_ONES | 0x2000
        mov eax, dr7
        mov [DB_DR6], eax
        EQD [DB_DR6], 0x400             ; GD cleared
        mov al, bl
        mov si, msg_rm_gd
        call report

        ; ----- to protected mode -----
        push ds
        push cs
        pop ds
        mov si, gdt
        mov di, GDT_AT
        mov cx, gdt_end - gdt
        cld
        rep movsb
        pop ds
        lgdt [cs:gdtr]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword SEL_CODE:L(pm32)

; Writes the NUL-terminated string at CS:SI to port E9h.
print:
        cs lodsb
        test al, al
        jz .done
        out 0xE9, al
        jmp print
.done:  ret

; Prints the label at CS:SI and "ok" if AL = 1, else "FAIL <EDX>" (and counts it).
report:
        push ax
        call print
        pop ax
        mov si, msg_ok
        test al, al
        jnz print
        inc word [FAILS]
        mov si, msg_fail
        call print
        mov ecx, 8
.l:     rol edx, 4
        mov al, dl
        and al, 0x0F
        add al, '0'
        cmp al, '9'
        jbe .p
        add al, 7
.p:     out 0xE9, al
        loop .l
        mov si, msg_nl
        jmp print

; Real-mode #DB: records the saved IP and DR6, clears DR6, and returns (with RF set in a
; 32-bit IRETD frame when [DB_RF] is set).
rm_db:
        push bp
        mov bp, sp
        push eax
        inc dword [DB_COUNT]
        movzx eax, word [bp + 2]
        mov [DB_IP], eax
        mov eax, dr6
        mov [DB_DR6], eax
        xor eax, eax
        mov dr6, eax
        pop eax
        pop bp
        cmp byte [DB_RF], 0
        jne .rf
        iret
.rf:    pop word [T_IP]
        pop word [T_CS]
        pop word [T_FL]
        push word 1                     ; EFLAGS high word: RF (bit 16)
        push word [T_FL]
        push word 0
        push word [T_CS]
        push word 0
        push word [T_IP]
        iretd

; Virtual-8086 code for the single-step check: the first NOP traps (TF set by IRETD).
v86_code:
        nop
v86_next:
        nop
        hlt                             ; not reached: #DB returns to ring 0 for good

; Invalid opcode in real mode: not an 80386.
rm_ud:
        mov si, msg_ud
        call print
        mov al, 1
        out 0xF4, al
        cli
        hlt

; ======================================================================================
; protected mode, CPL 0, 32-bit flat code
; ======================================================================================
        bits 32
pm32:
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, 0x7000

        ; IDT: every vector to an "unexpected" stub, #DB to its handler.
        xor ebx, ebx
.idt:   lea eax, [L(stubs) + ebx * 8]
        call set_gate
        inc ebx
        cmp ebx, IDT_VECS
        jb .idt
        mov eax, L(pm_db)
        mov ebx, 1
        call set_gate
        lidt [L(idtr)]

        ; Two 386 TSSs: the first is the current task's; the second starts at task2 with
        ; the T bit set (80386 PRM 7.2, figure 7-1: bit 0 of the word at offset 100).
        xor eax, eax
        mov edi, TSS1
        mov ecx, 0x200 / 4
        rep stosd
        mov dword [TSS2 + 32], L(task2) ; EIP
        mov dword [TSS2 + 36], 2        ; EFLAGS
        mov dword [TSS2 + 56], 0x6000   ; ESP
        mov word [TSS2 + 72], SEL_DATA  ; ES
        mov word [TSS2 + 76], SEL_CODE  ; CS
        mov word [TSS2 + 80], SEL_DATA  ; SS
        mov word [TSS2 + 84], SEL_DATA  ; DS
        mov word [TSS2 + 100], 1        ; T
        mov word [TSS2 + 102], 104      ; no I/O bitmap
        mov word [TSS1 + 102], 104
        mov ax, SEL_TSS1
        ltr ax

        ; 12.3.1.1: the instruction breakpoint in protected mode: a fault at the
        ; instruction (saved EIP), B0, RF clear in the pushed EFLAGS; IRETD with RF set in
        ; the image runs the instruction once.
        mov eax, L(.bp)
        mov dr0, eax
        mov byte [DB_RF], 1
        xor ecx, ecx
        ARM 0x00000002
.bp:    inc ecx
        xor eax, eax
        mov dr7, eax
        mov bl, 1
        EQD [DB_COUNT], 1
        EQD [DB_IP], L(.bp)
        EQD [DB_DR6], DR6_ONES | 1
        mov eax, [DB_FL]
        and eax, 0x10000
        mov [DB_FL], eax
        EQD [DB_FL], 0
        cmp ecx, 1
        je .bp1
        mov bl, 0
        mov edx, ecx
.bp1:   mov al, bl
        mov esi, L(msg_pm_exec)
        call report32
        mov byte [DB_RF], 0

        ; 12.3.1.2: a data write breakpoint on a doubleword is a trap after the writing
        ; instruction (saved EIP = the next one), B1 in DR6; a read does not match R/W 01.
        mov eax, DATA
        mov dr1, eax
        ARM 0x00D00008                  ; G1, R/W1 = 01 (write), LEN1 = 11 (4 bytes)
        mov eax, [DATA]                 ; a read: no match
        mov [DATA + 2], ax              ; bytes 8002h-8003h: inside the doubleword
.w:     nop
        xor eax, eax
        mov dr7, eax
        mov bl, 1
        EQD [DB_COUNT], 1
        EQD [DB_IP], L(.w)
        EQD [DB_DR6], DR6_ONES | 2
        mov al, bl
        mov esi, L(msg_pm_write)
        call report32

        ; 12.2.2: R/W 11 matches a read as well as a write.
        mov eax, DATA + 0x10
        mov dr2, eax
        ARM 0x03000020                  ; G2, R/W2 = 11, LEN2 = 00
        mov al, [DATA + 0x10]
.r:     nop
        xor eax, eax
        mov dr7, eax
        mov bl, 1
        EQD [DB_COUNT], 1
        EQD [DB_IP], L(.r)
        EQD [DB_DR6], DR6_ONES | 4
        mov al, bl
        mov esi, L(msg_pm_read)
        call report32

        ; 12.2.2: the address is aligned to the length: a 2-byte breakpoint at 8021h covers
        ; 8020h-8021h (a read of 8020h matches, of 8022h does not).
        mov eax, DATA + 0x21
        mov dr3, eax
        ARM 0x70000080                  ; G3, R/W3 = 11, LEN3 = 01
        mov al, [DATA + 0x22]
        mov al, [DATA + 0x20]
.a:     nop
        xor eax, eax
        mov dr7, eax
        mov bl, 1
        EQD [DB_COUNT], 1
        EQD [DB_IP], L(.a)
        EQD [DB_DR6], DR6_ONES | 8
        mov al, bl
        mov esi, L(msg_pm_align)
        call report32

        ; 12.2.4: with L0 and G0 clear the breakpoint is off: no #DB.
        mov eax, DATA + 0x30
        mov dr0, eax
        ARM 0x000D0000                  ; R/W0 = 01, LEN0 = 11, not enabled
        mov dword [DATA + 0x30], 1
        nop
        xor eax, eax
        mov dr7, eax
        mov bl, 1
        EQD [DB_COUNT], 0
        mov al, bl
        mov esi, L(msg_pm_off)
        call report32

        ; 12.3.1.4: TF set by POPFD: the instruction after the POPFD traps after it runs
        ; (saved EIP = the next one), BS in DR6. The handler clears TF in the image.
        ARM 0
        pushfd
        or dword [esp], 0x100
        popfd
        nop
.s:     nop
        mov bl, 1
        EQD [DB_COUNT], 1
        EQD [DB_IP], L(.s)
        EQD [DB_DR6], DR6_ONES | 0x4000
        mov al, bl
        mov esi, L(msg_pm_step)
        call report32

        ; 12.2.4: MOV to DR7 with GD set: a #DB fault (saved EIP at the MOV), BD in DR6,
        ; GD cleared; the EFLAGS image of a fault other than an instruction breakpoint has
        ; RF set (12.3.1.1). The handler's IRETD runs the MOV again, now allowed.
        ARM 0x00002000
        xor eax, eax
.gd:    mov dr7, eax
        mov bl, 1
        EQD [DB_COUNT], 1
        EQD [DB_IP], L(.gd)
        EQD [DB_DR6], DR6_ONES | 0x2000
        mov eax, [DB_FL]
        and eax, 0x10000
        mov [DB_FL], eax
        EQD [DB_FL], 0x10000
        mov eax, dr7
        mov [DB_DR6], eax
        EQD [DB_DR6], 0x400
        mov al, bl
        mov esi, L(msg_pm_gd)
        call report32

        ; 12.3.1.5: a task switch into a TSS with the T bit set raises #DB after the switch,
        ; before the new task's first instruction (saved EIP = task2), BT in DR6.
        ARM 0
        mov dword [RESUME], L(.back)
        jmp SEL_TSS2:0
.back:  mov bl, 1
        EQD [DB_COUNT], 1
        EQD [DB_IP], L(task2)
        EQD [DB_DR6], DR6_ONES | 0x8000
        mov al, bl
        mov esi, L(msg_pm_task)
        call report32

        ; 12.3.1.4 / 15.3.1: TF works in virtual-8086 mode too: IRETD to V86 code with TF
        ; set; the first instruction traps after it runs (saved IP = the next one, VM set
        ; in the image), to the ring-0 handler on the TSS's level-0 stack, with BS.
        ARM 0
        mov dword [TSS1 + 4], 0x7800    ; ESP0
        mov dword [TSS1 + 8], SEL_DATA  ; SS0
        mov eax, L(v86_db)
        mov ebx, 1
        call set_gate
        mov [SAVED_ESP], esp
        push dword 0                    ; GS
        push dword 0                    ; FS
        push dword 0                    ; DS
        push dword 0                    ; ES
        push dword 0                    ; SS
        push dword 0x6800               ; ESP
        push dword 0x00020102           ; EFLAGS: VM, TF
        push dword 0xF000               ; CS
        push dword v86_code             ; EIP
        iretd
v86_back:
        mov eax, L(pm_db)
        mov ebx, 1
        call set_gate
        mov bl, 1
        EQD [DB_COUNT], 1
        EQD [DB_IP], v86_next
        EQD [DB_DR6], DR6_ONES | 0x4000
        mov eax, [DB_FL]
        and eax, 0x20000
        mov [DB_FL], eax
        EQD [DB_FL], 0x20000
        mov al, bl
        mov esi, L(msg_v86_step)
        call report32

        ; ----- done -----
        mov esi, L(msg_done)
        call print32
        cmp word [FAILS], 0
        setne al
        out 0xF4, al
        cli
        hlt

; The second task: back to the first (its TSS is available again after the JMP).
task2:
        jmp SEL_TSS1:0

; IDT gate EBX := handler EAX, selector 08h, a 32-bit interrupt gate at DPL 0.
set_gate:
        lea edi, [IDT_AT + ebx * 8]
        mov [edi], ax
        mov word [edi + 2], SEL_CODE
        mov word [edi + 4], 0x8E00
        shr eax, 16
        mov [edi + 6], ax
        ret

; Protected-mode #DB: records the saved EIP, EFLAGS and DR6, clears DR6 and TF in the
; image, sets RF in the image when [DB_RF] is set, and returns.
pm_db:
        push eax
        inc dword [DB_COUNT]
        mov eax, [esp + 4]
        mov [DB_IP], eax
        mov eax, [esp + 12]
        mov [DB_FL], eax
        mov eax, dr6
        mov [DB_DR6], eax
        xor eax, eax
        mov dr6, eax
        and dword [esp + 12], ~0x100
        cmp byte [DB_RF], 0
        je .n
        or dword [esp + 12], 0x10000
.n:     pop eax
        iretd

; #DB from virtual-8086 mode: DS, ES, FS and GS are null, SS is the level-0 stack's
; flat data segment. Records the frame and DR6, then goes back to ring-0 code for good.
v86_db:
        inc dword [ss:DB_COUNT]
        mov eax, [esp]
        mov [ss:DB_IP], eax
        mov eax, [esp + 8]
        mov [ss:DB_FL], eax
        mov eax, dr6
        mov [ss:DB_DR6], eax
        xor eax, eax
        mov dr6, eax
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov esp, [SAVED_ESP]
        jmp v86_back

; Writes the NUL-terminated string at DS:ESI to port E9h.
print32:
        lodsb
        test al, al
        jz .done
        out 0xE9, al
        jmp print32
.done:  ret

; Prints the label at DS:ESI and "ok" if AL = 1, else "FAIL <EDX>" (and counts it).
report32:
        push eax
        call print32
        pop eax
        mov esi, L(msg_ok)
        test al, al
        jnz print32
        inc word [FAILS]
        mov esi, L(msg_fail)
        call print32
        mov ecx, 8
.l:     rol edx, 4
        mov al, dl
        and al, 0x0F
        add al, '0'
        cmp al, '9'
        jbe .p
        add al, 7
.p:     out 0xE9, al
        loop .l
        mov esi, L(msg_nl)
        jmp print32

; Any other interrupt: print the vector, exit with status 1.
unexpected:
        mov ax, SEL_DATA
        mov ds, ax
        mov esi, L(msg_unexp)
        call print32
        pop edx
        mov ecx, 8
.l:     rol edx, 4
        mov al, dl
        and al, 0x0F
        add al, '0'
        cmp al, '9'
        jbe .p
        add al, 7
.p:     out 0xE9, al
        loop .l
        mov al, 10
        out 0xE9, al
        mov al, 1
        out 0xF4, al
        cli
        hlt

; 32 stubs of 8 bytes: push the vector, jump to `unexpected`.
        align 8
stubs:
%assign v 0
%rep IDT_VECS
        push byte v
        jmp near unexpected
        nop
%assign v v + 1
%endrep
stubs_end:
        times (IDT_VECS * 8) - (stubs_end - stubs) db 0 ; the stubs must be 8 bytes each

gdtr:   dw gdt_end - gdt - 1
        dd GDT_AT
idtr:   dw IDT_VECS * 8 - 1
        dd IDT_AT

        align 8
gdt:    dq 0
        dq 0x00CF9A000000FFFF           ; 08h: code, base 0, 4 GiB, D = 1, DPL 0
        dq 0x00CF92000000FFFF           ; 10h: data, base 0, 4 GiB, B = 1, DPL 0
        dw 0x67, TSS1                   ; 18h: available 386 TSS at 3000h, limit 67h
        db 0, 0x89, 0, 0
        dw 0x67, TSS2                   ; 20h: available 386 TSS at 3100h
        db 0, 0x89, 0, 0
gdt_end:

msg_hello:     db "vexed debug386 ROM", 10, 0
msg_fixed:     db "real mode: DR6 reads FFFF0FF0h, DR7 reads 400h: ", 0
msg_rm_exec:   db "real mode: instruction breakpoint, fault at the IP, B0, IRETD with RF resumes: ", 0
msg_rm_gd:     db "real mode: GD, mov eax,dr0 faults with BD, GD cleared: ", 0
msg_pm_exec:   db "protected mode: instruction breakpoint, fault at the EIP, B0, RF clear in the image, IRETD with RF resumes: ", 0
msg_pm_write:  db "protected mode: dword write breakpoint, trap after the write, B1; a read does not match: ", 0
msg_pm_read:   db "protected mode: read/write breakpoint hit by a read, B2: ", 0
msg_pm_align:  db "protected mode: 2-byte breakpoint at an odd address covers the aligned word, B3: ", 0
msg_pm_off:    db "protected mode: no #DB with L0 and G0 clear: ", 0
msg_pm_step:   db "protected mode: single step after POPFD sets TF, BS: ", 0
msg_pm_gd:     db "protected mode: GD, mov dr7,eax faults with BD, RF set in the image, GD cleared: ", 0
msg_pm_task:   db "protected mode: task switch into a TSS with the T bit, BT before its first instruction: ", 0
msg_v86_step:  db "virtual-8086 mode: single step after IRETD sets TF, BS, VM in the image: ", 0
msg_ud:        db "invalid opcode in real mode: not an 80386", 10, 0
msg_unexp:     db "unexpected interrupt: ", 0
msg_ok:        db "ok", 10, 0
msg_fail:      db "FAIL ", 0
msg_nl:        db 10, 0
msg_done:      db "done", 10, 0

        times 0xFFF0 - ($ - $$) db 0xFF
        bits 16
reset:  jmp 0xF000:start                ; FFFF:0000 = F000:FFF0
        times 0x10000 - ($ - $$) db 0xFF
