; pmode.asm - bare-ROM test of 80286 protected mode (runs on the 286 and 386 models),
; booted with `vexed boot`.
;
; A 64 KiB ROM image mapped at F0000h; the CPU starts at FFFF:0000 (the far jump at the
; end). In real mode it copies a GDT and builds an IDT in RAM, enters protected mode with
; LMSW and checks, one line per rule on the debug port E9h, what the Intel 80286
; Programmer's Reference Manual (1987) says of segment loads, protection faults and their
; error codes, privilege changes through RETF, interrupt gates and call gates (with
; parameter copy and the stack from the TSS), the I/O privilege level, LAR/LSL/VERR/VERW/
; ARPL, a task switch through CALL and IRET, #SS and #TS, a double fault, and a triple
; fault (shutdown, which the AT turns into a reset: the ROM starts again and finds its
; marker in RAM). The exit port F4h receives 0 if every check passed, 1 otherwise.
;
; Only 80286 instructions are used; every descriptor is a 286 one (the last word is 0).
;
; Assemble: nasm -f bin -o pmode.bin pmode.asm

        bits 16
        cpu 286
        org 0

; ----- memory map (physical) ------------------------------------------------------------
VARS    equ 0x0500                      ; variables (DS base 0)
IDT     equ 0x0800                      ; 42h gates
GDT     equ 0x1000
TESTSEG equ 0x3000                      ; 16-byte test data segment
TSS1    equ 0x5000                      ; the boot task's TSS
TSS2    equ 0x5100                      ; the second task's TSS
STACK0  equ 0x8000                      ; ring-0 stack top (SS = DATA0)
STACK3  equ 0x7000                      ; ring-3 stack top (SS = DATA3)
STACK2  equ 0x9000                      ; task 2's stack top

FAILS   equ VARS + 0                    ; word: failed checks
RECOVER equ VARS + 2                    ; word: where a fault handler resumes
LASTVEC equ VARS + 4                    ; word: vector of the last fault
LASTERR equ VARS + 6                    ; word: its error code
R3CS    equ VARS + 8                    ; ring 3: CS seen
FRAME   equ VARS + 0x10                 ; ring-0 handler: 5 words of the interrupt frame
GATEFR  equ VARS + 0x20                 ; call-gate target: SS, SP and 6 stack words
R3SP    equ VARS + 0x40                 ; ring 3: SP after RETF 4 came back
R3FL    equ VARS + 0x42                 ; ring 0: FLAGS inside the DPL-3 interrupt gate
PHASE   equ VARS + 0x44                 ; 1 = the next INT 40h ends ring 3
TRIPLE  equ VARS + 0x46                 ; 5A5Ah: the CPU reset after the triple fault

; ----- selectors ------------------------------------------------------------------------
CODE0   equ 0x08
DATA0   equ 0x10
GDTA    equ 0x18                        ; the GDT as data
TDATA   equ 0x20                        ; TESTSEG, limit 0Fh, accessed bit clear
LDTD    equ 0x28                        ; an LDT descriptor (a system segment)
NOTP    equ 0x30                        ; a data segment marked not present
RODATA  equ 0x38                        ; TESTSEG read-only
CODE3   equ 0x40
DATA3   equ 0x48
TSS1S   equ 0x50
GATE3   equ 0x58                        ; call gate, DPL 3, 2 word parameters -> gate_target
TSS2S   equ 0x60
NOTPSS  equ 0x68                        ; writable data, not present
SHORTTSS equ 0x70                       ; a 286 TSS descriptor with limit 20h
GDT_END equ 0x78

