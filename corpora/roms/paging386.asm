; paging386.asm - bare-ROM test of 80386 protected mode, paging and virtual-8086 mode,
; booted with `vexed boot` on the 80386 model.
;
; A 64 KiB ROM image mapped at F0000h; the CPU starts at FFFF:0000 (the far jump at the
; end). From real mode it turns A20 on (port 92h), loads a GDT copied to RAM and enters
; protected mode with 32-bit flat segments. It builds an IDT of 32-bit interrupt gates, a
; 386 TSS with an I/O permission bitmap, a page directory and two page tables (the first
; identity-maps 0-4 MiB, the ROM included; the second maps test pages at 400000h), turns
; paging on and checks the accessed and dirty bits and page faults at CPL 0 and CPL 3. It
; then runs a virtual-8086 task (IRETD with VM=1) whose sensitive instructions and I/O are
; handled by a ring-0 monitor, returns to real mode by clearing PE, and finally checks
; "unreal" mode (a 4 GiB limit kept in the descriptor cache across the switch).
;
; Every check prints "name: ok" or "name: FAIL <value>" to the debug port E9h; the exit
; port F4h receives 0 if all checks passed, 1 otherwise. An unexpected interrupt prints
; its vector and stack and exits with 1.
;
; Section numbers refer to the Intel 80386 Programmer's Reference Manual (1986).
;
; Assemble: nasm -f bin -o paging386.bin paging386.asm

        bits 16
        cpu 386
        org 0

%define L(x) (0xF0000 + (x))            ; linear address of a ROM label (CS base 0)

; ----- low memory (identity-mapped, user read/write when paging is on) -----
FAILS      equ 0x0502                   ; word: failed checks
RECOVER    equ 0x0510                   ; dword: where the fault handlers resume (0 = none)
WANT_IOPL3 equ 0x0514                   ; dword: the #GP monitor sets IOPL 3 in the frame
SAVED_ESP  equ 0x0518                   ; dword: ring-0 ESP to go back to (int 31h)
CONT       equ 0x051C                   ; dword: ring-0 continuation (int 31h)
GP_COUNT   equ 0x0520
GP_CODE    equ 0x0524
PF_COUNT   equ 0x0528
PF_CODE    equ 0x052C
PF_CR2     equ 0x0530
I30_COUNT  equ 0x0534
SEEN_DS    equ 0x0538                   ; words: DS/ES/FS/GS on entry to a handler
SEEN_ES    equ 0x053A
SEEN_FS    equ 0x053C
SEEN_GS    equ 0x053E
GP_FRAME   equ 0x0540                   ; 9 dwords: EIP CS EFLAGS ESP SS ES DS FS GS
I30_FRAME  equ 0x0570                   ; 9 dwords, likewise
R3_RCODE   equ 0x05A0                   ; ring-3 results
R3_RCR2    equ 0x05A4
R3_WCODE   equ 0x05A8
R3_WCR2    equ 0x05AC
R3_ROREAD  equ 0x05B0
R3_ROCODE  equ 0x05B4
R3_ROCR2   equ 0x05B8
R3_PFCOUNT equ 0x05BC
R3_CPL     equ 0x05C0
RM_I13     equ 0x05C4                   ; word: real-mode interrupts 13
RM_I50     equ 0x05C6                   ; word: real-mode int 50h calls

GDT_AT     equ 0x1000
IDT_AT     equ 0x2000
IDT_VECS   equ 64
TSS_AT     equ 0x3000
TSS_IOMAP  equ 0x68                     ; I/O bitmap offset in the TSS
TSS_LIMIT  equ TSS_IOMAP + 128          ; bitmap for ports 0-3FFh plus the FFh byte
PD         equ 0x10000                  ; page directory
PT1        equ 0x11000                  ; page table for 0-4 MiB (identity)
PT2        equ 0x12000                  ; page table for 4-8 MiB (test pages)
V86_SP     equ 0x6800
R3_ESP     equ 0x6000
PATTERN    equ 0x0386C0DE
HIGH_PAT   equ 0x0386F00D

SEL_CODE   equ 0x08                     ; flat 4 GiB 32-bit code, DPL 0
SEL_DATA   equ 0x10                     ; flat 4 GiB data, DPL 0
SEL_CODE3  equ 0x18                     ; flat 32-bit code, DPL 3
SEL_DATA3  equ 0x20                     ; flat data, DPL 3
SEL_TSS    equ 0x28                     ; 386 TSS at 3000h
SEL_CODE16 equ 0x30                     ; 16-bit code, base F0000h, limit FFFFh
SEL_DATA16 equ 0x38                     ; 16-bit data, base 0, limit FFFFh

