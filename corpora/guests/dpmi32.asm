; dpmi32.asm - conformance checks of a DPMI 0.9 host from a 32-bit client (.COM, 80386).
;
; Expected values are the DPMI 0.9 specification's (../shared/reference/dos-memory.md
; section 3): a 32-bit client enters with AX = 1 and gets 16-bit selectors for its
; segments; Int 31h takes 32-bit offsets (EDI, EDX) from it; an interrupt delivered to its
; protected-mode handler has a 32-bit IRETD frame. The client makes a 32-bit code
; descriptor on its own segment (0000h, 0007h, 0008h, 0009h with the D bit in CH) and runs
; its checks there. Output goes through Int 31h 0300h (real-mode Int 21h AH=09h). The exit
; code is the number of failures.
;
; Assemble: nasm -f bin dpmi32.asm -o dpmi32.com

        cpu 386
        bits 16
        org 100h

%macro SAY 1
        mov edx, %1
        call pm_say
%endmacro
%macro DPMI 1
        mov ax, %1
        int 31h
%endmacro

start:
        mov ah, 4Ah
        mov bx, 1000h
        int 21h
        mov dx, msg_title
        mov ah, 09h
        int 21h
        mov [rm_seg], cs
        mov ax, 1687h
        int 2Fh
        test ax, ax
        jnz .fail
        test bl, 1                      ; 32-bit clients supported
        jz .fail
        mov [entry], di
        mov [entry + 2], es
        mov ah, 48h
        mov bx, si
        or bx, bx
        jnz .alloc
        inc bx
.alloc: int 21h
        jc .fail
        mov es, ax
        mov ax, 1                       ; a 32-bit client
        call far [entry]
        jnc pm16
.fail:  mov dx, msg_no_host
        mov ah, 09h
        int 21h
        mov ax, 4C01h
        int 21h

; Protected mode, still in the 16-bit code segment the host made for us: a 32-bit code
; descriptor on the same segment (0009h with CH bit 6, the D bit), and a far jump to it.
pm16:
        mov cx, 1
        DPMI 0000h
        jc .bad
        mov [code32], ax
        mov bx, cs
        DPMI 0006h                      ; CX:DX = our base
        jc .bad
        mov bx, [code32]
        DPMI 0007h
        jc .bad
        xor cx, cx
        mov dx, 0FFFFh
        DPMI 0008h
        jc .bad
        mov cx, 40FAh                   ; present, DPL 3, code, readable; D = 1
        DPMI 0009h
        jc .bad
        push word [code32]
        push word pm32
        retf
.bad:   mov ax, 4C01h
        int 21h

        bits 32
pm32:
        ; 1. The switch gave a 32-bit code segment of ours: LAR shows the D bit.
        SAY msg_code32
        movzx eax, word [code32]
        lar eax, eax
        test eax, 400000h
        jz .bad1
        call ok
        jmp .c2
.bad1:  call bad

        ; 2. 0501h: a 1 MiB block; a descriptor with limit FFFFFh; 256 Ki dwords written
        ; and summed back through 32-bit offsets.
.c2:    SAY msg_0501
        mov bx, 10h
        xor cx, cx
        DPMI 0501h
        jc .bad2
        mov [blk], cx
        mov [blk + 2], bx
        mov [handle], di
        mov [handle + 2], si
        mov cx, 1
        DPMI 0000h
        jc .bad2
        mov [data32], ax
        mov bx, ax
        mov cx, [blk + 2]
        mov dx, [blk]
        DPMI 0007h
        jc .bad2
        mov cx, 0Fh
        mov dx, 0FFFFh
        DPMI 0008h
        jc .bad2
        mov es, [data32]
        xor edi, edi
        mov ecx, 40000h
        mov eax, 12345678h
.w2:    mov [es:edi], eax
        add eax, 9E3779B9h
        add edi, 4
        dec ecx
        jnz .w2
        xor esi, esi
        xor ebx, ebx
        mov ecx, 40000h
.r2:    add ebx, [es:esi]
        add esi, 4
        dec ecx
        jnz .r2
        xor edx, edx
        mov ecx, 40000h
        mov eax, 12345678h
.e2:    add edx, eax
        add eax, 9E3779B9h
        dec ecx
        jnz .e2
        push ds
        pop es
        cmp ebx, edx
        jne .bad2
        call ok
        jmp .c2b