start:
        cli
        xor ax, ax
        mov ss, ax
        mov sp, STACK0
        mov ds, ax
        mov es, ax
        cmp word [TRIPLE], 0x5A5A       ; RAM survives the reset that follows a triple fault
        je after_triple
        mov word [FAILS], 0
        mov al, 0xFF                    ; mask every IRQ at both 8259As (OCW1)
        out 0x21, al
        out 0xA1, al
        mov si, msg_hello
        call print

        ; --- copy the GDT to RAM and zero both TSSs ---
        mov si, gdt_rom
        mov di, GDT
        mov cx, GDT_END / 2
        cs rep movsw
        mov di, TSS1
        mov cx, 0x100
        xor ax, ax
        rep stosw
        mov word [TSS1 + 2], STACK0     ; SP0  (80286 PRM figure 8-1)
        mov word [TSS1 + 4], DATA0      ; SS0
        ; Task 2 starts at task2 with its own stack; flags 0002h (IF clear).
        mov word [TSS2 + 14], task2     ; IP
        mov word [TSS2 + 16], 0x0002    ; FLAGS
        mov word [TSS2 + 26], STACK2    ; SP
        mov word [TSS2 + 34], DATA0     ; ES
        mov word [TSS2 + 36], CODE0     ; CS
        mov word [TSS2 + 38], DATA0     ; SS
        mov word [TSS2 + 40], DATA0     ; DS

        ; --- the IDT: every vector up to 41h a not-present gate, then the handlers ---
        mov di, IDT
        mov cx, 0x42 * 4
        xor ax, ax
        rep stosw
        mov bx, 8
        mov ax, fault08
        mov dl, 0x86                    ; present, DPL 0, 286 interrupt gate
        call set_gate
        mov bx, 10
        mov ax, fault10
        call set_gate
        mov bx, 11
        mov ax, fault11
        call set_gate
        mov bx, 12
        mov ax, fault12
        call set_gate
        mov bx, 13
        mov ax, fault13
        call set_gate
        mov bx, 0x40
        mov ax, int40
        mov dl, 0xE6                    ; present, DPL 3, 286 interrupt gate
        call set_gate
        mov bx, 0x41
        mov ax, int40
        mov dl, 0x86                    ; DPL 0: not reachable by INT from ring 3
        call set_gate

        lgdt [cs:gdtr]
        lidt [cs:idtr]
        smsw ax
        or ax, 1                        ; PE
        lmsw ax
        jmp CODE0:pm                    ; loads CS with a descriptor, flushes the queue

; set_gate: IDT entry BX -> CODE0:AX, access byte DL.
set_gate:
        shl bx, 3
        mov [IDT + bx], ax
        mov word [IDT + bx + 2], CODE0
        mov byte [IDT + bx + 4], 0
        mov [IDT + bx + 5], dl
        mov word [IDT + bx + 6], 0
        ret

pm:
        mov ax, DATA0
        mov ss, ax
        mov sp, STACK0
        mov ds, ax
        mov es, ax
        mov ax, TSS1S
        ltr ax                          ; 80286 PRM LTR: marks the TSS busy

        ; 1. PE is set and CS holds the descriptor's selector.
        mov si, msg_pe
        smsw ax
        and ax, 1
        mov bx, cs
        cmp bx, CODE0
        jne .f1
        cmp ax, 1
.f1:    call verdict

        ; 2. A segment load sets the accessed bit of its descriptor in memory (80286 PRM
        ;    6.3.1.1: "the 80286 sets the accessed bit when the descriptor is loaded").
        mov si, msg_accessed
        mov ax, GDTA
        mov es, ax
        mov bl, [es:TDATA + 5]          ; 92h in the ROM's copy: present, DPL 0, RW, A = 0
        mov ax, TDATA
        mov ds, ax
        mov bh, [es:TDATA + 5]
        mov ax, DATA0
        mov ds, ax
        cmp bx, 0x9392
        call verdict

        ; 3. Loading DS with a system descriptor: #GP with the selector as error code
        ;    (80286 PRM MOV/POP "#GP(selector) if ... not a data or readable code segment").
        mov si, msg_gp_sys
        mov ax, LDTD
        mov bx, 13
        mov dx, LDTD
        mov word [RECOVER], .a3
        call clear_fault
        mov ds, ax