; BL := 0 and EDX := the observed value if the dword/word at %1 is not %2.
%macro EQD 2
        cmp dword %1, %2
        je %%ok
        mov bl, 0
        mov edx, %1
%%ok:
%endmacro
%macro EQW 2
        cmp word %1, %2
        je %%ok
        mov bl, 0
        movzx edx, word %1
%%ok:
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
        mov word [6 * 4], rm_ud         ; an 80286 stops here (no 32-bit registers, no CR0)
        mov [6 * 4 + 2], cs
        mov word [13 * 4], rm_int13
        mov [13 * 4 + 2], cs
        mov word [0x50 * 4], rm_int50
        mov [0x50 * 4 + 2], cs
        mov si, msg_hello
        call print

        ; A20 on through port 92h bit 1 (bit 0, the reset, left 0), as chipset.asm does.
        in al, 0x92
        and al, 0xFE
        or al, 0x02
        out 0x92, al

        ; The GDT goes to RAM at 1000h (the processor writes the accessed bits).
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

        ; 80386 PRM 10.3 / 14.4.1: set PE in CR0, then a far jump loads CS from the GDT.
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword SEL_CODE:L(pm32)

; ======================================================================================
; protected mode, CPL 0, 32-bit code
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

        ; 80386 PRM 14.4.1 / 4.1 (CR0): CR0.PE = 1 and CS holds the 32-bit code selector.
        mov bl, 1
        mov eax, cr0
        test al, 1
        jnz .pe
        mov bl, 0
        mov edx, eax
.pe:    mov ax, cs
        movzx eax, ax
        cmp eax, SEL_CODE
        je .cs
        mov bl, 0
        mov edx, eax
.cs:    mov al, bl
        mov esi, L(msg_pmode)
        call report32

        ; ----- IDT: every vector to an "unexpected" stub, then the handlers -----
        xor ebx, ebx
.idt:   lea eax, [L(stubs) + ebx * 8]
        mov dl, 0x8E                    ; present, DPL 0, 32-bit interrupt gate
        call set_gate
        inc ebx
        cmp ebx, IDT_VECS
        jb .idt
        mov eax, L(gp_handler)
        mov ebx, 13
        mov dl, 0x8E
        call set_gate
        mov eax, L(pf_handler)
        mov ebx, 14
        mov dl, 0x8E
        call set_gate
        mov eax, L(int30_handler)
        mov ebx, 0x30
        mov dl, 0xEE                    ; DPL 3: INT 30h from CPL 3 / V86 may use it
        call set_gate
        mov eax, L(int31_handler)
        mov ebx, 0x31
        mov dl, 0xEE
        call set_gate
        lidt [L(idtr)]

        ; ----- 386 TSS: ring-0 stack and the I/O permission bitmap (80386 PRM 7.2, 8.3.2) --
        mov edi, TSS_AT
        xor eax, eax
        mov ecx, (TSS_LIMIT + 4) / 4
        rep stosd
        mov dword [TSS_AT + 4], 0x8000  ; ESP0
        mov dword [TSS_AT + 8], SEL_DATA ; SS0
        mov word [TSS_AT + 0x66], TSS_IOMAP
        mov edi, TSS_AT + TSS_IOMAP
        mov al, 0xFF                    ; every port denied ...
        mov ecx, 129                    ; ... 0-3FFh, plus the trailing FFh byte
        rep stosb
        mov byte [TSS_AT + TSS_IOMAP + 0xE9 / 8], ~(1 << (0xE9 & 7)) & 0xFF ; but E9h
        mov ax, SEL_TSS
        ltr ax

        ; ----- page tables (80386 PRM 5.2.3, figures 5-9/5-10) -----
        xor eax, eax
        mov edi, PD
        mov ecx, 1024
        rep stosd
        mov edi, PT2
        mov ecx, 1024
        rep stosd
        mov edi, PT1                    ; 0-4 MiB: identity, present, writable, user
        mov eax, 7
        mov ecx, 1024
.pt1:   stosd
        add eax, 0x1000
        loop .pt1
        mov dword [PD], PT1 | 7
        mov dword [PD + 4], PT2 | 7     ; A = 0: the first use sets it
        mov dword [PT2 + 0 * 4], 0x20000 | 3 ; 400000h: supervisor, writable
        ;         [PT2 + 2 * 4] = 0           402000h: not present
        mov dword [PT2 + 3 * 4], 0x23000 | 3 ; 403000h: supervisor, writable
        mov dword [PT2 + 4 * 4], 0x24000 | 5 ; 404000h: user, read-only
        mov dword [PT2 + 5 * 4], 0x25000 | 3 ; 405000h: alias of physical 25000h
        mov dword [0x25000], PATTERN
        mov dword [0x24000], 0
        mov eax, PD
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000              ; PG
        mov cr0, eax
        jmp .paged
