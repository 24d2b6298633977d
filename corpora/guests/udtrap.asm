; udtrap.asm - the emulator trap is not an instruction for guest code (a DOS .COM program).
;
; vexed's firmware reaches Rust code through `FE 38 lo hi` in its own stubs. On a real
; 80286/80386 `FE 38` is group 4 (FEh) with reg = 7, an undefined encoding: the processor
; raises interrupt 6 (invalid opcode, #UD), a fault whose saved CS:IP is the first byte of
; the instruction (80286 PRM and 80386 PRM, "Interrupt 6 - Invalid Opcode"; 80386 PRM
; appendix A lists FE /2-/7 as unused). So a guest that writes the same four bytes in its
; own code must get #UD, not a firmware service.
;
; The program installs an Int 6 handler (Int 21h AH=25h) that records the saved CS:IP and
; resumes after the four bytes, then executes in its own code:
;   FE 38 06 05   service 0506h (the VMM's "exited" step)
;   FE 38 00 01   service 0100h (the BIOS's power-on self test)
;   FE 38 21 02   service 0221h (the DOS Int 21h entry, here with AH=4Ch: "exit")
; and prints one line each: "#UD at the FE byte" when the handler ran once with the saved
; CS:IP at the FE byte, otherwise what happened. Then it hooks Int 21h with a handler that
; far-jumps to the old vector (DOS's stub, whose trap must still work), prints through the
; hook, and restores both vectors. Exit code 0 when every check passed, 1 otherwise.
;
; Needs an 80286 or later (the 8086 has no #UD: FE /7 is an undocumented alias there).
;
; Assemble: nasm -f bin udtrap.asm -o udtrap.com

        cpu 286
        bits 16
        org 100h

; Prints the '$' string %1.
%macro SAY 1
        mov dx,%1
        mov ah,09h
        int 21h
%endmacro

; Executes the trap bytes FE 38 lo hi for service %1 at label %2 and checks the result.
%macro TRY 2
        mov word [expect],%2
        mov word [resume],%2 + 4
        mov byte [hits],0
        mov ax,4C00h            ; the exit function, should service 0221h run
%2:     db 0FEh, 38h, (%1) & 0FFh, (%1) >> 8
        call report
%endmacro

start:
        mov ax,3506h
        int 21h
        mov [old6],bx
        mov [old6+2],es
        mov dx,ud_handler
        mov ax,2506h
        int 21h

        SAY s_t1
        TRY 0506h, site1
        SAY s_t2
        TRY 0100h, site2
        SAY s_t3
        TRY 0221h, site3

        ; -- Int 21h hooked: the hook chains to DOS's own stub with a far jump --
        mov ax,3521h
        int 21h
        mov [old21],bx
        mov [old21+2],es
        mov dx,int21_hook
        mov ax,2521h
        int 21h
        SAY s_hook
        cmp byte [hooked],0
        jne .chained
        mov byte [failed],1
        SAY s_nohook
.chained:
        push ds
        lds dx,[old21]
        mov ax,2521h
        int 21h
        pop ds

        push ds
        lds dx,[old6]
        mov ax,2506h
        int 21h
        pop ds

        mov al,[failed]
        mov ah,4Ch
        int 21h

; After a TRY: prints what the Int 6 handler saw.
report:
        cmp byte [hits],1
        je .once
        mov byte [failed],1
        SAY s_no_ud
        ret
.once:
        mov ax,[got_ip]
        cmp ax,[expect]
        jne .wrong
        mov ax,[got_cs]
        mov bx,cs
        cmp ax,bx
        jne .wrong
        SAY s_ok
        ret
.wrong:
        mov byte [failed],1
        SAY s_wrong
        ret

; Int 6: record the saved CS:IP (the fault's return address) and resume after the trap.
ud_handler:
        push bp
        mov bp,sp
        push ax
        mov ax,[bp+2]
        mov [cs:got_ip],ax
        mov ax,[bp+4]
        mov [cs:got_cs],ax
        inc byte [cs:hits]
        mov ax,[cs:resume]
        mov [bp+2],ax
        mov [bp+4],cs
        pop ax
        pop bp
        iret

; Int 21h hook: count the call, chain to the old handler.
int21_hook:
        mov byte [cs:hooked],1
        jmp far [cs:old21]

s_t1     db 'FE 38 06 05: $'
s_t2     db 'FE 38 00 01: $'
s_t3     db 'FE 38 21 02: $'
s_ok     db '#UD at the FE byte', 13, 10, '$'
s_wrong  db '#UD with the wrong return address', 13, 10, '$'
s_no_ud  db 'no #UD', 13, 10, '$'
s_hook   db 'Int 21h hooked, chained to the old stub', 13, 10, '$'
s_nohook db 'the hook did not run', 13, 10, '$'

old6     dd 0
old21    dd 0
expect   dw 0
resume   dw 0
got_ip   dw 0
got_cs   dw 0
hits     db 0
hooked   db 0
failed   db 0