.a3:    call expect_fault

        ; 4. A not-present data segment: #NP(selector) (80286 PRM 9.2, interrupt 11).
        mov si, msg_np
        mov ax, NOTP
        mov bx, 11
        mov dx, NOTP
        mov word [RECOVER], .a4
        call clear_fault
        mov ds, ax
.a4:    call expect_fault

        ; 5. An operand beyond the segment limit: #GP(0) (80286 PRM 9.2, interrupt 13).
        ;    TDATA's limit is 0Fh: offset 0Fh is the last byte, a word at 0Fh is beyond.
        mov si, msg_limit
        mov ax, TDATA
        mov es, ax
        mov byte [es:0x0F], 0x5A        ; the last byte: fine
        mov bx, 13
        xor dx, dx
        mov word [RECOVER], .a5
        call clear_fault
        mov word [es:0x0F], 0x1234
.a5:    call expect_fault

        ; 6. A write to a read-only data segment: #GP(0) (80286 PRM 6.4 type checks).
        mov si, msg_ro
        mov ax, RODATA
        mov es, ax
        mov al, [es:0x0F]               ; reading is allowed
        cmp al, 0x5A
        jne .f6
        mov bx, 13
        xor dx, dx
        mov word [RECOVER], .a6
        call clear_fault
        mov byte [es:0], 1
.a6:    call expect_fault
        jmp .n6
.f6:    call fail
.n6:

        ; 7. A null selector loads into ES; using it raises #GP(0) (80286 PRM 6.3.2.2).
        mov si, msg_null
        xor ax, ax
        mov es, ax
        mov bx, 13
        xor dx, dx
        mov word [RECOVER], .a7
        call clear_fault
        mov al, [es:0]
.a7:    call expect_fault

        ; 8. SS cannot be loaded with a null selector: #GP(0) (80286 PRM MOV SS).
        mov si, msg_ss_null
        xor ax, ax
        mov bx, 13
        xor dx, dx
        mov word [RECOVER], .a8
        call clear_fault
        mov ss, ax
.a8:    call expect_fault

        ; 9. LAR, LSL, VERR, VERW and ARPL (80286 PRM appendix B).
        mov si, msg_lar
        mov ax, TDATA
        lar bx, ax                      ; BH = access byte 93h (accessed since check 2)
        jnz .f9
        cmp bx, 0x9300
        jne .f9
        lsl bx, ax
        jnz .f9
        cmp bx, 0x000F
        jne .f9
        mov ax, GDT_END                 ; beyond the GDT's limit: ZF = 0, no fault
        lar bx, ax
        jz .f9
        mov ax, RODATA
        verr ax
        jnz .f9
        verw ax
        jz .f9
        mov ax, CODE3 | 3               ; DPL-3 code, not readable? (FAh: readable)
        verr ax
        jnz .f9
        mov ax, 0x0048
        mov bx, 0x0043
        arpl ax, bx                     ; RPL 0 < 3: becomes 3, ZF = 1
        jnz .f9
        cmp ax, 0x004B
        jne .f9
        arpl ax, bx                     ; already 3: ZF = 0
        jz .f9
        xor ax, ax
        jmp .v9
.f9:    mov ax, 1
.v9:    test ax, ax
        call verdict

        ; 10. Ring 3 through IRET to an outer level (80286 PRM 9.6.4 and IRET): the return
        ;     pops SS:SP too; DS holding DPL-0 data is then loaded with null. Ring 3 runs
        ;     with IF = 1 (every IRQ is masked at the 8259As).
        mov word [PHASE], 0
        push DATA3 | 3
        push STACK3
        push 0x0202
        push CODE3 | 3
        push ring3
        iret

        ; ----- ring 3 ---------------------------------------------------------------
ring3:
        mov ax, ds                      ; nulled by the return: selector 0
        mov bx, DATA3 | 3
        mov ds, bx
        mov [R3CS + 2], ax
        mov ax, cs
        mov [R3CS], ax
        ; INT 40h through a DPL-3 interrupt gate: to ring 0 on the TSS stack.
        int 0x40
