; doshigh.asm - what a program sees of DOS loaded high (CONFIG.SYS DOS=HIGH), a DOS .COM
; program. Each line it prints is one check, from these documents:
;
;   Int 21h AX=3306h   DH bit 4 = DOS is in the HMA (MS-DOS Programmer's Reference,
;                      function 3306h; RBIL INT 21/AX=3306h)
;   XMS 01h            DOS owns the HMA: a program's request fails with BL=91h, "HMA already
;                      in use" (XMS 3.0; reference dos-memory.md 1.6)
;   XMS 07h            A20 is on while DOS is high (dos-memory.md 1.8)
;   Int 2Fh AX=4A01h   BX bytes free in the HMA at ES:DI, ES = FFFFh, the space running to
;                      the HMA's end (RBIL INT 2F/AX=4A01h)
;   Int 2Fh AX=4A02h   BX bytes allocated at ES:DI, BX rounded up to a paragraph (DOS 5.0 and
;                      6.0, RBIL INT 2F/AX=4A02h); a second 4A01h shows the free space moved
;                      past it; the block holds what is written to it, apart from low memory
;   PSP:0005           the CP/M entry's far call reaches 1000C0h, which with A20 on is the
;                      HMA, where DOS mirrors its jump (dos-memory.md 1.8): CL=02h prints DL
;
; With DOS low (no XMS driver, or no DOS=HIGH) it prints "DOS is low" and 4A01h's answer
; (BX = 0, ES:DI = FFFF:FFFF) and exits with code 0 as well: the scenario's expected
; console says which was meant. Any check that fails prints FAIL and exits with code 1.
;
; Assemble: nasm -f bin doshigh.asm -o doshigh.com

        cpu 286
        bits 16
        org 100h

ALLOC_ASK   equ 100             ; bytes asked of 4A02h; DOS 5 gives 112 (7 paragraphs)

%macro SAY 1
        mov dx,%1
        mov ah,09h
        int 21h
%endmacro

start:
        mov ax,3306h
        int 21h
        test dh,10h
        jnz high
        SAY s_low
        mov ax,4A01h
        int 2Fh
        test bx,bx
        jnz fail
        cmp di,0FFFFh
        jne fail
        mov ax,es
        cmp ax,0FFFFh
        jne fail
        SAY s_low_4a01
        mov ax,4C00h
        int 21h

high:
        SAY s_high
        ; -- XMS: the HMA is DOS's, A20 is on --
        mov ax,4300h
        int 2Fh
        cmp al,80h
        jne fail
        mov ax,4310h
        int 2Fh
        mov [xms_entry],bx
        mov [xms_entry+2],es
        push cs
        pop es
        mov ah,01h
        mov dx,0FFFFh
        call far [xms_entry]
        test ax,ax
        jnz fail
        cmp bl,91h
        jne fail
        SAY s_hma_used
        mov ah,07h
        call far [xms_entry]
        cmp ax,1
        jne fail
        SAY s_a20

        ; -- 4A01h: free space at FFFF:DI, BX bytes, up to FFFF:FFFF --
        mov ax,4A01h
        int 2Fh
        mov ax,es
        cmp ax,0FFFFh
        jne fail
        test bx,bx
        jz fail
        mov ax,di
        add ax,bx               ; DI + BX = 10000h: the free space ends with the HMA
        jnz fail
        mov [free1],bx
        mov [at1],di
        push cs
        pop es
        SAY s_free

        ; -- 4A02h: 100 bytes become 112, at the place 4A01h named --
        mov ax,4A02h
        mov bx,ALLOC_ASK
        int 2Fh
        cmp bx,(ALLOC_ASK + 15) & 0FFF0h
        jne fail
        mov ax,es
        cmp ax,0FFFFh
        jne fail
        cmp di,[at1]
        jne fail
        ; The block holds the complement of the word 1 MB below it, and that word does
        ; not change: the two are different memory (with A20 off they would be one).
        push ds
        mov ax,0
        mov ds,ax
        mov si,di
        sub si,10h              ; 0000:(DI-10h) is the same linear address minus 1 MB
        mov cx,[si]
        mov ax,cx
        not ax
        mov [es:di],ax
        cmp cx,[si]
        pop ds
        jne fail
        cmp ax,[es:di]
        jne fail
        push cs
        pop es
        SAY s_alloc

        ; -- 4A01h again: the free space starts after the block --
        mov ax,4A01h
        int 2Fh
        mov ax,[at1]
        add ax,(ALLOC_ASK + 15) & 0FFF0h
        cmp di,ax
        jne fail
        mov ax,[free1]
        sub ax,(ALLOC_ASK + 15) & 0FFF0h
        cmp bx,ax
        jne fail
        push cs
        pop es
        SAY s_free2

        ; -- CALL 5 through the HMA mirror: CL=02h prints DL --
        SAY s_call5
        mov cl,02h
        mov dl,'*'
        call 0005h
        SAY s_crlf

        mov ax,4C00h
        int 21h

fail:
        push cs
        pop ds
        SAY s_fail
        mov ax,4C01h
        int 21h

s_low       db "doshigh: DOS is low (3306h DH bit 4 clear)", 13, 10, "$"
s_low_4a01  db "doshigh: 4A01h: no HMA space (BX=0, ES:DI=FFFF:FFFF)", 13, 10, "$"
s_high      db "doshigh: DOS is in the HMA (3306h DH bit 4)", 13, 10, "$"
s_hma_used  db "doshigh: XMS 01h: HMA in use (BL=91h)", 13, 10, "$"
s_a20       db "doshigh: XMS 07h: A20 on", 13, 10, "$"
s_free      db "doshigh: 4A01h: free HMA space at FFFF:DI runs to FFFF:FFFF", 13, 10, "$"
s_alloc     db "doshigh: 4A02h: 100 bytes -> 112 at that place, holds data, no wrap", 13, 10, "$"
s_free2     db "doshigh: 4A01h: free space now starts after the block", 13, 10, "$"
s_call5     db "doshigh: CALL 5 through FFFF:00D0 prints: $"
s_crlf      db 13, 10, "$"
s_fail      db "doshigh: FAIL", 13, 10, "$"

xms_entry   dd 0
free1       dw 0
at1         dw 0