.bad2:  push ds
        pop es
        call bad

        ; 2b. 0300h with the call structure in the block (ES = its selector, EDI = 0): the
        ; host reads and writes it at a linear address its page tables translate.
.c2b:   SAY msg_0300b
        mov es, [data32]
        xor edi, edi
        xor eax, eax
        mov ecx, 25
        rep stosw
        mov dword [es:1Ch], 3000h
        xor edi, edi
        mov bx, 21h
        xor cx, cx
        DPMI 0300h
        jc .bad2b
        cmp byte [es:1Ch], 5
        jne .bad2b
        push ds
        pop es
        call ok
        jmp .c3
.bad2b: push ds
        pop es
        call bad

        ; 3. 0300h with the structure at a 32-bit EDI: real-mode Int 21h AH=30h, AL = 5.
.c3:    SAY msg_0300
        call clear_regs
        mov dword [rm_eax], 3000h
        mov edi, rm_regs
        mov bx, 21h
        xor cx, cx
        DPMI 0300h
        jc .bad3
        cmp byte [rm_eax], 5
        jne .bad3
        call ok
        jmp .c4
.bad3:  call bad

        ; 4. 0205h with a 32-bit offset in EDX: INT 62h reaches our handler, which returns
        ; with IRETD (a 32-bit frame).
.c4:    SAY msg_0205
        mov bl, 62h
        DPMI 0204h
        mov [old_sel], cx
        mov [old_off], edx
        mov cx, [code32]
        mov edx, handler62
        DPMI 0205h
        jc .bad4
        mov byte [hit], 0
        mov eax, 0ABCDEF01h
        int 62h
        cmp byte [hit], 1
        jne .bad4
        cmp eax, 0ABCDEF01h
        jne .bad4
        mov bl, 62h
        DPMI 0204h
        cmp edx, handler62
        jne .bad4
        mov cx, [old_sel]
        mov edx, [old_off]
        DPMI 0205h
        jc .bad4
        call ok
        jmp .c5
.bad4:  call bad

        ; 5. 0500h at a 32-bit EDI: at least 64 KiB still free.
.c5:    SAY msg_0500
        mov edi, meminfo
        DPMI 0500h
        jc .bad5
        cmp dword [meminfo], 10000h
        jb .bad5
        call ok
        jmp .c6
.bad5:  call bad

        ; 6. 0502h frees the block.
.c6:    SAY msg_0502
        mov si, [handle + 2]
        mov di, [handle]
        DPMI 0502h
        jc .bad6
        call ok
        jmp .c7
.bad6:  call bad

        ; 7. 0203h with EDX: a #GP handler gets the 32-bit frame (+08h error code, +0Ch
        ; EIP), skips the faulting MOV DS,AX and returns with a 32-bit RETF.
.c7:    SAY msg_0203
        mov bl, 0Dh
        DPMI 0202h
        mov [old_sel], cx
        mov [old_off], edx
        mov cx, [code32]
        mov edx, gp_handler
        DPMI 0203h
        jc .bad7
        mov ax, 1234h
        mov ds, ax
        cmp byte [gp_hits], 1
        jne .bad7
        cmp dword [gp_code], 1234h
        jne .bad7
        mov bl, 0Dh
        mov cx, [old_sel]
        mov edx, [old_off]
        DPMI 0203h
        jc .bad7
        call ok
        jmp .c8
.bad7:  call bad

        ; 8. 0303h with ESI and EDI: a real-mode callback, called far through 0301h with
        ; EAX = 12345678h; the procedure (a 32-bit one) finds it in the structure at
        ; ES:EDI, simulates the far return from the real-mode stack at DS:ESI, sets EAX =
        ; 9ABCDEF0h and returns with IRETD; 0304h frees it.
.c8:    SAY msg_0303
        push ds
        pop es
        mov edi, cb_regs
        mov esi, cb_proc
        mov ax, [code32]
        push ds
        mov ds, ax
        DPMI 0303h                      ; DS:ESI = the procedure, ES:EDI = its structure
        pop ds
        jc .bad8
        mov [cb_addr], dx
        mov [cb_addr + 2], cx
        call clear_regs
        mov dword [rm_eax], 12345678h
        mov [rm_ip], dx
        mov [rm_cs], cx
        mov edi, rm_regs
        xor bx, bx
        xor cx, cx
        DPMI 0301h
        jc .bad8
        cmp byte [cb_hits], 1
        jne .bad8
        cmp dword [cb_seen], 12345678h
        jne .bad8
        cmp dword [rm_eax], 9ABCDEF0h
        jne .bad8
        mov cx, [cb_addr + 2]
        mov dx, [cb_addr]
        DPMI 0304h
        jc .bad8
        call ok
        jmp .done