.r1:
        ; INT 41h: its gate has DPL 0, so INT from ring 3 raises #GP(41h * 8 + 2).
        mov word [RECOVER], .b1
        call clear_fault3
        int 0x41
.b1:    mov ax, [LASTVEC]
        mov [VARS + 0x50], ax
        mov ax, [LASTERR]
        mov [VARS + 0x52], ax
        ; IN at CPL 3 with IOPL 0: #GP(0) (80286 PRM 10.3).
        mov word [RECOVER], .b2
        call clear_fault3
        in al, 0x60
.b2:    mov ax, [LASTVEC]
        mov [VARS + 0x54], ax
        mov ax, [LASTERR]
        mov [VARS + 0x56], ax
        ; CALL through a DPL-3 call gate with two word parameters (80286 PRM 7.3.2.1).
        push 0x1111
        push 0x2222
        call (GATE3 | 3):0
        mov [R3SP], sp                  ; RETF 4 released the parameters
        ; Leave ring 3 for good.
        mov word [PHASE], 1
        int 0x40

clear_fault3:
        mov word [LASTVEC], 0xFFFF
        mov word [LASTERR], 0xFFFF
        ret

        ; ----- ring 0 handlers -------------------------------------------------------
; INT 40h from ring 3: the frame is IP, CS, FLAGS, SP, SS (80286 PRM 9.4.3.1).
int40:
        push bp
        mov bp, sp
        push ds
        push ax
        mov ax, DATA0
        mov ds, ax
        cmp word [PHASE], 1
        je back_to_ring0
        mov ax, [bp + 2]
        mov [FRAME], ax
        mov ax, [bp + 4]
        mov [FRAME + 2], ax
        mov ax, [bp + 6]
        mov [FRAME + 4], ax
        mov ax, [bp + 8]
        mov [FRAME + 6], ax
        mov ax, [bp + 10]
        mov [FRAME + 8], ax
        mov ax, ss
        mov [FRAME + 10], ax
        lea ax, [bp + 2]
        mov [FRAME + 12], ax
        pushf
        pop ax
        mov [R3FL], ax
        pop ax
        pop ds
        pop bp
        iret

; The call gate's target, at ring 0: SS:SP from the TSS, then the copied frame
; (80286 PRM figure 7-6: IP, CS, the parameters, SP, SS of the caller).
gate_target:
        push ds
        push ax
        push bx
        mov ax, DATA0
        mov ds, ax
        mov ax, ss
        mov [GATEFR], ax
        mov bx, sp
        add bx, 6
        mov [GATEFR + 2], bx
        mov ax, [ss:bx]
        mov [GATEFR + 4], ax
        mov ax, [ss:bx + 2]
        mov [GATEFR + 6], ax
        mov ax, [ss:bx + 4]
        mov [GATEFR + 8], ax
        mov ax, [ss:bx + 6]
        mov [GATEFR + 10], ax
        mov ax, [ss:bx + 8]
        mov [GATEFR + 12], ax
        mov ax, [ss:bx + 10]
        mov [GATEFR + 14], ax
        pop bx
        pop ax
        pop ds
        retf 4

fault08:
        push ax
        mov ax, 8
        jmp fault_common
fault10:
        push ax
        mov ax, 10
        jmp fault_common
fault11:
        push ax
        mov ax, 11
        jmp fault_common
fault12:
        push ax
        mov ax, 12
        jmp fault_common
fault13:
        push ax
        mov ax, 13
; The stack holds AX, the error code, IP, CS, FLAGS (+ SP, SS from ring 3). Records the
; vector and code, resumes at [RECOVER] without the error code.
fault_common:
        push bp
        mov bp, sp
        push ds
        push bx
        mov bx, DATA0
        mov ds, bx
        mov [LASTVEC], ax
        mov ax, [bp + 4]
        mov [LASTERR], ax
        mov ax, [RECOVER]
        mov [bp + 6], ax
        pop bx
        pop ds
        pop bp
        pop ax
        add sp, 2
        iret

