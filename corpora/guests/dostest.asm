; dostest.exe - checks the DOS 5 services a TSR or memory manager leans on, as an MZ .EXE
; with relocations: the loader, the PSP and environment, the MCB arena, EXEC with a return
; code, vectors, InDOS, the version, and file handles. One line per check ("ok" or "FAIL"),
; exit code 0 when every check passed, 1 otherwise.
;
; Sources: RBIL INT 21 (functions 25h, 30h, 34h, 35h, 3Dh-42h, 48h-4Dh, 4Eh, 62h), tables
; #01378 (PSP) and #01379 (environment), #01594 (.EXE header); the MS-DOS Encyclopedia
; article 4 (relocation); ../../shared/reference/dos-memory.md sections 4.3 and 5.1.
;
; Build: nasm -f bin -o dostest.exe dostest.asm   (CHILD.COM comes from child.asm)

        bits 16
        cpu 386

; ---- MZ header (RBIL #01594) -------------------------------------------------------------
        section header progbits start=0
        db 'MZ'
        dw file_size % 512              ; bytes in the last page
        dw (file_size + 511) / 512      ; pages
        dw 2                            ; relocation entries
        dw header_size / 16             ; header size in paragraphs
        dw 0x0040                       ; minimum extra paragraphs (the stack lives there)
        dw 0xFFFF                       ; maximum extra paragraphs: all memory, like a linker
        dw image_paras                  ; SS, relative to the load segment
        dw 0x0400                       ; SP
        dw 0                            ; checksum (unused)
        dw start                        ; IP
        dw 0                            ; CS, relative to the load segment
        dw relocs                       ; offset of the relocation table
        dw 0                            ; overlay number
relocs:
        dw fix_cs + 1, 0                ; the immediate of "mov ax, 0" below
        dw far_ptr + 2, 0               ; the segment word of a far pointer
        align 16, db 0
header_size equ $ - $$

; ---- load module: offsets are relative to the load segment --------------------------------
        section image follows=header vstart=0
start:
        mov [cs:psp_seg], es            ; DS = ES = PSP at .EXE entry
fix_cs: mov ax, 0                       ; relocated: becomes the load segment
        mov ds, ax
        mov [load_seg], ax
        mov [cs:load_seg_cs], ax

        ; 1. relocation: the patched immediate equals CS (CS = load segment + 0).
        mov bx, cs
        cmp ax, bx
        call report
        db 'relocated immediate equals CS', 0

        ; 2. a relocated far pointer reaches its target.
        call far [far_ptr]
        cmp ax, 0x1234
        call report
        db 'far call through a relocated pointer', 0

        ; 3. PSP: INT 20h at PSP:0000, AH=62h returns it.
        mov es, [psp_seg]
        cmp word [es:0], 0x20CD
        call report
        db 'PSP starts with INT 20h', 0
        mov ah, 0x62
        int 0x21
        cmp bx, [psp_seg]
        call report
        db 'AH=62h returns the PSP', 0

        ; 4. Environment: strings, double NUL, WORD 1, then "C:\...\DOSTEST.EXE".
        mov es, [psp_seg]
        mov es, [es:0x2C]
        xor di, di
        xor al, al
        cld
.scan:  mov cx, 0x8000
        repne scasb                     ; past the end of one string
        cmp byte [es:di], 0
        jne .scan                       ; not yet the double NUL
        inc di
        cmp word [es:di], 1             ; the string count (dos-memory.md 4.3)
        call report
        db 'environment count word is 1', 0
        add di, 2
        cmp word [es:di], 'C:'
        call report
        db 'program path is fully qualified', 0
        ; find the end of the path and compare its last 11 characters
        mov si, di
        mov cx, 128
        repne scasb
        sub di, 12                      ; back over NUL and "DOSTEST.EXE"
        mov si, exe_name
        mov cx, 11
        repe cmpsb
        call report
        db 'program path names DOSTEST.EXE', 0

        ; 5. Version 5.00 (AL major, AH minor).
        mov ax, 0x3000
        int 0x21
        cmp ax, 0x0005
        call report
        db 'AH=30h reports DOS 5.00', 0

        ; 6. InDOS is 0 outside DOS; the critical-error flag (the byte before it) too.
        mov ah, 0x34
        int 0x21
        cmp word [es:bx-1], 0
        call report
        db 'InDOS and critical-error flag are 0 outside DOS', 0

        ; 7. Vectors: set 60h, read it back, call it, restore.
        mov ax, 0x3560
        int 0x21
        mov [old60], bx
        mov [old60+2], es
        mov ax, 0x2560
        mov dx, int60
        push ds
        push cs
        pop ds
        int 0x21
        pop ds
        mov ax, 0x3560
        int 0x21
        mov ax, es
        mov cx, cs
        cmp ax, cx
        jne .v
        cmp bx, int60
.v:     call report
        db 'AH=25h/35h set and get vector 60h', 0
        xor ax, ax
        int 0x60
        cmp ax, 0x6060
        call report
        db 'INT 60h reaches the new handler', 0
        push ds
        mov dx, [old60]
        mov ds, [old60+2]
        mov ax, 0x2560
        int 0x21
        pop ds

        ; 8. Memory: shrink to what we use, allocate, fail a huge request, free.
        mov es, [psp_seg]
        mov bx, end_paras               ; PSP + image + stack
        mov ah, 0x4A
        int 0x21
        setnc al
        cmp al, 1
        call report
        db 'AH=4Ah shrinks the program block', 0
        mov bx, 0x100
        mov ah, 0x48
        int 0x21
        mov [block], ax
        setnc al
        cmp al, 1
        call report
        db 'AH=48h allocates 4 KB', 0
        mov bx, 0xFFFF
        mov ah, 0x48
        int 0x21
        jnc .m1
        cmp ax, 8                       ; insufficient memory, BX = largest block
        jne .m1
        cmp bx, 0x100
        jb .m1
        cmp ax, ax
.m1:    call report
        db 'AH=48h FFFFh fails with 08h and the largest size', 0
        mov es, [block]
        mov ah, 0x49
        int 0x21
        setnc al
        cmp al, 1
        call report
        db 'AH=49h frees the block', 0
        mov ax, [psp_seg]
        add ax, 2                       ; not the start of a block: no MCB there
        mov es, ax
        mov ah, 0x49
        int 0x21
        jnc .m2
        cmp ax, 9
.m2:    call report
        db 'AH=49h on a non-block fails with 09h', 0

        ; 9. EXEC: run CHILD.COM, which exits with code 42; AH=4Dh returns it.
        mov [pb_tail+2], ds
        mov [pb_fcb1+2], ds
        mov [pb_fcb2+2], ds
        mov [save_ss], ss
        mov [save_sp], sp
        push ds
        pop es
        mov bx, param_block
        mov dx, child_name
        mov ax, 0x4B00
        int 0x21
        mov ds, [cs:load_seg_cs]        ; registers are not preserved across EXEC
        mov ss, [save_ss]
        mov sp, [save_sp]
        setnc al
        cmp al, 1
        call report
        db 'AH=4Bh runs CHILD.COM', 0
        mov ah, 0x4D
        int 0x21
        cmp ax, 42                      ; AH = 0 (normal end), AL = 42
        call report
        db 'AH=4Dh returns exit code 42', 0
        mov ax, 0x4B00
        mov dx, missing_name
        mov bx, param_block
        push ds
        pop es
        int 0x21
        jnc .e1
        cmp ax, 2
.e1:    call report
        db 'AH=4Bh on a missing file fails with 02h', 0

        ; 10. Files: open ourselves, read the signature, seek to the end.
        mov dx, exe_name
        mov ax, 0x3D00
        int 0x21
        mov [handle], ax
        setnc al
        cmp al, 1
        call report
        db 'AH=3Dh opens DOSTEST.EXE', 0
        mov bx, [handle]
        mov cx, 2
        mov dx, buffer
        mov ah, 0x3F
        int 0x21
        cmp word [buffer], 'MZ'
        call report
        db 'AH=3Fh reads the MZ signature', 0
        mov bx, [handle]
        mov ax, 0x4202
        xor cx, cx
        xor dx, dx
        int 0x21
        cmp ax, file_size
        jne .f1
        cmp dx, 0
.f1:    call report
        db 'AH=42h to the end gives the file size', 0
        mov bx, [handle]
        mov ah, 0x3E
        int 0x21
        setnc al
        cmp al, 1
        call report
        db 'AH=3Eh closes it', 0
        mov bx, [handle]
        mov ah, 0x3E
        int 0x21
        jnc .f2
        cmp ax, 6
.f2:    call report
        db 'closing it again fails with 06h', 0
        mov ah, 0x1A
        mov dx, dta
        int 0x21
        mov ah, 0x4E
        mov cx, 0
        mov dx, pattern
        int 0x21
        jc .f3
        cmp word [dta+0x1A], child_size ; size of the match (CHILD.COM is the only CHILD*.COM)
.f3:    call report
        db 'AH=4Eh finds CHILD*.COM with its size', 0

        ; Summary and exit code.
        mov dx, msg_all_ok
        cmp byte [failed], 0
        je .done
        mov dx, msg_some_failed
.done:  mov ah, 9
        int 0x21
        mov al, [failed]
        mov ah, 0x4C
        int 0x21

; Prints "ok   <text>" or "FAIL <text>" for ZF (set = pass); the text follows the CALL.
report:
        pushf
        push si
        push ax
        push dx
        push bx
        mov bx, sp
        mov si, [ss:bx+10]              ; return address = the text
        mov dx, msg_ok
        jz .pass
        mov byte [failed], 1
        mov dx, msg_fail
.pass:  mov ah, 9
        int 0x21
.text:  mov dl, [cs:si]
        inc si
        or dl, dl
        jz .end
        mov ah, 2
        int 0x21
        jmp .text
.end:   mov dx, msg_crlf
        mov ah, 9
        int 0x21
        mov bx, sp
        mov [ss:bx+10], si              ; return past the text
        pop bx
        pop dx
        pop ax
        pop si
        popf
        ret

far_target:
        mov ax, 0x1234
        retf

int60:  mov ax, 0x6060
        iret

load_seg_cs: dw 0                       ; written below, read with CS after EXEC
psp_seg dw 0
load_seg dw 0
failed  db 0
old60   dd 0
block   dw 0
handle  dw 0
save_ss dw 0
save_sp dw 0
far_ptr dw far_target, 0                ; segment relocated
exe_name db 'DOSTEST.EXE', 0
child_name db 'CHILD.COM', 0
missing_name db 'MISSING.COM', 0
pattern db 'CHILD*.COM', 0
param_block:
        dw 0                            ; environment: a copy of ours
pb_tail dw tail, 0
pb_fcb1 dw fcb, 0
pb_fcb2 dw fcb, 0
tail    db 0, 13
fcb     db 0, '           ', 0, 0, 0, 0
msg_ok  db 'ok   $'
msg_fail db 'FAIL $'
msg_crlf db 13, 10, '$'
msg_all_ok db 'all DOS checks passed', 13, 10, '$'
msg_some_failed db 'some DOS checks FAILED', 13, 10, '$'
buffer  times 4 db 0
dta     times 43 db 0
        align 16, db 0
image_end:

image_paras equ (image_end - start) / 16
end_paras equ 0x10 + image_paras + 0x40
file_size equ header_size + (image_end - start)
child_size equ 28                       ; bytes of CHILD.COM (child.asm)