.paged:
        ; 80386 PRM 5.2.4 (accessed and dirty bits): "the processor sets the accessed bits
        ; in both levels of page tables before a read or write operation to a page"; D is
        ; set only before a write.
        mov bl, 1
        EQD [PT2], 0x20000 | 3          ; A and D clear before the access
        EQD [PD + 4], PT2 | 7
        mov eax, [0x400000]             ; read
        EQD [PT2], 0x20000 | 0x20 | 3   ; A set, D still clear
        mov eax, [PD + 4]
        and eax, 0x20
        cmp eax, 0x20
        je .pdea
        mov bl, 0
        mov edx, [PD + 4]
.pdea:  mov al, bl
        mov esi, L(msg_acc)
        call report32

        ; 80386 PRM 5.2.4 (accessed and dirty bits): "the processor sets the dirty bit in
        ; the second-level page table before a write operation to an address mapped by that
        ; page table entry".
        mov bl, 1
        mov dword [0x400004], 1         ; write
        EQD [PT2], 0x20000 | 0x60 | 3
        mov al, bl
        mov esi, L(msg_dirty)
        call report32

        ; 80386 PRM 5.2.3 / 5.2.4: the PTE's page frame address gives the physical page.
        mov bl, 1
        EQD [0x405000], PATTERN
        mov al, bl
        mov esi, L(msg_alias)
        call report32

        ; 80386 PRM 5.2.4 (present bit) and 9.8.14: a not-present page gives interrupt 14
        ; with CR2 = the linear address and error code P=0, W/R=0 (read), U/S=0 (supervisor).
        mov dword [PF_COUNT], 0
        mov dword [PF_CODE], -1
        mov dword [RECOVER], L(.npr)
        mov eax, [0x402010]
.npr:   mov bl, 1
        EQD [PF_COUNT], 1
        EQD [PF_CODE], 0
        EQD [PF_CR2], 0x402010
        mov al, bl
        mov esi, L(msg_np_read)
        call report32

        ; 9.8.14: the same for a write, W/R = 1: error code 2.
        mov dword [PF_COUNT], 0
        mov dword [PF_CODE], -1
        mov dword [RECOVER], L(.npw)
        mov dword [0x402020], 1
.npw:   mov bl, 1
        EQD [PF_COUNT], 1
        EQD [PF_CODE], 2
        EQD [PF_CR2], 0x402020
        mov al, bl
        mov esi, L(msg_np_write)
        call report32

        ; 80386 PRM 6.4.1.2: at the supervisor level all pages are readable and writable;
        ; the 80386 ignores R/W for supervisor accesses (no fault writing a read-only page).
        mov dword [PF_COUNT], 0
        mov dword [RECOVER], L(.row)
        mov dword [0x404000], PATTERN
.row:   mov dword [RECOVER], 0
        mov bl, 1
        EQD [PF_COUNT], 0
        EQD [0x24000], PATTERN
        mov al, bl
        mov esi, L(msg_ro_cpl0)
        call report32

        ; ----- CPL 3: RETF to a DPL-3 code segment (80386 PRM 6.3.4, RET) -----
        mov [SAVED_ESP], esp
        mov dword [CONT], L(ring3_back)
        mov dword [PF_COUNT], 0
        push dword SEL_DATA3 | 3        ; SS
        push dword R3_ESP               ; ESP
        push dword SEL_CODE3 | 3        ; CS
        push dword L(ring3)             ; EIP
        retf

ring3:
        mov ax, SEL_DATA3 | 3
        mov ds, ax
        mov es, ax
        mov ax, cs
        movzx eax, ax
        and eax, 3
        mov [R3_CPL], eax
        ; 80386 PRM 6.4.1.1 / 9.8.14: a user read of a supervisor page: P=1, U/S=1 -> 5.
        mov dword [PF_CODE], -1
        mov dword [RECOVER], L(.a)
        mov eax, [0x403010]
.a:     mov eax, [PF_CODE]
        mov [R3_RCODE], eax
        mov eax, [PF_CR2]
        mov [R3_RCR2], eax
        ; a user write of a supervisor page: P=1, W/R=1, U/S=1 -> 7.
        mov dword [PF_CODE], -1
        mov dword [RECOVER], L(.b)
        mov dword [0x403020], 1
.b:     mov eax, [PF_CODE]
        mov [R3_WCODE], eax
        mov eax, [PF_CR2]
        mov [R3_WCR2], eax
        ; 6.4.1.2: a user page with R/W = 0 is readable at the user level ...
        mov dword [RECOVER], L(.c)
        mov eax, [0x404000]