back_to_ring0:
        ; The final INT 40h from ring 3: continue at ring 0 on the ring-0 stack.
        mov sp, STACK0
        mov ax, DATA0
        mov ds, ax
        mov es, ax
        jmp ring0_again

ring0_again:
        ; 10 (cont.). RETF to ring 3 ran at CPL 3 and nulled DS.
        mov si, msg_ring3
        mov ax, [R3CS]
        cmp ax, CODE3 | 3
        jne .f10
        cmp word [R3CS + 2], 0
.f10:   call verdict

        ; 11. INT through a DPL-3 interrupt gate from ring 3: SS:SP from the TSS (SS0 =
        ;     DATA0, SP0 = 8000h), the frame IP, CS, FLAGS, SP, SS of ring 3, IF cleared
        ;     by an interrupt gate (80286 PRM 9.4.3.1).
        mov si, msg_int_gate
        cmp word [FRAME + 2], CODE3 | 3
        jne .f11
        cmp word [FRAME + 6], STACK3    ; ring 3's SP
        jne .f11
        cmp word [FRAME + 8], DATA3 | 3
        jne .f11
        cmp word [FRAME + 10], DATA0    ; SS in the handler
        jne .f11
        cmp word [FRAME + 12], STACK0 - 10
        jne .f11
        test word [FRAME + 4], 0x0200   ; ring 3's FLAGS: IF set
        jz .f11
        test word [R3FL], 0x0200        ; cleared in the handler
        jnz .f11
        cmp word [FRAME], ring3.r1      ; returns after the INT
.f11:   call verdict

        ; 12. INT to a DPL-0 gate from ring 3: #GP with error code 41h * 8 + 2 (IDT bit)
        ;     (80286 PRM 9.5 and INT: "#GP(vector * 8 + 2) if ... DPL < CPL").
        mov si, msg_int_dpl
        cmp word [VARS + 0x50], 13
        jne .f12
        cmp word [VARS + 0x52], 0x41 * 8 + 2
.f12:   call verdict

        ; 13. IN at CPL 3 > IOPL 0: #GP(0) (80286 PRM 10.3.1).
        mov si, msg_iopl
        cmp word [VARS + 0x54], 13
        jne .f13
        cmp word [VARS + 0x56], 0
.f13:   call verdict

        ; 14. The call gate: ring-0 stack from the TSS, parameters copied in order, the
        ;     caller's SS:SP above them, and RETF 4 back to ring 3 releasing both copies
        ;     (80286 PRM 7.3.2.2, figure 7-6).
        mov si, msg_call_gate
        cmp word [GATEFR], DATA0
        jne .f14
        cmp word [GATEFR + 2], STACK0 - 12
        jne .f14
        cmp word [GATEFR + 6], CODE3 | 3 ; return CS
        jne .f14
        cmp word [GATEFR + 8], 0x2222   ; the last parameter pushed is nearest
        jne .f14
        cmp word [GATEFR + 10], 0x1111
        jne .f14
        cmp word [GATEFR + 12], STACK3 - 4 ; the caller's SP after its two pushes
        jne .f14
        cmp word [GATEFR + 14], DATA3 | 3
        jne .f14
        cmp word [R3SP], STACK3
.f14:   call verdict

        ; 15. A task switch by CALL to a TSS (80286 PRM 8.4 and 8.5): the new task runs
        ;     with NT set, the back link naming the caller's TSS and its descriptor busy;
        ;     IRET returns to the caller's next instruction, clearing the busy bit, and
        ;     the switch set MSW.TS.
        mov si, msg_task
        clts
        mov word [VARS + 0x60], 0
        mov cx, 0x4321
        call TSS2S:0
        ; back in task 1
        cmp cx, 0x4321                  ; task 1's registers came back from its TSS
        jne .f15
        cmp word [VARS + 0x60], 0x0050  ; task 2 saw: back link
        jne .f15
        test word [VARS + 0x62], 0x4000 ; task 2 saw: NT
        jz .f15
        cmp byte [VARS + 0x64], 0x83    ; task 2 saw: its TSS busy (type 3)
        jne .f15
        mov ax, GDTA
        mov es, ax
        cmp byte [es:TSS2S + 5], 0x81   ; available again after IRET
        jne .f15
        smsw ax
        test ax, 8
        jz .f15
        str ax
        cmp ax, TSS1S
