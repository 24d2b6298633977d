; loop.com - the CPU benchmark loop of corpora/guests/cpuloop.asm as a DOS program, for
; recording: 1,000 x 65,536 iterations of the same 11-instruction body (720,896,000
; instructions), no input, then it prints the checksum words it computed and exits with
; code 0. Under the virtual clock the only nondeterminism is none at all, so its trace is
; the header, the checkpoints and a handful of observations.
;
; Assemble: nasm -f bin -o loop.com loop.asm

%include "cpuloop.inc"

        bits 16
        org 0x100

start:
        xor bx, bx              ; a defined start, whatever the loader left
        xor dx, dx
        xor di, di
        xor si, si
        CPULOOP_BODY

        ; Print DX and DI (the loop's checksums) in hex, then exit 0.
        mov ax, dx
        call hex4
        mov ax, di
        call hex4
        mov dx, crlf
        mov ah, 9
        int 0x21
        mov ax, 0x4C00
        int 0x21

; Prints AX as four hex digits and a space.
hex4:   mov cx, 4
.digit: rol ax, 4
        push ax
        and al, 0x0F
        add al, '0'
        cmp al, '9'
        jbe .out
        add al, 'A' - '0' - 10
.out:   mov dl, al
        mov ah, 2
        int 0x21
        pop ax
        loop .digit
        mov dl, ' '
        mov ah, 2
        int 0x21
        ret

crlf    db 13, 10, '$'

        CPULOOP_DATA