.c:     mov [R3_ROREAD], eax
        ; ... but not writable: 7.
        mov dword [PF_CODE], -1
        mov dword [RECOVER], L(.d)
        mov dword [0x404030], 2
.d:     mov eax, [PF_CODE]
        mov [R3_ROCODE], eax
        mov eax, [PF_CR2]
        mov [R3_ROCR2], eax
        mov eax, [PF_COUNT]
        mov [R3_PFCOUNT], eax
        int 0x31                        ; back to ring 0

ring3_back:
        mov bl, 1
        EQD [R3_CPL], 3
        mov al, bl
        mov esi, L(msg_r3)
        call report32

        mov bl, 1
        EQD [R3_RCODE], 5
        EQD [R3_RCR2], 0x403010
        mov al, bl
        mov esi, L(msg_r3_sr)
        call report32

        mov bl, 1
        EQD [R3_WCODE], 7
        EQD [R3_WCR2], 0x403020
        mov al, bl
        mov esi, L(msg_r3_sw)
        call report32

        mov bl, 1
        EQD [R3_ROREAD], PATTERN
        mov al, bl
        mov esi, L(msg_r3_ror)
        call report32

        mov bl, 1
        EQD [R3_ROCODE], 7
        EQD [R3_ROCR2], 0x404030
        EQD [R3_PFCOUNT], 3
        mov al, bl
        mov esi, L(msg_r3_row)
        call report32

        ; ----- virtual-8086 mode: IRETD with VM = 1 (80386 PRM 15.3.2, IRET) -----
        mov [SAVED_ESP], esp
        mov dword [CONT], L(v86_back)
        mov dword [GP_COUNT], 0
        mov dword [I30_COUNT], 0
        mov dword [WANT_IOPL3], 0
        push dword 0                    ; GS
        push dword 0                    ; FS
        push dword 0                    ; DS
        push dword 0                    ; ES
        push dword 0                    ; SS
        push dword V86_SP               ; ESP
        push dword 0x00020002           ; EFLAGS: VM, IOPL 0, IF 0
        push dword 0xF000               ; CS
        push dword v86_code             ; EIP
        iretd

v86_back:
        ; ----- back to real mode (80386 PRM 14.5) -----
        ; 1. paging off, from identity-mapped code; CR3 = 0 flushes the TLB.
        mov eax, cr0
        and eax, 0x7FFFFFFF
        mov cr0, eax
        xor eax, eax
        mov cr3, eax
        ; 2. a code segment with a 64 KiB limit.
        jmp SEL_CODE16:pm16

; ----- 32-bit helpers and handlers -----

; IDT gate EBX := handler EAX, selector 08h, type byte DL.
set_gate:
        lea edi, [IDT_AT + ebx * 8]
        mov [edi], ax
        mov word [edi + 2], SEL_CODE
        mov byte [edi + 4], 0
        mov [edi + 5], dl
        shr eax, 16
        mov [edi + 6], ax
        ret

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
        call hex32
        mov esi, L(msg_nl)
        jmp print32

; Prints EDX as 8 hex digits.
hex32:
        push ecx
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
        pop ecx
        ret

; #GP: record the error code, DS/ES/FS/GS on entry and the 9-dword frame above the error
; code (EIP CS EFLAGS ESP SS ES DS FS GS for an interrupt from V86 mode), then resume.
gp_handler:
        mov [ss:SEEN_DS], ds
        mov [ss:SEEN_ES], es
        mov [ss:SEEN_FS], fs
        mov [ss:SEEN_GS], gs
        push ds
        push es
        push eax
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        inc dword [GP_COUNT]
        mov eax, [esp + 12]
        mov [GP_CODE], eax
        push esi
        push edi
        push ecx
        lea esi, [esp + 28]
        mov edi, GP_FRAME
        mov ecx, 9
        cld
        rep movsd
        pop ecx
        pop edi
        pop esi
        jmp resume

; #PF: record the error code and CR2, then resume.
pf_handler:
        push ds
        push es
        push eax
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        inc dword [PF_COUNT]
        mov eax, [esp + 12]
        mov [PF_CODE], eax
        mov eax, cr2
        mov [PF_CR2], eax
        jmp resume

; [esp] = EAX, ES, DS, error code, EIP, CS, EFLAGS...: continue at [RECOVER] with IRETD.
resume:
        mov eax, [RECOVER]
        test eax, eax
        jz .lost
        mov dword [RECOVER], 0
        mov [esp + 16], eax
        cmp dword [WANT_IOPL3], 0
        je .keep
        or dword [esp + 24], 0x3000     ; the monitor grants IOPL 3
        mov dword [WANT_IOPL3], 0
.keep:  pop eax
        pop es
        pop ds
        add esp, 4
        iretd
