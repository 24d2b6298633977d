; v86mon.asm - bare-ROM test of a virtual-8086 monitor that reflects interrupts, booted
; with `vexed boot` on the 80386 model.
;
; A 64 KiB ROM image mapped at F0000h; the CPU starts at FFFF:0000 (the far jump at the
; end). From real mode it masks the PICs, turns A20 on, loads a GDT and enters protected
; mode with flat 32-bit segments (no paging). A ring-0 monitor (the #GP handler, plus
; DPL-3 gates for vectors 3 and 4) runs a V86 task with IOPL 0 and real IF = 1, and
; emulates the IOPL-sensitive instructions the way EMM386-class monitors do:
;   - INT n (CD nn) is reflected through the V86 task's own vector table at linear 0:
;     FLAGS (with the monitor's virtual IF), CS and IP+2 go onto the V86 stack, the
;     virtual IF and TF are cleared and CS:IP is loaded from the vector;
;   - IRET pops IP, CS, FLAGS back (IOPL, VM and the real IF stay as they are; IF goes to
;     the virtual IF);
;   - CLI/STI change the virtual IF, PUSHF/POPF push/pop the virtual flags image;
;   - OUT 80h,AL (port denied by the I/O bitmap) is a "doorbell": the monitor simulates a
;     hardware interrupt (vector 61h), delivered at once if the virtual IF is 1, else held
;     until the virtual IF becomes 1 (STI, POPF or IRET);
;   - INT3 and INTO are not sensitive (80386 PRM 15.4 lists only INT n): they come through
;     the DPL-3 gates and are reflected the same way.
; The V86 task prints its own checks (ports E9h and F4h are open in the I/O bitmap).
;
; Every check prints "name: ok" or "name: FAIL <value>" to the debug port E9h; the exit
; port F4h receives 0 if all checks passed, 1 otherwise. An unexpected interrupt (or a
; #GP the monitor cannot decode) prints its vector and stack and exits with 1.
;
; Section numbers refer to the Intel 80386 Programmer's Reference Manual (1986).
;
; Assemble: nasm -f bin -o v86mon.bin v86mon.asm

        bits 16
        cpu 386
        org 0

%define L(x) (0xF0000 + (x))            ; linear address of a ROM label (CS base 0)

; ----- low memory -----
FAILS      equ 0x0502                   ; word: failed checks
VIF        equ 0x0600                   ; dword: the monitor's virtual IF (0 or 200h)
PENDING    equ 0x0604                   ; dword: a simulated interrupt 61h is held
GP_COUNT   equ 0x0608                   ; dword: #GP entries
GP_CODES   equ 0x060C                   ; dword: OR of the #GP error codes
BAD_FRAME  equ 0x0610                   ; dword: frames seen with VM = 0 or real IF = 0
LAST_EFL   equ 0x0614                   ; dword: EFLAGS in the last #GP frame
GATE3      equ 0x0618                   ; dword: entries through the vector 3 gate
GATE4      equ 0x061C                   ; dword: entries through the vector 4 gate
; V86 task's variables
MARK60     equ 0x0700                   ; word: set by the INT 60h handler
SEEN_IP    equ 0x0702                   ; words: the handler's stack: IP CS FLAGS
SEEN_CS    equ 0x0704
SEEN_FL    equ 0x0706
H_FL       equ 0x0708                   ; word: PUSHF inside the handler
SP_BEFORE  equ 0x070A
SP_AFTER   equ 0x070C
AX_AFTER   equ 0x070E
CNT61      equ 0x0710                   ; word: INT 61h handler calls
RET61      equ 0x0712                   ; word: the IP it would return to
H61_FL     equ 0x0714                   ; word: its PUSHF
CNT3       equ 0x0716
RET3       equ 0x0718
CNT4       equ 0x071A
RET4       equ 0x071C
TMP        equ 0x071E

GDT_AT     equ 0x1000
IDT_AT     equ 0x2000
IDT_VECS   equ 64
TSS_AT     equ 0x3000
TSS_IOMAP  equ 0x68                     ; I/O bitmap offset in the TSS
TSS_LIMIT  equ TSS_IOMAP + 128          ; bitmap for ports 0-3FFh plus the FFh byte
V86_SP     equ 0x6800
RING0_SP   equ 0x8000

SEL_CODE   equ 0x08                     ; flat 4 GiB 32-bit code, DPL 0
SEL_DATA   equ 0x10                     ; flat 4 GiB data, DPL 0
SEL_TSS    equ 0x18                     ; 386 TSS at 3000h

; pushad frame offsets in the monitor (EBP = ESP after PUSHAD)
F_EAX      equ 28
F_CODE     equ 32                       ; error code (#GP) or 0 (gates)
F_EIP      equ 36
F_CS       equ 40
F_EFL      equ 44
F_ESP      equ 48
F_SS       equ 52

; BL := 0 and EDX := the observed value if the word at %1 is not %2 (16-bit code).
%macro EQW 2
        cmp word %1, %2
        je %%ok
        mov bl, 0
        movzx edx, word %1
%%ok:
%endmacro
%macro EQD 2
        cmp dword %1, %2
        je %%ok
        mov bl, 0
        mov edx, %1
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
        mov si, msg_hello
        call print

        ; No hardware interrupts: the real IF is 1 in V86 mode and the ROM has no IRQ
        ; handlers, so mask every line at both PICs.
        mov al, 0xFF
        out 0x21, al
        out 0xA1, al

        ; A20 on through port 92h bit 1.
        in al, 0x92
        and al, 0xFE
        or al, 0x02
        out 0x92, al

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

        ; 80386 PRM 10.3 / 14.4.1: set PE, then a far jump loads CS from the GDT.
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword SEL_CODE:L(pm32)

; ======================================================================================
; protected mode, CPL 0, 32-bit code: set-up
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

        ; IDT: every vector to an "unexpected" stub, then the monitor's entries.
        xor ebx, ebx
.idt:   lea eax, [L(stubs) + ebx * 8]
        mov dl, 0x8E                    ; present, DPL 0, 32-bit interrupt gate
        call set_gate
        inc ebx
        cmp ebx, IDT_VECS
        jb .idt
        mov eax, L(gp_monitor)
        mov ebx, 13
        mov dl, 0x8E
        call set_gate
        ; 80386 PRM 15.4 lists INT n, not INT 3 or INTO, as sensitive; those two go through
        ; the IDT, and as software interrupts at CPL 3 they need a gate with DPL 3 (9.6.1,
        ; INT n: "IF gate descriptor DPL < CPL THEN #GP").
        mov eax, L(gate3)
        mov ebx, 3
        mov dl, 0xEE                    ; DPL 3
        call set_gate
        mov eax, L(gate4)
        mov ebx, 4
        mov dl, 0xEE
        call set_gate
        lidt [L(idtr)]

        ; 386 TSS: ring-0 stack and the I/O permission bitmap (80386 PRM 7.2, 8.3.2).
        mov edi, TSS_AT
        xor eax, eax
        mov ecx, (TSS_LIMIT + 4) / 4
        rep stosd
        mov dword [TSS_AT + 4], RING0_SP ; ESP0
        mov dword [TSS_AT + 8], SEL_DATA ; SS0
        mov word [TSS_AT + 0x66], TSS_IOMAP
        mov edi, TSS_AT + TSS_IOMAP
        mov al, 0xFF                    ; every port denied ...
        mov ecx, 129                    ; ... 0-3FFh, plus the trailing FFh byte
        rep stosb
        and byte [TSS_AT + TSS_IOMAP + 0xE9 / 8], ~(1 << (0xE9 & 7)) & 0xFF ; but E9h
        and byte [TSS_AT + TSS_IOMAP + 0xF4 / 8], ~(1 << (0xF4 & 7)) & 0xFF ; and F4h
        mov ax, SEL_TSS
        ltr ax

        ; The monitor's state: virtual IF = 1, nothing pending.
        mov dword [VIF], 0x200
        xor eax, eax
        mov [PENDING], eax
        mov [GP_COUNT], eax
        mov [GP_CODES], eax
        mov [BAD_FRAME], eax
        mov [GATE3], eax
        mov [GATE4], eax

        ; Enter V86 mode with IRETD, VM = 1 (80386 PRM 15.3.2): IOPL 0 and the real IF 1.
        push dword 0                    ; GS
        push dword 0                    ; FS
        push dword 0                    ; DS
        push dword 0                    ; ES
        push dword 0                    ; SS
        push dword V86_SP               ; ESP
        push dword 0x00020202           ; EFLAGS: VM, IOPL 0, IF 1
        push dword 0xF000               ; CS
        push dword v86_code             ; EIP
        iretd

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

; ======================================================================================
; the V86 monitor (CPL 0)
; ======================================================================================

; #GP from V86 mode (80386 PRM 15.3.2: the processor pushes GS FS DS ES SS ESP EFLAGS CS
; EIP and the error code on the ring-0 stack and loads DS ES FS GS with null selectors).
; The saved EIP is the faulting instruction's (9.8.13), so the monitor decodes it.
gp_monitor:
        pushad
        mov ax, SEL_DATA
        mov ds, ax
        mov es, ax
        mov ebp, esp
        inc dword [GP_COUNT]
        mov eax, [ebp + F_CODE]
        or [GP_CODES], eax
        call check_frame
        ; the faulting instruction at linear CS * 16 + IP (15.1.2)
        movzx esi, word [ebp + F_CS]
        shl esi, 4
        movzx eax, word [ebp + F_EIP]
        add esi, eax
        mov al, [esi]
        cmp al, 0xCD
        je .intn
        cmp al, 0xCF
        je .iret
        cmp al, 0x9C
        je .pushf
        cmp al, 0x9D
        je .popf
        cmp al, 0xFA
        je .cli
        cmp al, 0xFB
        je .sti
        cmp al, 0xE6
        je .out
        cmp al, 0xCC
        je .int3
        cmp al, 0xCE
        je .into
        jmp .bad

        ; 15.4.1: INT n is reflected to the 8086 handler: FLAGS, CS, IP of the next
        ; instruction onto the V86 stack, CS:IP from the vector table.
.intn:  movzx ebx, byte [esi + 1]
        add word [ebp + F_EIP], 2
        call reflect
        jmp .done

        ; 15.4 / 15.4.2: IRET pops IP, CS and FLAGS; IF becomes the virtual IF.
.iret:  call v86_pop
        movzx eax, ax
        mov [ebp + F_EIP], eax
        call v86_pop
        movzx eax, ax
        mov [ebp + F_CS], eax
        call v86_pop
        call load_flags
        call deliver
        jmp .done

        ; 15.4.2: PUSHF pushes the virtual flags image.
.pushf: call flags_image
        call v86_push
        inc word [ebp + F_EIP]
        jmp .done

        ; 15.4.2: POPF loads the arithmetic flags, IF goes to the virtual IF.
.popf:  call v86_pop
        call load_flags
        inc word [ebp + F_EIP]
        call deliver
        jmp .done

        ; 15.4 / 15.4.2: CLI and STI change only the virtual IF.
.cli:   mov dword [VIF], 0
        inc word [ebp + F_EIP]
        jmp .done
.sti:   mov dword [VIF], 0x200
        inc word [ebp + F_EIP]
        call deliver
        jmp .done

        ; 15.5: OUT imm8,AL to a port denied by the I/O bitmap traps; OUT 80h is the
        ; V86 task's request for a simulated hardware interrupt (vector 61h).
.out:   cmp byte [esi + 1], 0x80
        jne .bad
        add word [ebp + F_EIP], 2
        mov dword [PENDING], 1
        call deliver
        jmp .done

        ; A CPU that (unlike 15.4's list) makes INT3 and INTO sensitive ends up here; the
        ; monitor reflects them all the same, and the V86 task's checks (which count the
        ; gate entries) tell the two paths apart.
.int3:  mov ebx, 3
        inc word [ebp + F_EIP]
        call reflect
        jmp .done
.into:  inc word [ebp + F_EIP]
        test dword [ebp + F_EFL], 0x800 ; OF
        jz .done
        mov ebx, 4
        call reflect
        jmp .done

.done:  popad
        add esp, 4                      ; the error code
        iretd

.bad:   popad
        push byte 13
        jmp unexpected

; INT 3 (CC) and INTO (CE) through their DPL-3 gates: no error code, EIP is the next
; instruction (9.8.3, 9.8.4); reflected to the V86 task's vectors 3 and 4.
gate3:  push byte 0
        pushad
        mov ebx, 3
        mov eax, GATE3
        jmp gate_common
gate4:  push byte 0
        pushad
        mov ebx, 4
        mov eax, GATE4
gate_common:
        mov cx, SEL_DATA
        mov ds, cx
        mov es, cx
        mov ebp, esp
        inc dword [eax]
        test dword [ebp + F_EFL], 0x20000
        jz .bad
        call check_frame
        call reflect
        popad
        add esp, 4
        iretd
.bad:   popad
        add esp, 4
        push ebx
        jmp unexpected

; Counts a frame that is not V86 (VM = 0) or has the real IF = 0 (the monitor never lets
; V86 code clear the real IF), and keeps the EFLAGS image.
check_frame:
        mov eax, [ebp + F_EFL]
        mov [LAST_EFL], eax
        and eax, 0x20200
        cmp eax, 0x20200
        je .ok
        inc dword [BAD_FRAME]
.ok:    ret

; Delivers the held simulated interrupt 61h if the virtual IF is 1 (as a hardware
; interrupt, between instructions: the return address is the frame's CS:IP).
deliver:
        cmp dword [PENDING], 0
        je .no
        cmp dword [VIF], 0
        je .no
        mov dword [PENDING], 0
        mov ebx, 0x61
        call reflect
.no:    ret

; Reflects interrupt EBX into V86 mode (15.4.1; the 8086 INT sequence): push the virtual
; FLAGS, CS and IP (the frame's CS:IP, already the return address) onto the V86 stack,
; clear the virtual IF and TF, load CS:IP from the vector at linear EBX * 4.
reflect:
        call flags_image
        call v86_push
        mov ax, [ebp + F_CS]
        call v86_push
        mov ax, [ebp + F_EIP]
        call v86_push
        mov dword [VIF], 0
        and dword [ebp + F_EFL], ~0x100 ; TF
        movzx eax, word [ebx * 4]
        mov [ebp + F_EIP], eax
        movzx eax, word [ebx * 4 + 2]
        mov [ebp + F_CS], eax
        ret

; AX := the V86 task's FLAGS as it should see them: the real low 16 bits with IF replaced
; by the virtual IF.
flags_image:
        mov eax, [ebp + F_EFL]
        and eax, 0xFDFF
        or eax, [VIF]
        ret

; EFLAGS in the frame := the popped word AX for CF PF AF ZF SF TF DF OF; IOPL, VM and the
; real IF are kept (15.4.2); the virtual IF := the popped IF.
load_flags:
        movzx eax, ax
        mov ecx, eax
        and ecx, 0x200
        mov [VIF], ecx
        and eax, 0x0DD5
        and dword [ebp + F_EFL], ~0x0DD5
        or [ebp + F_EFL], eax
        ret

; Pushes AX onto the V86 stack (SS:SP from the frame, 16-bit SP).
v86_push:
        sub word [ebp + F_ESP], 2
        movzx edi, word [ebp + F_SS]
        shl edi, 4
        movzx ecx, word [ebp + F_ESP]
        mov [edi + ecx], ax
        ret

; Pops AX from the V86 stack.
v86_pop:
        movzx edi, word [ebp + F_SS]
        shl edi, 4
        movzx ecx, word [ebp + F_ESP]
        mov ax, [edi + ecx]
        add word [ebp + F_ESP], 2
        ret

; Writes the NUL-terminated string at DS:ESI to port E9h.
print32:
        lodsb
        test al, al
        jz .done
        out 0xE9, al
        jmp print32
.done:  ret

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
; the virtual-8086 task (CS = F000h, DS = ES = SS = 0, SP = 6800h), IOPL 0
; ======================================================================================
        bits 16
v86_code:
        mov si, msg_v86
        call print
        ; its own interrupt vectors (the 8086 vector table at linear 0)
        mov word [0x60 * 4], v86_int60
        mov [0x60 * 4 + 2], cs
        mov word [0x61 * 4], v86_int61
        mov [0x61 * 4 + 2], cs
        mov word [3 * 4], v86_int3
        mov [3 * 4 + 2], cs
        mov word [4 * 4], v86_int4
        mov [4 * 4 + 2], cs

        ; ----- 1. INT 60h at IOPL 0: #GP(0), reflected through IVT[60h] (15.4, 15.4.1) -----
        mov word [MARK60], 0
        mov [SP_BEFORE], sp
        mov ax, 0x1234
        stc
v86_int60_at:
        int 0x60
v86_after60:
        mov [SP_AFTER], sp
        mov [AX_AFTER], ax

        mov bl, 1
        EQW [MARK60], 0x6060
        EQD [GP_COUNT], 3               ; INT 60h, the handler's PUSHF and IRET
        EQD [GP_CODES], 0
        mov al, bl
        mov si, msg_int60
        call report

        ; The 8086 INT frame on the V86 stack: IP of the next instruction, CS, FLAGS with
        ; IF = 1 (the virtual IF), TF = 0, CF = 1 (set by STC), IOPL 0.
        mov bl, 1
        EQW [SEEN_IP], v86_after60
        EQW [SEEN_CS], 0xF000
        mov ax, [SEEN_FL]
        and ax, 0x3301
        cmp ax, 0x0201
        je .fl
        mov bl, 0
        movzx edx, word [SEEN_FL]
.fl:    mov al, bl
        mov si, msg_frame
        call report

        ; Interrupts "off" in the handler: its PUSHF shows IF = 0 and TF = 0.
        mov bl, 1
        mov ax, [H_FL]
        and ax, 0x0300
        jz .hif
        mov bl, 0
        movzx edx, word [H_FL]
.hif:   mov al, bl
        mov si, msg_hif
        call report

        ; ----- 2. IRET at IOPL 0: #GP(0), emulated (15.4) -----
        mov bl, 1
        mov ax, [SP_BEFORE]
        cmp ax, [SP_AFTER]
        je .sp
        mov bl, 0
        movzx edx, word [SP_AFTER]
.sp:    EQW [AX_AFTER], 0x600D
        mov al, bl
        mov si, msg_iret
        call report

        ; The emulated IRET restored FLAGS: the virtual IF is 1 again.
        mov bl, 1
        pushf
        pop ax
        test ax, 0x0200
        jnz .if1
        mov bl, 0
        movzx edx, ax
.if1:   mov al, bl
        mov si, msg_iret_if
        call report

        ; ----- 3. CLI, STI, PUSHF, POPF at IOPL 0: #GP(0), emulated (15.4, 15.4.2) -----
        mov bl, 1
        mov dword [GP_COUNT], 0
        cli
        pushf
        pop ax
        test ax, 0x0200
        jz .c0
        mov bl, 0
        movzx edx, ax
.c0:    EQD [GP_COUNT], 2
        mov al, bl
        mov si, msg_cli
        call report

        ; The monitor's frame for that PUSHF (after the CLI) still has the real IF = 1.
        mov bl, 1
        mov eax, [LAST_EFL]
        and eax, 0x23200
        cmp eax, 0x20200                ; VM = 1, IOPL 0, IF = 1
        je .rif
        mov bl, 0
        mov edx, [LAST_EFL]
.rif:   mov al, bl
        mov si, msg_realif
        call report

        mov bl, 1
        sti
        pushf
        pop ax
        test ax, 0x0200
        jnz .s1
        mov bl, 0
        movzx edx, ax
.s1:    mov al, bl
        mov si, msg_sti
        call report

        ; POPF of IF = 0, CF = 1: the carry is loaded, the virtual IF cleared ...
        mov bl, 1
        push word 0x0001
        popf
        jc .cf1
        mov bl, 0
.cf1:   pushf
        pop ax
        and ax, 0x0201
        cmp ax, 0x0001
        je .pf1
        mov bl, 0
        movzx edx, ax
        ; ... and of IF = 1, CF = 0.
.pf1:   push word 0x0200
        popf
        jnc .cf0
        mov bl, 0
.cf0:   pushf
        pop ax
        and ax, 0x0201
        cmp ax, 0x0200
        je .pf2
        mov bl, 0
        movzx edx, ax
.pf2:   mov eax, [LAST_EFL]
        and eax, 0x20200
        cmp eax, 0x20200
        je .pf3
        mov bl, 0
        mov edx, [LAST_EFL]
.pf3:   mov al, bl
        mov si, msg_popf
        call report

        ; ----- 4. a simulated hardware interrupt reflected by the monitor -----
        ; OUT 80h (denied by the bitmap, 15.5) asks for interrupt 61h; with the virtual IF
        ; = 1 it is reflected at once, returning after the OUT.
        mov bl, 1
        mov word [CNT61], 0
        out 0x80, al
v86_after_out:
        EQW [CNT61], 1
        EQW [RET61], v86_after_out
        mov ax, [H61_FL]
        and ax, 0x0200
        jz .h61
        mov bl, 0
        movzx edx, word [H61_FL]
.h61:   mov al, bl
        mov si, msg_sim
        call report

        ; With the virtual IF = 0 the request is held; STI delivers it, returning after
        ; the STI.
        mov bl, 1
        cli
        out 0x80, al
        nop
        mov ax, [CNT61]
        mov [TMP], ax
        sti
v86_after_sti:
        EQW [TMP], 1
        EQW [CNT61], 2
        EQW [RET61], v86_after_sti
        mov al, bl
        mov si, msg_held
        call report

        ; INT 3 (one byte, CC): not sensitive (15.4), through the DPL-3 gate, reflected to
        ; IVT[3] with the return address after the CC.
        mov bl, 1
        mov dword [GP_COUNT], 0
        mov word [CNT3], 0
        int3
v86_after_int3:
        EQW [CNT3], 1
        EQW [RET3], v86_after_int3
        EQD [GATE3], 1
        EQD [GP_COUNT], 1               ; only the handler's IRET
        mov al, bl
        mov si, msg_int3
        call report

        ; INTO with OF = 1: likewise, through the gate for vector 4 to IVT[4].
        mov bl, 1
        mov dword [GP_COUNT], 0
        mov word [CNT4], 0
        mov al, 0x7F
        add al, 1                       ; OF = 1
        into
v86_after_into:
        EQW [CNT4], 1
        EQW [RET4], v86_after_into
        EQD [GATE4], 1
        EQD [GP_COUNT], 1
        mov al, bl
        mov si, msg_into
        call report

        ; INTO with OF = 0: no interrupt.
        mov bl, 1
        mov al, 1
        add al, 1                       ; OF = 0
        into
        EQW [CNT4], 1
        mov al, bl
        mov si, msg_into0
        call report

        ; Every monitor entry had VM = 1 and the real IF = 1 in its frame.
        mov bl, 1
        EQD [BAD_FRAME], 0
        EQD [GP_CODES], 0
        mov al, bl
        mov si, msg_frames
        call report

        mov si, msg_done
        call print
        mov ax, [FAILS]
        test ax, ax
        jz .exit
        mov al, 1
.exit:  out 0xF4, al                    ; exit status (port F4h open in the bitmap)
.hang:  jmp .hang

; ----- the V86 task's interrupt handlers -----

v86_int60:
        mov word [MARK60], 0x6060
        push bp
        mov bp, sp
        mov ax, [bp + 2]                ; IP
        mov [SEEN_IP], ax
        mov ax, [bp + 4]                ; CS
        mov [SEEN_CS], ax
        mov ax, [bp + 6]                ; FLAGS
        mov [SEEN_FL], ax
        pop bp
        pushf
        pop ax
        mov [H_FL], ax
        mov ax, 0x600D                  ; the result
        iret

v86_int61:
        push bp
        mov bp, sp
        push ax
        inc word [CNT61]
        mov ax, [bp + 2]
        mov [RET61], ax
        pushf
        pop ax
        mov [H61_FL], ax
        pop ax
        pop bp
        iret

v86_int3:
        push bp
        mov bp, sp
        push ax
        inc word [CNT3]
        mov ax, [bp + 2]
        mov [RET3], ax
        pop ax
        pop bp
        iret

v86_int4:
        push bp
        mov bp, sp
        push ax
        inc word [CNT4]
        mov ax, [bp + 2]
        mov [RET4], ax
        pop ax
        pop bp
        iret

; ----- 16-bit helpers (real and V86 mode) -----

%include "report16.inc"

gdtr:   dw gdt_end - gdt - 1
        dd GDT_AT

; 80386 PRM 5.1.1 / figure 5-3 (descriptor format), 6.3.1 (type and DPL).
        align 8
gdt:    dq 0
        dq 0x00CF9A000000FFFF           ; 08h: code, base 0, 4 GiB, D = 1, DPL 0
        dq 0x00CF92000000FFFF           ; 10h: data, base 0, 4 GiB, B = 1, DPL 0
        dw TSS_LIMIT, TSS_AT            ; 18h: available 386 TSS at 3000h
        db 0, 0x89, 0, 0
gdt_end:

msg_hello:  db "vexed v86mon ROM", 10, 0
msg_v86:    db "v86 task entered at IOPL 0, real IF 1", 10, 0
msg_int60:  db "v86 int 60h at IOPL 0: #GP(0), reflected to the handler in IVT[60h]: ", 0
msg_frame:  db "reflected frame on the v86 stack: IP after the int, CS, FLAGS IF=1 CF=1: ", 0
msg_hif:    db "v86 handler entered with the virtual IF and TF clear: ", 0
msg_iret:   db "v86 iret emulated: back after the int, SP restored, AX from the handler: ", 0
msg_iret_if: db "emulated iret restores the virtual IF: ", 0
msg_cli:    db "v86 cli emulated: pushf shows IF=0: ", 0
msg_realif: db "the monitor's frame keeps the real IF=1 after cli: ", 0
msg_sti:    db "v86 sti emulated: pushf shows IF=1: ", 0
msg_popf:   db "v86 popf emulated: CF loaded, IF to the virtual IF, real IF kept: ", 0
msg_sim:    db "monitor reflects a simulated interrupt 61h at once when IF=1: ", 0
msg_held:   db "a simulated interrupt is held while IF=0 and delivered at sti: ", 0
msg_int3:   db "v86 int3 through the DPL-3 gate, reflected to IVT[3], IP after the CC: ", 0
msg_into:   db "v86 into with OF=1 through the DPL-3 gate, reflected to IVT[4]: ", 0
msg_into0:  db "v86 into with OF=0: no interrupt: ", 0
msg_frames: db "every monitor frame had VM=1, real IF=1, error code 0: ", 0
msg_unexp:  db "unexpected interrupt: ", 0
msg_ok:     db "ok", 10, 0
msg_fail:   db "FAIL ", 0
msg_nl:     db 10, 0
msg_done:   db "done", 10, 0

        times 0xFFF0 - ($ - $$) db 0xFF
reset:  jmp 0xF000:start                ; FFFF:0000 = F000:FFF0
        times 0x10000 - ($ - $$) db 0xFF
