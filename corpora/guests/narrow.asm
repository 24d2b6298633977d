; narrow.asm - a lost update that needs an interrupt inside a window of two instruction
; boundaries (a DOS .COM program; a target for vexed's interrupt-timing schedule explorer).
;
; The model: a hardware interrupt handler and the main program share a counter. The
; handler (IRQ 3, vector 0Bh) increments it with one `inc word [cs:counter]`, which an
; interrupt cannot split on a single CPU. The main program increments it non-atomically,
; load / add / store, IMMEDIATELY after each XMS call (XMS 00h, get version: every call is
; an observation in vexed's trace, so the window sits at a fixed distance after one):
;
;       call far [xms_entry]        ; XMS 00h
;       mov ax,[cs:counter]         ; load       \  an IRQ 3 taken after the load and
;       inc ax                      ; add         > before the store is lost: the store
;       mov [cs:counter],ax         ; store      /  writes back the stale value + 1
;
; Between rounds a delay loop (500 x nop/nop/loop = 1500 instructions) makes the window
; small relative to the whole run, so only a search that aims interrupts at the ticks just
; after the XMS observations finds the bug quickly.
;
; Flow: detect the XMS driver (Int 2Fh AX=4300h -> AL=80h, AX=4310h -> ES:BX entry) as
; hma.asm does; hook Int 0Bh (old vector saved with Int 21h AH=35h, set with AH=25h);
; unmask IRQ 3 in the master 8259A's mask register (port 21h, bit 3) with IF=1; 64 rounds;
; restore the PIC mask and the vector; then counter must be 64 + the number of interrupts
; the handler took. Prints one line with the numbers in decimal. Exit code 0 when no update
; was lost, 1 when some were, 2 when there is no XMS driver.
;
; The unperturbed run raises no IRQ 3 at all (nothing on COM2/COM4 in the scenario), so it
; prints "narrow: 64 rounds, 0 interrupts, counter 64: ok".
;
; Assemble: nasm -f bin narrow.asm -o narrow.com

        cpu 386
        bits 16
        org 100h

ROUNDS      equ 64
DELAY       equ 500             ; delay-loop iterations between rounds (3 instructions each)
IRQ3_VEC    equ 0Bh             ; master 8259A, vector base 08h + IRQ 3
PIC1_CMD    equ 20h
PIC1_DATA   equ 21h             ; OCW1: the interrupt mask register
IRQ3_BIT    equ 08h
EOI         equ 20h             ; OCW2: non-specific end of interrupt

; Prints the '$' string %1.
%macro SAY 1
        mov dx,%1
        mov ah,09h
        int 21h
%endmacro

start:
        ; -- 1. Is an XMS driver there? --
        mov ax,4300h
        int 2Fh
        cmp al,80h
        je .found
        SAY s_no_xms
        mov ax,4C02h
        int 21h
.found:
        mov ax,4310h
        int 2Fh
        mov [xms_entry],bx
        mov [xms_entry+2],es
        push cs
        pop es

        ; -- 2. Hook IRQ 3 and unmask it --
        mov ax,3500h+IRQ3_VEC
        int 21h                 ; ES:BX = the old vector
        mov [old_vec],bx
        mov [old_vec+2],es
        push cs
        pop es
        mov dx,irq3
        mov ax,2500h+IRQ3_VEC
        int 21h                 ; DS:DX = our handler
        cli
        in al,PIC1_DATA
        mov [old_mask],al
        and al,~IRQ3_BIT
        out PIC1_DATA,al
        sti

        ; -- 3. The rounds --
        mov si,ROUNDS
round:
        mov ah,00h
        call far [cs:xms_entry] ; XMS 00h: the observation
        mov ax,[cs:counter]     ; the window opens after this load ...
        inc ax
        mov [cs:counter],ax     ; ... and closes with this store
        mov cx,DELAY
.delay:
        nop
        nop
        loop .delay
        dec si
        jnz round

        ; -- 4. Unhook: the old mask, then the old vector --
        cli
        mov al,[old_mask]
        out PIC1_DATA,al
        push ds
        lds dx,[old_vec]
        mov ax,2500h+IRQ3_VEC
        int 21h
        pop ds
        sti

        ; -- 5. counter == ROUNDS + irqs? --
        SAY s_head
        mov ax,[irqs]
        call print_dec
        SAY s_ints
        mov ax,[counter]
        call print_dec
        mov bx,[irqs]
        add bx,ROUNDS
        sub bx,[counter]        ; BX = updates lost
        jnz .lost
        SAY s_ok
        mov ax,4C00h
        int 21h
.lost:
        SAY s_colon
        mov ax,bx
        call print_dec
        mov dx,s_lost1
        cmp bx,1
        je .say
        mov dx,s_lost
.say:
        mov ah,09h
        int 21h
        mov ax,4C01h
        int 21h

; Prints AX as an unsigned decimal number (Int 21h AH=02h per digit); keeps BX.
print_dec:
        push bx
        mov bx,10
        xor cx,cx
.divide:
        xor dx,dx
        div bx
        push dx
        inc cx
        test ax,ax
        jnz .divide
.digit:
        pop dx
        add dl,'0'
        mov ah,02h
        int 21h
        loop .digit
        pop bx
        ret

; IRQ 3: count the interrupt twice (shared counter and own tally), EOI, return.
irq3:
        push ax
        inc word [cs:counter]
        inc word [cs:irqs]
        mov al,EOI
        out PIC1_CMD,al
        pop ax
        iret

; ----- data ---------------------------------------------------------------------------

xms_entry   dd 0
old_vec     dd 0
old_mask    db 0
            align 2
counter     dw 0                ; shared: the main program and the handler increment it
irqs        dw 0                ; the handler's own count of interrupts taken

s_head      db 'narrow: 64 rounds, $'
s_ints      db ' interrupts, counter $'
s_ok        db ': ok',13,10,'$'
s_colon     db ': $'
s_lost1     db ' update lost',13,10,'$'
s_lost      db ' updates lost',13,10,'$'
s_no_xms    db 'narrow: FAIL no XMS driver',13,10,'$'