.lost:  pop eax
        pop es
        pop ds
        push byte -1                    ; "vector" FFFFFFFF: a fault with no recovery
        jmp unexpected

; INT 30h through the IDT: record DS/ES/FS/GS on entry and the 9-dword frame.
int30_handler:
        mov [ss:SEEN_DS], ds
        mov [ss:SEEN_ES], es
        mov [ss:SEEN_FS], fs
        mov [ss:SEEN_GS], gs
        push eax
        push esi
        push edi
        push ecx
        push ds
        push es
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        inc dword [I30_COUNT]
        lea esi, [esp + 24]
        mov edi, I30_FRAME
        mov ecx, 9
        cld
        rep movsd
        pop es
        pop ds
        pop ecx
        pop edi
        pop esi
        pop eax
        iretd

; INT 31h: leave ring 3 or V86 mode for good, back to [CONT] on the saved ring-0 stack.
int31_handler:
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov esp, [SAVED_ESP]
        jmp [CONT]

; Any other interrupt: print the vector and the stack above it, exit with status 1.
unexpected:
        mov ax, SEL_DATA
        mov ds, ax
        mov esi, L(msg_unexp)
        call print32
        xor ebx, ebx
.dump:  mov edx, [esp + ebx * 4]
        call hex32
        mov al, ' '
        out 0xE9, al
        inc ebx
        cmp ebx, 6
        jb .dump
        mov al, 10
        out 0xE9, al
        mov al, 1
        out 0xF4, al
        cli
        hlt

; 64 stubs of 8 bytes: push the vector, jump to `unexpected`.
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
        times (stubs_end - stubs) - (IDT_VECS * 8) db 0

idtr:   dw IDT_VECS * 8 - 1
        dd IDT_AT

; ======================================================================================
; virtual-8086 task (CS = F000h, DS = ES = SS = 0, SP = 6800h), IOPL 0 at first
; ======================================================================================
        bits 16
v86_code:
        ; 80386 PRM 15.1.2: in V86 mode CS:IP forms linear addresses as in real mode
        ; (CS = F000h) while CR0.PE (read with SMSW) stays 1.
        mov bl, 1
        smsw ax
        test al, 1
        jnz .pe
        mov bl, 0
        movzx edx, ax
.pe:    mov ax, cs
        cmp ax, 0xF000
        je .cs
        mov bl, 0
        movzx edx, ax
.cs:    mov al, bl
        mov si, msg_v86
        call report                     ; (OUT E9h, allowed by the I/O bitmap)

        ; 80386 PRM 15.4: CLI is sensitive in V86 mode; with IOPL < 3 it raises #GP(0),
        ; handled at CPL 0 through the IDT (15.3.2).
        mov dword [RECOVER], v86_cli_back
        mov dword [SEEN_DS], -1
        mov dword [SEEN_FS], -1
        mov ax, 0x2222
        mov es, ax
        mov ax, 0x3333
        mov fs, ax
        mov ax, 0x4444
        mov gs, ax
        mov ax, 0x1111
        mov ds, ax
v86_cli:
        cli
v86_cli_back:
        ; 15.3.2 / IRET: the monitor's IRETD back to V86 mode reloads ES, DS, FS, GS from
        ; its stack.
        mov bp, 1
        mov ax, ds
        cmp ax, 0x1111
        jne .bad
        mov ax, es
        cmp ax, 0x2222
        jne .bad
        mov ax, fs
        cmp ax, 0x3333
        jne .bad
        mov ax, gs
        cmp ax, 0x4444
        je .good
.bad:   xor bp, bp
.good:  xor ax, ax
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax

        mov bl, 1
        EQD [GP_COUNT], 1
        EQD [GP_CODE], 0
        mov al, bl
        mov si, msg_v86_cli
        call report

        ; 15.3.2 (and INT n, "interrupt from V86 mode"): an interrupt from V86 mode pushes
        ; GS, FS, DS, ES, SS, ESP, EFLAGS, CS, EIP: from the handler's ESP upward EIP, CS,
        ; EFLAGS (VM = 1), ESP, SS, ES, DS, FS, GS. A fault's EIP is the faulting
        ; instruction (9.8).
        mov bl, 1
        EQD [GP_FRAME + 0], v86_cli
        EQW [GP_FRAME + 4], 0xF000
        mov eax, [GP_FRAME + 8]
        and eax, 0x23002                ; VM, IOPL, reserved bit 1
        cmp eax, 0x20002
        je .fl
        mov bl, 0
        mov edx, [GP_FRAME + 8]
