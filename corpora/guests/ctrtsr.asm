; ctrtsr.asm - a TSR that owns a counter shared by every VM (the critsec scenario's TSR).
;
; After Asche's article on multitasking TSRs and critical sections: data of a TSR loaded
; before Windows enhanced mode starts lies below the VMM load point, so it is ONE copy
; seen by every virtual machine (dos-memory.md 4.5, "Global TSRs"). Programs in several
; DOS VMs that update it with a load-modify-store sequence lose updates whenever the
; scheduler switches VMs between the load and the store, unless they bracket the sequence
; with Int 2Fh AX=1681h/1682h (begin/end critical section, dos-memory.md 4.1, 4.5).
; critsec.asm does the updating; this TSR holds the data and, when the VMM shuts down,
; reports whether any update was lost.
;
; Resident data block (at offset 0103h of the TSR's PSP segment):
;   +00h WORD counter            incremented by critsec.asm, 0 at installation
;   +02h WORD done count         each critsec.asm instance adds 1 when it has finished
;   +04h WORD increments per VM  0064h (100): how many increments each instance makes
;   +06h 6 BYTEs "CTRTSR"        the signature critsec.asm checks
;
; The Int 2Fh handler:
;   * AX=C000h (multiplex id C0h, installation check): AL=FFh, ES:DI -> the data block;
;     other registers unchanged.
;   * AX=1606h with DX bit 0 = 0 (the exit broadcast of Windows enhanced mode, which the
;     VMM sends when it shuts down): chains to the previous handler FIRST (PUSHF, CALL
;     FAR), then prints with one Int 21h AH=09h call
;       "CTRTSR: counter XXXXh after N VMs x YYYYh increments: exact"       or
;       "CTRTSR: counter XXXXh after N VMs x YYYYh increments: ZZZZh updates lost"
;     (XXXXh = counter, N = done count in decimal, "1 VM" for one, YYYYh = increments per
;     VM, ZZZZh = N*YYYYh - counter; a counter above N*YYYYh, which no lost update can
;     explain, gives "ZZZZh more than expected"), and returns with the registers as the
;     chain left them.
;   * Anything else: jumps to the previous handler (JMP FAR), registers unchanged.
;
; Installation (one console line per step, prefix "CTRTSR: "):
;   1. Int 2Fh AX=C000h must come back with AL=00h (multiplex id C0h free). AL=FFh with
;      "CTRTSR" at ES:DI+6 means it is already resident; any other AL, that C0h is taken.
;      Both are failures (exit code 1, nothing hooked).
;   2. Int 21h AH=35h/25h: saves the Int 2Fh vector and hooks it.
;   3. Int 21h AH=31h, AL=0: stays resident with DX = the paragraphs of the PSP, the data,
;      the handler and its output routines; the installation code after resident_end is
;      dropped. The environment is kept.
;
; Assemble: nasm -f bin ctrtsr.asm -o ctrtsr.com

        cpu 8086
        bits 16
        org 100h

MPX_AX   equ 0C000h             ; multiplex id C0h, function 00h: installation check
PER_VM   equ 100                ; increments each critsec.asm instance makes

start:
        jmp near init           ; 3 bytes, so the data block is at 0103h

; ----- resident part ----------------------------------------------------------------------

data:
counter     dw 0                ; +0
done_count  dw 0                ; +2
per_vm      dw PER_VM           ; +4
signature   db 'CTRTSR'         ; +6

old_2f      dd 0                ; the previous Int 2Fh handler

int2f_handler:
        cmp ax,MPX_AX
        je .ours
        cmp ax,1606h
        jne .chain
        test dx,1               ; bit 0 = 1: 286 DOS extender, not the enhanced-mode VMM
        jnz .chain
        ; The exit broadcast: chain first, registers as the caller gave them.
        pushf
        call far [cs:old_2f]
        push ax
        push bx
        push cx
        push dx
        push si
        push di
        push ds
        push cs
        pop ds
        call report
        pop ds
        pop di
        pop si
        pop dx
        pop cx
        pop bx
        pop ax
        iret
.ours:
        mov al,0FFh
        push cs
        pop es
        mov di,data
        iret
.chain:
        jmp far [cs:old_2f]

; Prints the report line (DS = CS).
report:
        mov di,line_buf
        mov si,s_name
        call add_str
        mov si,s_counter
        call add_str
        mov ax,[counter]
        call add_hex4
        mov si,s_after
        call add_str
        mov ax,[done_count]
        call add_dec
        mov si,s_vms
        cmp ax,1
        jne .plural
        mov si,s_vm
.plural:
        call add_str
        mov ax,[per_vm]
        call add_hex4
        mov si,s_increments
        call add_str
        mov ax,[done_count]
        mul word [per_vm]       ; AX = expected counter (16 bits)
        cmp ax,[counter]
        je .exact
        jb .more
        sub ax,[counter]
        call add_hex4
        mov si,s_lost
        jmp .end
.more:
        neg ax
        add ax,[counter]
        call add_hex4
        mov si,s_more
        jmp .end
.exact:
        mov si,s_exact
.end:
        call add_str
        mov dx,line_buf
        ; falls through to end_line

; Ends the line at DI with CR LF and writes the line that starts at DX (Int 21h AH=09h).
end_line:
        push ax
        mov word [di],0A0Dh
        mov byte [di+2],'$'
        mov ah,09h
        int 21h
        pop ax
        ret

; Appends the '$'-terminated string at SI (without the '$') at DS:DI.
add_str:
        push ax
        push si
.loop:
        mov al,[si]
        cmp al,'$'
        je .done
        mov [di],al
        inc di
        inc si
        jmp .loop
.done:
        pop si
        pop ax
        ret

; Appends the character AL.
add_char:
        mov [di],al
        inc di
        ret

; Appends AX in decimal.
add_dec:
        push ax
        push bx
        push cx
        push dx
        mov bx,10
        xor cx,cx
.div:
        xor dx,dx
        div bx
        push dx
        inc cx
        test ax,ax
        jnz .div
.out:
        pop ax
        add al,'0'
        call add_char
        loop .out
        pop dx
        pop cx
        pop bx
        pop ax
        ret

; Appends AX as 4 hex digits.
add_hex4:
        push ax
        mov al,ah
        call add_hex2
        pop ax
        ; falls through to append AL
; Appends AL as 2 hex digits.
add_hex2:
        push ax
        push cx
        mov ah,al
        mov cl,4
        shr al,cl
        call add_nibble
        mov al,ah
        and al,0Fh
        call add_nibble
        pop cx
        pop ax
        ret

; Appends the hex digit AL (0-15).
add_nibble:
        add al,'0'
        cmp al,'9'
        jbe .out
        add al,'A'-'0'-10
.out:
        jmp add_char

s_name       db 'CTRTSR: $'
s_counter    db 'counter $'
s_after      db 'h after $'
s_vms        db ' VMs x $'
s_vm         db ' VM x $'
s_increments db 'h increments: $'
s_exact      db 'exact$'
s_lost       db 'h updates lost$'
s_more       db 'h more than expected$'

line_buf     times 96 db 0

resident_end:

; Paragraphs kept by AH=31h: the 100h-byte PSP plus everything up to resident_end.
RES_PARAS equ (resident_end - $$ + 100h + 15) / 16

; ----- installation (discarded when the program stays resident) -------------------------

init:
        cld
        ; -- step 1: multiplex id C0h must be free --
        mov ax,MPX_AX
        int 2Fh
        cmp al,0
        je .free
        cmp al,0FFh
        jne .taken
        mov si,signature
        lea di,[di+6]
        mov cx,6
        repe cmpsb              ; DS:SI (ours) against ES:DI (theirs)
        jne .taken
        push cs
        pop es
        mov si,s_already
        jmp fail
.taken:
        push cs
        pop es
        mov [err_al],al
        mov di,line_buf
        mov si,s_name
        call add_str
        mov si,s_taken
        call add_str
        mov al,[err_al]
        call add_hex2
        mov si,s_taken2
        call add_str
        mov dx,line_buf
        call end_line
        mov ax,4C01h
        int 21h
.free:
        push cs
        pop es

        ; -- step 2: hook Int 2Fh --
        mov ax,352Fh
        int 21h
        mov [old_2f],bx
        mov [old_2f+2],es
        push cs
        pop es
        mov dx,int2f_handler
        mov ax,252Fh
        int 21h
        mov si,s_hooked
        call say

        ; -- step 3: stay resident --
        mov di,line_buf
        mov si,s_name
        call add_str
        mov si,s_resident
        call add_str
        mov ax,RES_PARAS
        call add_hex4
        mov si,s_paragraphs
        call add_str
        mov dx,line_buf
        call end_line
        mov dx,RES_PARAS
        mov ax,3100h
        int 21h

; Prints "CTRTSR: " and the message at SI, exits with code 1.
fail:
        call say
        mov ax,4C01h
        int 21h

; Writes one line: "CTRTSR: " and the '$'-string at SI.
say:
        push si
        mov di,line_buf
        mov si,s_name
        call add_str
        pop si
        call add_str
        mov dx,line_buf
        jmp end_line

; ----- data (discarded when resident) ---------------------------------------------------

err_al       db 0

s_hooked     db 'hooked Int 2Fh: AX=C000h returns AL=FFh and ES:DI -> counter (+0), '
             db 'done count (+2), 0064h increments per VM (+4); the exit broadcast '
             db '(AX=1606h) prints the counter$'
s_resident   db 'staying resident (Int 21h AH=31h), keeping $'
s_paragraphs db 'h paragraphs; environment kept$'
s_already    db 'already resident (Int 2Fh AX=C000h answered with CTRTSR',27h,'s signature)$'
s_taken      db 'multiplex id C0h is taken (Int 2Fh AX=C000h returned AL=$'
s_taken2     db 'h)$'
