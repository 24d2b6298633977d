; wintsr.asm - a TSR that takes part in the Windows 3.1 start-up, TSR-identify and exit
; broadcasts of Int 2Fh AH=16h, and can refuse to let Windows start.
;
; Windows 3.x enhanced mode (dos-memory.md 4.1, 4.2, 4.4; RBIL INT 2F/1605h, 1606h, 1608h,
; 1609h, 160Bh, #02638) talks to TSRs loaded before it through the Int 2Fh chain:
;   1605h  startup broadcast, real mode, InDOS = 0. Every handler chains first; a handler
;          that returns CX <> 0 refuses to let Windows load and prints its own message;
;          Windows then sends the exit broadcast 1606h at once.
;   1608h  init complete: every VxD has initialized.
;   160Bh  (3.1) TSR identify: entry ES:DI = 0:0; each TSR chains first, puts the ES:DI the
;          chain returned in its structure's "next" field and returns ES:DI -> its
;          structure, so Windows can run a Windows-side companion for it (here: WinExec of
;          "C:\WINTSR.COM /POPUP", shown normally).
;   1609h  begin exit (normal exits only).
;   1606h  exit broadcast, back in real mode; DX bit 0 = 0 enhanced mode, 1 the 286 DOS
;          extender.
;
; TSR identify structure (RBIL #02638, dos-memory.md 4.4), 1Ch bytes:
;   +00h DWORD next structure (the ES:DI the chain returned)   +04h WORD PSP segment
;   +06h WORD API version 0100h      +08h WORD EXEC flags 0001h (bit 0 WINEXEC)
;   +0Ah WORD exec_cmd_show 0001h (SW_SHOWNORMAL)
;   +0Ch DWORD -> ASCIZ command line to execute, "C:\WINTSR.COM /POPUP"
;   +10h 4 BYTEs reserved, 0          +14h DWORD -> TSR ID block {WORD 6, "WINTSR"}
;   +18h DWORD -> TSR data block, 0:0 (none)
;
; Command line: empty, or "/V" (veto; "/v" too). Anything else: a usage line, exit code 1.
;
; The Int 2Fh handler (every printed line is one Int 21h AH=09h call through print_cs,
; which sets DS = CS and restores every register it uses, so the caller's registers are
; exactly as the chain returned them):
;   * AX=C100h (multiplex id C1h, installation check): AL=FFh, ES:DI -> the TSR ID block
;     {WORD 6, "WINTSR"}; other registers unchanged.
;   * AX=1605h: chains to the previous handler FIRST (PUSHF, CALL FAR, registers as
;     received). With /V it then prints
;       "WINTSR: Int 2Fh AX=1605h: refusing to let Windows start (CX=FFFFh)"
;     and returns CX=FFFFh; without /V it returns what the chain returned (CX included).
;     Both the enhanced-mode (DX bit 0 = 0) and the 286 DOS extender broadcast are treated
;     alike: a TSR that cannot run under Windows refuses either.
;   * AX=1606h: chains first, then prints
;       "WINTSR: Int 2Fh AX=1606h: Windows exit broadcast (DX=xxxxh)"
;     with the DX the broadcast arrived with.
;   * AX=1608h: chains first, then prints
;       "WINTSR: Int 2Fh AX=1608h: Windows initialization complete"
;   * AX=1609h: chains first, then prints
;       "WINTSR: Int 2Fh AX=1609h: Windows begins to exit"
;   * AX=160Bh: chains first (entry ES:DI = 0:0 from Windows), stores the returned ES:DI in
;     the structure's next field and returns ES:DI -> its structure, other registers as the
;     chain left them. Prints nothing.
;   * Anything else: jumps to the previous handler (JMP FAR), registers unchanged.
;
; Installation (prefix "WINTSR: "):
;   1. The command tail (PSP:80h) is parsed: empty or "/V".
;   2. Int 2Fh AX=C100h must come back with AL=00h (multiplex id C1h free). AL=FFh with
;      {WORD 6, "WINTSR"} at ES:DI means WINTSR is already resident; any other answer means
;      another program uses C1h. Both print a line and exit with code 1, nothing hooked.
;   3. The segment fields of the identify structure are set to CS (= the PSP), Int 2Fh is
;      hooked (Int 21h AH=35h/25h) and one line says which variant was installed:
;        "WINTSR: hooked Int 2Fh (1605h, 1606h, 1608h, 1609h, 160Bh); /V: will veto
;         Windows start"  or  "...; will let Windows start".
;   4. Int 21h AH=31h, AL=0: stays resident with the PSP, handler, structure and strings;
;      the installation code after resident_end is dropped. The environment is kept.
;
; Assemble: nasm -f bin wintsr.asm -o wintsr.com

        cpu 8086
        bits 16
        org 100h

MPX_AX   equ 0C100h             ; multiplex id C1h, function 00h: installation check

; Prints the '$'-terminated string %1 of the resident segment; every register is kept.
%macro PRINT 1
        push dx
        mov dx,%1
        call print_cs
        pop dx
%endmacro

start:
        jmp near init

; ----- resident part ----------------------------------------------------------------------

old_2f      dd 0                ; the previous Int 2Fh handler
veto        db 0                ; 1: /V, return CX=FFFFh from 1605h
exit_dx     dw 0                ; DX of the 1606h broadcast being handled

; TSR identify structure (RBIL #02638), 1Ch bytes
tsr_struct:
tsr_next        dd 0            ; +00h ES:DI returned by the chain (filled per call)
tsr_psp         dw 0            ; +04h our PSP (filled at install)
tsr_version     dw 0100h        ; +06h API version
tsr_exec_flags  dw 0001h        ; +08h bit 0: WINEXEC
tsr_cmd_show    dw 0001h        ; +0Ah SW_SHOWNORMAL
tsr_cmd_line    dw cmd_line, 0  ; +0Ch -> ASCIZ command line (segment filled at install)
tsr_reserved    dd 0            ; +10h
tsr_id_block    dw id_block, 0  ; +14h -> TSR ID block (segment filled at install)
tsr_data_block  dd 0            ; +18h no data block
TSR_STRUCT_SIZE equ $ - tsr_struct
%if TSR_STRUCT_SIZE != 1Ch
%error "TSR identify structure must be 1Ch bytes"
%endif

id_block    dw 6                ; TSR ID block: name length, name
            db 'WINTSR'
cmd_line    db 'C:\WINTSR.COM /POPUP',0

int2f_handler:
        cmp ax,MPX_AX
        je .ours
        cmp ax,1605h
        je .startup
        cmp ax,1606h
        je .exit
        cmp ax,1608h
        je .init_done
        cmp ax,1609h
        je .begin_exit
        cmp ax,160Bh
        je .identify
.chain:
        jmp far [cs:old_2f]

.ours:
        mov al,0FFh
        push cs
        pop es
        mov di,id_block
        iret

.startup:
        ; chain first with the caller's registers (CMP changed only the flags; the previous
        ; handler's IRET pops the flags PUSHF saves here)
        pushf
        call far [cs:old_2f]
        cmp byte [cs:veto],0
        je .done
        PRINT s_veto
        mov cx,0FFFFh           ; Windows must not start
.done:
        iret

.exit:
        mov [cs:exit_dx],dx
        pushf
        call far [cs:old_2f]
        call print_exit
        iret

.init_done:
        pushf
        call far [cs:old_2f]
        PRINT s_1608
        iret

.begin_exit:
        pushf
        call far [cs:old_2f]
        PRINT s_1609
        iret

.identify:
        pushf
        call far [cs:old_2f]
        mov [cs:tsr_next],di
        mov [cs:tsr_next+2],es
        push cs
        pop es
        mov di,tsr_struct       ; ES:DI -> our structure, the head of the chain
        iret

; Prints the '$'-terminated string at CS:DX with Int 21h AH=09h (which returns AL=24h);
; keeps every register, DS included.
print_cs:
        push ax
        push ds
        push cs
        pop ds
        mov ah,09h
        int 21h
        pop ds
        pop ax
        ret

; Puts [exit_dx] as 4 hex digits into s_1606 and prints it; keeps every register.
print_exit:
        push ax
        push bx
        push cx
        push dx
        push di
        mov bx,[cs:exit_dx]
        mov di,s_1606_hex
        mov cx,4
.digit:
        push cx
        mov cl,4
        rol bx,cl               ; next nibble into the low 4 bits
        pop cx
        mov al,bl
        and al,0Fh
        add al,'0'
        cmp al,'9'
        jbe .store
        add al,'A'-'0'-10
.store:
        mov [cs:di],al
        inc di
        loop .digit
        mov dx,s_1606
        call print_cs
        pop di
        pop dx
        pop cx
        pop bx
        pop ax
        ret

s_veto      db 'WINTSR: Int 2Fh AX=1605h: refusing to let Windows start (CX=FFFFh)',13,10,'$'
s_1606      db 'WINTSR: Int 2Fh AX=1606h: Windows exit broadcast (DX='
s_1606_hex  db '0000h)',13,10,'$'
s_1608      db 'WINTSR: Int 2Fh AX=1608h: Windows initialization complete',13,10,'$'
s_1609      db 'WINTSR: Int 2Fh AX=1609h: Windows begins to exit',13,10,'$'

resident_end:

; Paragraphs kept by AH=31h: the 100h-byte PSP plus everything up to resident_end.
RES_PARAS equ (resident_end - $$ + 100h + 15) / 16

; ----- installation (discarded when the program stays resident) -------------------------

init:
        cld
        ; -- step 1: the command tail: empty or "/V" --
        mov si,81h
        mov cl,[80h]
        xor ch,ch               ; CX = tail length
        call skip_blanks
        jcxz .parsed            ; empty: let Windows start
        cmp byte [si],'/'
        jne .usage
        mov al,[si+1]
        and al,0DFh             ; upper case
        cmp al,'V'
        jne .usage
        cmp cx,2
        jb .usage
        add si,2
        sub cx,2
        call skip_blanks
        jcxz .veto
.usage:
        mov dx,s_usage
        jmp fail
.veto:
        mov byte [veto],1
.parsed:

        ; -- step 2: multiplex id C1h must be free --
        mov ax,MPX_AX
        int 2Fh
        cmp al,0
        je .free
        push cs
        pop ds
        cmp al,0FFh
        jne .taken
        cmp word [es:di],6
        jne .taken
        lea di,[di+2]
        mov si,id_block+2
        mov cx,6
        repe cmpsb              ; DS:SI (ours) against ES:DI (theirs)
        jne .taken
        mov dx,s_already
        jmp fail
.taken:
        mov dx,s_taken
        jmp fail
.free:

        ; -- step 3: fill in the structure's segments, hook Int 2Fh --
        mov [tsr_psp],cs        ; a .COM program's CS is its PSP
        mov [tsr_cmd_line+2],cs
        mov [tsr_id_block+2],cs
        mov ax,352Fh
        int 21h
        mov [old_2f],bx
        mov [old_2f+2],es
        push cs
        pop es
        mov dx,int2f_handler
        mov ax,252Fh
        int 21h
        mov dx,s_hooked_let
        cmp byte [veto],0
        je .say
        mov dx,s_hooked_veto
.say:
        call print_cs

        ; -- step 4: stay resident; the environment stays allocated --
        mov dx,RES_PARAS
        mov ax,3100h
        int 21h

; Prints the message at DX and exits with code 1.
fail:
        push cs
        pop ds
        call print_cs
        mov ax,4C01h
        int 21h

; Skips spaces and tabs at DS:SI, CX bytes left (also stops at CR); updates SI and CX.
skip_blanks:
        jcxz .done
.loop:
        mov al,[si]
        cmp al,13
        je .end
        cmp al,' '
        je .next
        cmp al,9
        jne .done
.next:
        inc si
        loop .loop
        ret
.end:
        xor cx,cx               ; CR: nothing follows
.done:
        ret

; ----- data (discarded when resident) ---------------------------------------------------

s_hooked_veto db 'WINTSR: hooked Int 2Fh (1605h, 1606h, 1608h, 1609h, 160Bh); '
              db '/V: will veto Windows start',13,10,'$'
s_hooked_let  db 'WINTSR: hooked Int 2Fh (1605h, 1606h, 1608h, 1609h, 160Bh); '
              db 'will let Windows start',13,10,'$'
s_usage       db 'WINTSR: usage: WINTSR [/V] (/V: refuse to let Windows start)',13,10,'$'
s_already     db 'WINTSR: already resident (Int 2Fh AX=C100h answered with WINTSR',27h,'s ID block); '
              db 'not installed again',13,10,'$'
s_taken       db 'WINTSR: multiplex id C1h is taken (Int 2Fh AX=C100h answered, not by WINTSR)',13,10,'$'