.fl:    EQD [GP_FRAME + 12], V86_SP
        EQW [GP_FRAME + 16], 0
        EQW [GP_FRAME + 20], 0x2222
        EQW [GP_FRAME + 24], 0x1111
        EQW [GP_FRAME + 28], 0x3333
        EQW [GP_FRAME + 32], 0x4444
        mov al, bl
        mov si, msg_v86_frame
        call report

        ; 15.3.2: the processor loads DS, ES, FS and GS with null selectors before the
        ; handler runs.
        mov bl, 1
        EQW [SEEN_DS], 0
        EQW [SEEN_ES], 0
        EQW [SEEN_FS], 0
        EQW [SEEN_GS], 0
        mov al, bl
        mov si, msg_v86_null
        call report

        mov ax, bp
        mov si, msg_v86_iret
        call report

        ; 15.4 / 15.4.1 / INT n: in V86 mode with IOPL < 3, INT n raises #GP(0) instead of
        ; going through the IDT, so a monitor can emulate it.
        mov dword [RECOVER], .int_back
.int_at:
        int 0x30
.int_back:
        mov bl, 1
        EQD [GP_COUNT], 2
        EQD [GP_CODE], 0
        EQD [I30_COUNT], 0
        EQD [GP_FRAME + 0], .int_at
        mov al, bl
        mov si, msg_v86_int0
        call report

        ; 8.3.2 / 15.5.1: I/O in V86 mode is checked against the TSS I/O permission bitmap;
        ; port E9h's bit is clear, so OUT DX,AL and IN AL,DX there go through.
        mov si, msg_v86_io
        call print
        mov dword [RECOVER], .io1
        mov dx, 0xE9
        mov al, ':'
        out dx, al
.io1:   mov dword [RECOVER], .io2
        in al, dx
.io2:   mov dword [RECOVER], 0
        mov bl, 1
        EQD [GP_COUNT], 2
        mov al, bl
        mov si, msg_sp
        call report

        ; 8.3.2: port E8h's bit is set: IN AL,DX raises #GP(0).
        mov dword [RECOVER], .io3
        mov dx, 0xE8
.in_e8:
        in al, dx
.io3:   mov bl, 1
        EQD [GP_COUNT], 3
        EQD [GP_CODE], 0
        EQD [GP_FRAME + 0], .in_e8
        mov al, bl
        mov si, msg_v86_e8
        call report

        ; 8.3.2: port 80h's bit is set: OUT DX,AL raises #GP(0).
        mov dword [RECOVER], .io4
        mov dx, 0x80
        mov al, 0x55
        out dx, al
.io4:   mov bl, 1
        EQD [GP_COUNT], 4
        EQD [GP_CODE], 0
        mov al, bl
        mov si, msg_v86_80
        call report

        ; 8.3.2: a word access tests the bits of both bytes; EAh's bit is set.
        mov dword [RECOVER], .io5
        mov dx, 0xE9
        in ax, dx
.io5:   mov bl, 1
        EQD [GP_COUNT], 5
        EQD [GP_CODE], 0
        mov al, bl
        mov si, msg_v86_word
        call report

        ; The monitor grants IOPL 3 (it sets IOPL in the EFLAGS image it returns to).
        mov dword [WANT_IOPL3], 1
        mov dword [RECOVER], .iopl
        cli
.iopl:  mov bl, 1
        EQD [GP_COUNT], 6
        pushf                           ; allowed at IOPL 3 (15.4)
        pop ax
        and ax, 0x3000
        cmp ax, 0x3000
        je .i3
        mov bl, 0
        movzx edx, ax
.i3:    mov al, bl
        mov si, msg_v86_iopl3
        call report

        ; 15.3.2 / INT n: with IOPL = 3, INT n in V86 mode goes through the IDT gate (DPL 3,
        ; to a DPL-0 code segment) to ring 0; EIP is the next instruction.
        mov dword [SEEN_DS], -1
        mov dword [SEEN_FS], -1
        mov ax, 0x2222
        mov es, ax
        mov ax, 0x3333
        mov fs, ax
        mov ax, 0x4444
        mov gs, ax
        mov ax, 0x1111
        mov ds, ax
        int 0x30
.int3_back:
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov bl, 1
        EQD [I30_COUNT], 1
        EQD [GP_COUNT], 6
        EQD [I30_FRAME + 0], .int3_back
        EQW [I30_FRAME + 4], 0xF000
        mov eax, [I30_FRAME + 8]
        and eax, 0x23002
        cmp eax, 0x23002                ; VM = 1, IOPL = 3
        je .fl3
        mov bl, 0
        mov edx, [I30_FRAME + 8]