.f15:   call verdict

        ; 16. SS with a not-present writable data segment: #SS(selector), not #NP (80286
        ;     PRM MOV SS: "#SS(selector) if the segment is marked not present").
        mov si, msg_ss_np
        mov ax, NOTPSS
        mov bx, 12
        mov dx, NOTPSS
        mov word [RECOVER], .a16
        call clear_fault
        mov ss, ax
.a16:   call expect_fault

        ; 17. A task switch to a TSS whose limit is below 43 (2Bh): #TS(selector) (80286
        ;     PRM 8.4 and interrupt 10: "the TSS limit is less than 43").
        mov si, msg_ts
        mov bx, 10
        mov dx, SHORTTSS
        mov word [RECOVER], .a17
        call clear_fault
        call SHORTTSS:0
.a17:   call expect_fault

        ; 18. A #GP whose own gate is not present: the #NP while delivering it makes a
        ;     double fault, interrupt 8 with error code 0 (80286 PRM 9.5, interrupt 8: two
        ;     contributory exceptions).
        mov si, msg_df
        and byte [IDT + 13 * 8 + 5], 0x7F ; gate 13 not present
        mov ax, LDTD
        mov bx, 8
        xor dx, dx
        mov word [RECOVER], .a18
        call clear_fault
        mov ds, ax                      ; #GP(28h) -> #NP(13 * 8 + 2 + 1) -> #DF(0)
.a18:   or byte [IDT + 13 * 8 + 5], 0x80
        call expect_fault

        ; 19. A fault with no IDT at all: #GP, then a double fault, then the processor shuts
        ;     down (80286 PRM 9.5: "the processor enters shutdown"); the AT turns that into a
        ;     reset and the ROM starts again at FFFF:0000 with RAM intact.
        mov word [TRIPLE], 0x5A5A
        lidt [cs:idtr_none]
        int 3                           ; vector 3 beyond the IDT limit
        mov si, msg_no_reset            ; not reached when the CPU resets
        call print
        jmp finish

after_triple:
        mov word [TRIPLE], 0
        mov si, msg_triple
        smsw ax
        test ax, 1                      ; real mode again after the reset
        call verdict

finish:
        mov si, msg_done
        call print
        mov ax, [FAILS]
        test ax, ax
        jz .ok
        mov al, 1
.ok:    out 0xF4, al
        hlt

task2:
        mov ax, [TSS2]                  ; the back link
        mov [VARS + 0x60], ax
        pushf
        pop ax
        mov [VARS + 0x62], ax
        mov ax, GDTA
        mov es, ax
        mov al, [es:TSS2S + 5]
        mov [VARS + 0x64], al
        mov cx, 0x9999
        iret                            ; NT: back to task 1

; ----- helpers (ring 0) -----------------------------------------------------------------
clear_fault:
        mov word [LASTVEC], 0xFFFF
        mov word [LASTERR], 0xFFFF
        ret

; expect_fault: passes when the last fault had vector BX and error code DX.
expect_fault:
        push ax
        mov ax, DATA0
        mov ds, ax
        pop ax
        cmp [LASTVEC], bx
        jne .no
        cmp [LASTERR], dx
.no:    jmp verdict

; verdict: prints the message at CS:SI and "ok" when ZF is set, "FAIL" otherwise.
verdict:
        pushf
        call print
        popf
        jnz fail
        mov si, msg_ok
        jmp print
fail:
        inc word [FAILS]
        mov si, msg_fail
        jmp print

print:
        cs lodsb
        test al, al
        jz .done
        out 0xE9, al
        jmp print
.done:  ret

