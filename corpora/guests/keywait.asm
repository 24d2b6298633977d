; keywait.com - what a TSR sees while DOS waits for the keyboard: DOS raises InDOS for the
; whole Int 21h call and issues Int 28h (the idle interrupt) while it waits, so a TSR that
; hooks Int 28h may pop up then even though InDOS is 1 (dos-memory.md sections 4.5, 5.1).
; Reads a line with Int 21h AH=0Ah, then one key with Int 16h AH=00h, and checks that the
; BIOS tick count (Int 1Ah AH=00h) advanced while it waited. Prints what it saw; exit code 0
; when every check passed, 1 otherwise.
;
; Build: nasm -f bin -o keywait.com keywait.asm

        org 0x100
        cpu 386
        mov ah, 0x34                    ; InDOS address (ES:BX), cached as TSRs do
        int 0x21
        mov [indos], bx
        mov [indos+2], es
        mov ax, 0x3528                  ; hook Int 28h, keeping the old handler
        int 0x21
        mov [old28], bx
        mov [old28+2], es
        mov ax, 0x2528
        mov dx, int28
        int 0x21
        xor ah, ah                      ; ticks since midnight before waiting
        int 0x1A
        mov [ticks0], dx

        mov dx, msg_prompt
        mov ah, 9
        int 0x21
        mov dx, line                    ; buffered input: waits for keys and Enter
        mov ah, 0x0A
        int 0x21
        mov dx, msg_got
        mov ah, 9
        int 0x21
        xor bx, bx                      ; print the line as typed
        mov bl, [line+1]
        mov byte [line+2+bx], '$'
        mov dx, line+2
        mov ah, 9
        int 0x21
        mov dx, msg_crlf
        mov ah, 9
        int 0x21

        cmp word [calls28], 0
        setne al
        call check
        db 'Int 28h was called while DOS waited: $'
        cmp byte [max_indos], 1
        sete al
        call check
        db 'InDOS was 1 inside those Int 28h calls: $'

        mov dx, msg_key
        mov ah, 9
        int 0x21
        xor ah, ah                      ; BIOS: wait for one key
        int 0x16
        cmp ax, 0x011B                  ; Esc: scancode 01h, ASCII 1Bh
        sete al
        call check
        db 'Int 16h returned Esc as 011Bh: $'
        xor ah, ah
        int 0x1A
        cmp dx, [ticks0]
        setne al
        call check
        db 'the BIOS tick count advanced while waiting: $'

        push ds                         ; unhook Int 28h
        lds dx, [old28]
        mov ax, 0x2528
        int 0x21
        pop ds
        mov al, [failed]
        mov ah, 0x4C
        int 0x21

; Int 28h: count the call and remember the largest InDOS value seen.
int28:  push es
        push bx
        les bx, [cs:indos]
        mov bl, [es:bx]
        cmp bl, [cs:max_indos]
        jbe .keep
        mov [cs:max_indos], bl
.keep:  inc word [cs:calls28]
        pop bx
        pop es
        jmp far [cs:old28]

; Prints the '$'-terminated text after the CALL, then "yes" if AL = 1 (the check passed)
; or "no" (and remembers the failure).
check:  mov bl, al
        pop si                          ; the text
        mov dx, si
.find:  lodsb
        cmp al, '$'
        jne .find
        push si                         ; return past the text
        mov ah, 9
        int 0x21
        mov dx, msg_yes
        cmp bl, 1
        je .say
        mov dx, msg_no
        mov byte [failed], 1
.say:   mov ah, 9
        int 0x21
        ret

indos   dd 0
old28   dd 0
ticks0  dw 0
calls28 dw 0
max_indos db 0
failed  db 0
msg_prompt db 'Type a line: $'
msg_got db 13, 10, 'You typed: $'
msg_key db 'Press Esc: $'
msg_yes db 'yes', 13, 10, '$'
msg_no  db 'no', 13, 10, '$'
msg_crlf db 13, 10, '$'
line    db 40, 0
        times 41 db 0