.fl3:   mov al, bl
        mov si, msg_v86_int3
        call report

        mov bl, 1
        EQD [I30_FRAME + 12], V86_SP
        EQW [I30_FRAME + 16], 0
        EQW [I30_FRAME + 20], 0x2222
        EQW [I30_FRAME + 24], 0x1111
        EQW [I30_FRAME + 28], 0x3333
        EQW [I30_FRAME + 32], 0x4444
        EQW [SEEN_DS], 0
        EQW [SEEN_ES], 0
        EQW [SEEN_FS], 0
        EQW [SEEN_GS], 0
        mov al, bl
        mov si, msg_v86_int3f
        call report

        int 0x31                        ; leave V86 mode (IOPL 3: through the gate)

; ======================================================================================
; 16-bit protected mode on the way back to real mode (80386 PRM 14.5)
; ======================================================================================
pm16:
        ; 3. data and stack segments with 64 KiB limits, byte granular, expand-up, writable.
        mov ax, SEL_DATA16
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        ; 5. clear PE, 6. far jump to real-mode code.
        mov eax, cr0
        and al, 0xFE
        mov cr0, eax
        jmp 0xF000:rm_back

rm_back:
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7000
        lidt [cs:rm_idtr]               ; 7. the real-mode vector table at 0

        ; CR0: PE = 0 and PG = 0 again.
        mov bl, 1
        mov eax, cr0
        test eax, 0x80000001
        jz .cr0
        mov bl, 0
        mov edx, eax
.cr0:   mov al, bl
        mov si, msg_rm
        call report

        ; 14.3: in real mode INT n vectors through the table at IDTR.base = 0.
        mov word [RM_I50], 0
        int 0x50
        mov bl, 1
        EQW [RM_I50], 1
        mov al, bl
        mov si, msg_rm_ivt
        call report

        ; 14.6 / 14.7: with the 64 KiB limit loaded before PE was cleared, an operand beyond
        ; offset FFFFh raises interrupt 13.
        mov word [RM_I13], 0
        mov dword [RECOVER], .lim
        mov esi, 0x10000
        mov eax, [esi]
.lim:   mov bl, 1
        EQW [RM_I13], 1
        mov al, bl
        mov si, msg_rm_limit
        call report

        ; ----- unreal mode: protected mode again, DS/ES with the 4 GiB data segment -----
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword SEL_CODE:L(pm32b)

        bits 32
pm32b:
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov dword [0x200000], HIGH_PAT  ; above 1 MiB (A20 is on)
        mov ax, SEL_DATA16              ; SS gets a 64 KiB limit; DS and ES keep 4 GiB
        mov ss, ax
        jmp SEL_CODE16:pm16b

        bits 16
pm16b:
        mov eax, cr0
        and al, 0xFE
        mov cr0, eax
        jmp 0xF000:unreal

unreal:
        xor ax, ax                      ; SS only; DS and ES are not reloaded
        mov ss, ax
        mov sp, 0x7000

        ; 14.5 / 80386 descriptor caches: clearing PE does not change the segment
        ; registers' cached limits, so real-mode code still has DS/ES limits of 4 GiB.
        mov word [RM_I13], 0
        mov dword [RECOVER], .u1
        mov esi, 0x200000
        xor eax, eax
        mov eax, [es:esi]
.u1:    mov bl, 1
        cmp eax, HIGH_PAT
        je .u1ok
        mov bl, 0
        mov edx, eax
.u1ok:  EQW [RM_I13], 0
        mov al, bl
        mov si, msg_unreal
        call report

        ; 14.1: a real-mode segment load sets the base (selector * 16); the 80386 leaves
        ; the cached limit alone, so ES keeps 4 GiB.
        xor ax, ax
        mov es, ax
        mov word [RM_I13], 0
        mov dword [RECOVER], .u2
        mov esi, 0x200000               ; (report changed SI)
        xor eax, eax
        mov eax, [es:esi]
.u2:    mov bl, 1
        cmp eax, HIGH_PAT
        je .u2ok
        mov bl, 0
        mov edx, eax
.u2ok:  EQW [RM_I13], 0
        mov al, bl
        mov si, msg_unreal_load
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

; ----- 16-bit helpers (real and V86 mode) -----

%include "report16.inc"

