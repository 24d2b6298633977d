; child.com (run by dostest.exe) - a child process for EXEC tests: prints
; one line and exits with code 42 (Int 21h AH=4Ch), which the parent reads with AH=4Dh.
;
; Build: nasm -f bin -o child.com child.asm

        org 0x100
        mov dx, msg
        mov ah, 9
        int 0x21
        mov ax, 0x4C2A                  ; exit code 42
        int 0x21
msg     db 'child running', 13, 10, '$'