.bad8:  call bad

.done:  mov al, [fails]
        mov ah, 4Ch
        int 21h

handler62:
        mov byte [hit], 1
        iretd

; The real-mode callback's procedure: DS:ESI = the real-mode stack, ES:EDI = the call
; structure (ES is our data selector).
cb_proc:
        cld
        lodsw
        mov [es:edi + 2Ah], ax          ; the caller's IP
        lodsw
        mov [es:edi + 2Ch], ax          ; and CS
        add word [es:edi + 2Eh], 4      ; SP past them: a far return
        mov eax, [es:edi + 1Ch]
        mov [es:cb_seen], eax
        mov dword [es:edi + 1Ch], 9ABCDEF0h
        inc byte [es:cb_hits]
        iretd

; The #GP handler: DPMI 0.9's 32-bit exception frame (+00h return EIP, +04h return CS,
; +08h error code, +0Ch EIP, +10h CS, +14h EFLAGS, +18h ESP, +1Ch SS).
gp_handler:
        push eax
        mov eax, [esp + 4 + 8]
        mov [gp_code], eax
        add dword [esp + 4 + 0Ch], 2
        inc byte [gp_hits]
        pop eax
        retf

clear_regs:
        push edi
        push ecx
        push eax
        mov edi, rm_regs
        xor eax, eax
        mov ecx, 25
        push ds
        pop es
        cld
        rep stosw
        pop eax
        pop ecx
        pop edi
        ret

; Prints the $-string at EDX through 0300h.
pm_say:
        pushad
        call clear_regs
        mov dword [rm_eax], 0900h
        mov [rm_edx], edx
        mov ax, [rm_seg]
        mov [rm_ds], ax
        mov edi, rm_regs
        mov bx, 21h
        xor cx, cx
        mov ax, 0300h
        int 31h
        popad
        ret

ok:     SAY msg_ok
        ret
bad:    SAY msg_bad
        inc byte [fails]
        ret

msg_title:  db "dpmi32: DPMI 0.9 host conformance, 32-bit client", 13, 10, "$"
msg_no_host: db "no DPMI host for 32-bit clients, or the switch failed", 13, 10, "$"
msg_code32: db "a 32-bit code descriptor of our own (0009h, D bit): $"
msg_0501:   db "0501h: 1 MiB block written and read through 32-bit offsets: $"
msg_0300b:  db "0300h with the structure in the 0501h block: AL = 5: $"
msg_0300:   db "0300h with the structure at EDI: AL = 5: $"
msg_0205:   db "0205h with EDX: INT 62h to a handler that returns with IRETD: $"
msg_0500:   db "0500h at EDI: at least 64 KiB free: $"
msg_0502:   db "0502h: the block freed: $"
msg_0203:   db "0203h with EDX: a #GP handler gets the 32-bit frame and skips the instruction: $"
msg_0303:   db "0303h/0304h with ESI/EDI: a real-mode callback called far through 0301h returns with IRETD: $"
msg_ok:     db "ok", 13, 10, "$"
msg_bad:    db "FAIL", 13, 10, "$"

fails:      db 0
hit:        db 0
gp_hits:    db 0
cb_hits:    db 0
        align 4
entry:      dd 0
rm_seg:     dw 0
code32:     dw 0
data32:     dw 0
old_sel:    dw 0
old_off:    dd 0
blk:        dd 0
handle:     dd 0
gp_code:    dd 0
cb_seen:    dd 0
cb_addr:    dd 0
cb_regs:    times 32h db 0

rm_regs:
rm_edi:     dd 0
rm_esi:     dd 0
rm_ebp:     dd 0
            dd 0
rm_ebx:     dd 0
rm_edx:     dd 0
rm_ecx:     dd 0
rm_eax:     dd 0
rm_flags:   dw 0
rm_es:      dw 0
rm_ds:      dw 0
rm_fs:      dw 0
rm_gs:      dw 0
rm_ip:      dw 0
rm_cs:      dw 0
rm_sp:      dw 0
rm_ss:      dw 0

meminfo:    times 30h db 0