; Real-mode interrupt 13: count it and resume at [RECOVER] (the saved IP is the faulting
; instruction's).
rm_int13:
        push bp
        mov bp, sp
        push ax
        inc word [ss:RM_I13]
        mov ax, [ss:RECOVER]
        mov [bp + 2], ax
        pop ax
        pop bp
        iret

rm_int50:
        inc word [ss:RM_I50]
        iret

; Invalid opcode in real mode: not an 80386.
rm_ud:
        mov si, msg_ud
        call print
        mov al, 1
        out 0xF4, al
        cli
        hlt

gdtr:   dw gdt_end - gdt - 1
        dd GDT_AT
rm_idtr:
        dw 0x3FF
        dd 0

; 80386 PRM 5.1.1 / figure 5-3 (descriptor format), 6.3.1 (type and DPL).
        align 8
gdt:    dq 0
        dq 0x00CF9A000000FFFF           ; 08h: code, base 0, 4 GiB, D = 1, DPL 0
        dq 0x00CF92000000FFFF           ; 10h: data, base 0, 4 GiB, B = 1, DPL 0
        dq 0x00CFFA000000FFFF           ; 18h: code, DPL 3
        dq 0x00CFF2000000FFFF           ; 20h: data, DPL 3
        dw TSS_LIMIT, TSS_AT            ; 28h: available 386 TSS at 3000h
        db 0, 0x89, 0, 0
        dw 0xFFFF, 0x0000               ; 30h: code, base F0000h, 64 KiB, 16-bit
        db 0x0F, 0x9A, 0x00, 0x00
        dw 0xFFFF, 0x0000               ; 38h: data, base 0, 64 KiB, byte granular
        db 0x00, 0x92, 0x00, 0x00
gdt_end:

msg_hello:     db "vexed paging386 ROM", 10, 0
msg_pmode:     db "protected mode: CR0.PE=1, CS=08h, 32-bit code: ", 0
msg_acc:       db "paging: a read sets A in the PTE and the PDE, not D: ", 0
msg_dirty:     db "paging: a write sets D in the PTE: ", 0
msg_alias:     db "paging: linear 405000h maps to physical 25000h: ", 0
msg_np_read:   db "paging: read of a not-present page, #PF error 0, CR2: ", 0
msg_np_write:  db "paging: write of a not-present page, #PF error 2, CR2: ", 0
msg_ro_cpl0:   db "paging: CPL 0 writes a read-only page without a fault: ", 0
msg_r3:        db "ring 3 entered with RETF: ", 0
msg_r3_sr:     db "paging: CPL 3 read of a supervisor page, #PF error 5, CR2: ", 0
msg_r3_sw:     db "paging: CPL 3 write of a supervisor page, #PF error 7, CR2: ", 0
msg_r3_ror:    db "paging: CPL 3 reads a user read-only page: ", 0
msg_r3_row:    db "paging: CPL 3 write of a user read-only page, #PF error 7, CR2: ", 0
msg_v86:       db "v86 entered by IRETD: CS=F000h, CR0.PE=1: ", 0
msg_v86_cli:   db "v86 cli at IOPL 0: #GP(0) to the ring-0 handler: ", 0
msg_v86_frame: db "v86 #GP frame: EIP CS EFLAGS(VM) ESP SS ES DS FS GS: ", 0
msg_v86_null:  db "v86 #GP handler entered with DS ES FS GS = 0: ", 0
msg_v86_iret:  db "monitor IRETD back to v86 reloads ES DS FS GS: ", 0
msg_v86_int0:  db "v86 int 30h at IOPL 0: #GP(0), not the gate: ", 0
msg_v86_io:    db "v86 out dx,al / in al,dx at E9h allowed by the I/O bitmap", 0
msg_sp:        db " ", 0
msg_v86_e8:    db "v86 in al,dx at E8h denied by the I/O bitmap: #GP(0): ", 0
msg_v86_80:    db "v86 out dx,al at 80h denied by the I/O bitmap: #GP(0): ", 0
msg_v86_word:  db "v86 in ax,dx at E9h (EAh denied): #GP(0): ", 0
msg_v86_iopl3: db "monitor grants IOPL 3, pushf in v86 shows it: ", 0
msg_v86_int3:  db "v86 int 30h at IOPL 3 through the IDT gate to ring 0: ", 0
msg_v86_int3f: db "v86 int 30h frame: ESP SS ES DS FS GS, handler DS ES FS GS = 0: ", 0
msg_rm:        db "real mode again: CR0.PE=0, PG=0: ", 0
msg_rm_ivt:    db "real mode int 50h through the vector table at 0: ", 0
msg_rm_limit:  db "real mode with 64 KiB limits: [esi=10000h] raises interrupt 13: ", 0
msg_unreal:    db "unreal: real-mode mov eax,[es:esi], ESI=200000h, reads pmode's write: ", 0
msg_unreal_load: db "unreal: a real-mode load of ES keeps the 4 GiB limit: ", 0
msg_ud:        db "invalid opcode in real mode: not an 80386", 10, 0
msg_unexp:     db "unexpected interrupt: ", 0
msg_ok:        db "ok", 10, 0
msg_fail:      db "FAIL ", 0
msg_nl:        db 10, 0
msg_done:      db "done", 10, 0

        times 0xFFF0 - ($ - $$) db 0xFF
reset:  jmp 0xF000:start                ; FFFF:0000 = F000:FFF0
        times 0x10000 - ($ - $$) db 0xFF