; ----- tables ---------------------------------------------------------------------------
gdtr:   dw GDT_END - 1
        dw GDT, 0
idtr:   dw 0x42 * 8 - 1
        dw IDT, 0
idtr_none:
        dw 0                            ; no whole gate fits
        dw IDT, 0

; desc base, limit, access: a 286 descriptor.
%macro desc 3
        dw %2
        dw (%1) & 0xFFFF
        db ((%1) >> 16) & 0xFF
        db %3
        dw 0
%endmacro

gdt_rom:
        dq 0                                    ; 00h null
        desc 0xF0000, 0xFFFF, 0x9A              ; 08h CODE0: ring-0 code, readable
        desc 0, 0xFFFF, 0x92                    ; 10h DATA0
        desc GDT, GDT_END - 1, 0x92             ; 18h GDTA
        desc TESTSEG, 0x000F, 0x92              ; 20h TDATA (accessed bit clear)
        desc 0x4000, 0x000F, 0x82               ; 28h an LDT descriptor
        desc TESTSEG, 0x000F, 0x12              ; 30h NOTP: P = 0
        desc TESTSEG, 0x000F, 0x90              ; 38h RODATA: read-only
        desc 0xF0000, 0xFFFF, 0xFA              ; 40h CODE3: ring-3 code, readable
        desc 0, 0xFFFF, 0xF2                    ; 48h DATA3: ring-3 data/stack
        desc TSS1, 43, 0x81                     ; 50h TSS1: 286 TSS, available
        dw gate_target, CODE0                   ; 58h GATE3: call gate, DPL 3, 2 words
        db 2, 0xE4
        dw 0
        desc TSS2, 43, 0x81                     ; 60h TSS2
        desc TESTSEG, 0x000F, 0x12              ; 68h NOTPSS: writable data, P = 0
        desc TSS2, 0x20, 0x81                   ; 70h SHORTTSS: limit 20h

msg_hello:     db "vexed protected-mode ROM", 10, 0
msg_pe:        db "lmsw sets PE, far jmp loads CS from the GDT: ", 0
msg_accessed:  db "segment load sets the accessed bit: ", 0
msg_gp_sys:    db "mov ds, system descriptor: #GP(sel): ", 0
msg_np:        db "mov ds, not-present segment: #NP(sel): ", 0
msg_limit:     db "word beyond the limit: #GP(0): ", 0
msg_ro:        db "write to read-only data: #GP(0): ", 0
msg_null:      db "access through a null selector: #GP(0): ", 0
msg_ss_null:   db "mov ss, null: #GP(0): ", 0
msg_lar:       db "lar, lsl, verr, verw, arpl: ", 0
msg_ring3:     db "iret to ring 3 nulls DS: ", 0
msg_int_gate:  db "int from ring 3 through a DPL-3 gate, stack from the TSS: ", 0
msg_int_dpl:   db "int from ring 3 to a DPL-0 gate: #GP(vector*8+2): ", 0
msg_iopl:      db "in at CPL 3 > IOPL: #GP(0): ", 0
msg_call_gate: db "call gate with 2 parameters, retf 4 back to ring 3: ", 0
msg_task:      db "task switch by call, iret with NT back: ", 0
msg_ss_np:     db "mov ss, not-present segment: #SS(sel): ", 0
msg_ts:        db "call to a TSS shorter than 44 bytes: #TS(sel): ", 0
msg_df:        db "#GP with its gate not present: double fault, error code 0: ", 0
msg_triple:    db "triple fault: shutdown, the CPU resets into real mode: ", 0
msg_no_reset:  db "triple fault: no reset: FAIL", 10, 0
msg_ok:        db "ok", 10, 0
msg_fail:      db "FAIL", 10, 0
msg_done:      db "done", 10, 0

        times 0xFFF0 - ($ - $$) db 0xFF
reset:  jmp 0xF000:start                ; FFFF:0000 = F000:FFF0
        times 0x10000 - ($ - $$) db 0xFF
