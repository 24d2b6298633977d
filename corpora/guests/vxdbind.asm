; vxdbind.asm - the TSR of Microsoft KB Q74516: binding a TSR to a VxD.
;
; KB Q74516 (dos-memory.md 4.3): a TSR that makes Windows enhanced mode load a VxD names
; the VxD file in the Win386_Startup_Info_Struc it returns from the Int 2Fh AX=1605h
; startup broadcast. When TSR and VxD are one file (the VxD linked with "STUB TSR.EXE"), the
; TSR names itself, and DOS tells it its own fully qualified path: the ASCIZ string three
; bytes past the end of the environment's variables (after the final NUL and the WORD
; string count, RBIL #01379). The KB notes that the binding itself needs an EXE-format TSR
; (a .COM file cannot be the stub of an LE file); this .COM program is a stand-in that
; exercises the DOS and Int 2Fh side of the protocol, which is identical.
;
; Installation (one console line per step, prefix "VXDBIND: "):
;   1. Int 21h AH=62h: BX = our PSP; word [PSP:2Ch] = environment segment (dos-memory.md
;      5.1). The loop of Q74516 / dos-memory.md 4.3: REPNE SCASB past one NUL until the
;      next byte is also NUL (the double NUL), then DI += 3 skips the final NUL and the word
;      count. An empty environment is a single 00h at offset 0, where that loop would land
;      one string too far (dos-memory.md 4.3), so it is recognized first. The word count
;      must be at least 1 and the path fully qualified ("X:\..."), otherwise the program
;      fails. The path is printed.
;   2. Int 21h AH=35h/25h: saves the Int 2Fh vector and hooks it.
;   3. Int 21h AH=31h: stays resident with the PSP block cut to the resident part. The
;      environment block is NOT freed: SIS_Virt_Dev_File_Ptr points into it, so it must stay
;      valid until Windows reads it (dos-memory.md 4.3: a TSR that frees its environment
;      before 1605h loses the path).
;
; The Int 2Fh handler (dos-memory.md 4.2, RBIL INT 2F/1605h):
;   * AX=1605h with DX bit 0 = 0 (Windows enhanced mode; bit 0 = 1 is the 286 DOS extender,
;     which loads no VxDs, so that broadcast is only chained on):
;       1. chains to the previous Int 2Fh handler FIRST, registers unchanged (PUSHF, CALL FAR:
;          the previous handler returns with IRET);
;       2. stores the ES:BX the chain returned in SIS_Next_Dev_Ptr;
;       3. returns ES:BX -> its own structure, every other register as the chain left it
;          (CX included: 0 lets Windows load).
;   * Anything else: jumps to the previous handler (JMP FAR), registers unchanged.
;
; Win386_Startup_Info_Struc, version 3.10 (dos-memory.md 4.2, RBIL #02631), 12h bytes:
;   +00h SIS_Version 03h,0Ah  +02h SIS_Next_Dev_Ptr  +06h SIS_Virt_Dev_File_Ptr = the path
;   +0Ah SIS_Reference_Data 0  +0Eh SIS_Instance_Data_Ptr 0:0 (nothing instanced)
;
; On failure the program prints the reason and exits with code 1 (Int 21h AH=4Ch) without
; hooking anything.
;
; Assemble: nasm -f bin vxdbind.asm -o vxdbind.com

        cpu 8086
        bits 16
        org 100h

start:
        jmp near init

; ----- resident part ----------------------------------------------------------------------

old_2f      dd 0                ; the previous Int 2Fh handler

; Win386_Startup_Info_Struc (version 3.10)
sis:
sis_version         db 03h,0Ah  ; major 3, minor 10
sis_next_dev_ptr    dd 0        ; ES:BX returned by the rest of the chain (filled per call)
sis_virt_dev_file   dd 0        ; -> ASCIZ fully qualified VxD path (filled at install)
sis_reference_data  dd 0        ; passed to the VxD's init (none needed)
sis_instance_data   dd 0        ; -> Instance_Item_Struc array, or 0:0 (none)
SIS_SIZE equ $ - sis

int2f_handler:
        cmp ax,1605h
        jne .chain
        test dx,1               ; bit 0 = 1: 286 DOS extender, no VxDs
        jnz .chain
        ; 1605h, enhanced mode: chain first with the caller's registers (CMP/TEST changed
        ; only the flags; the previous handler's IRET pops the flags PUSHF saves here).
        pushf
        call far [cs:old_2f]
        mov [cs:sis_next_dev_ptr],bx
        mov [cs:sis_next_dev_ptr+2],es
        push cs
        pop es
        mov bx,sis              ; ES:BX -> our structure, the head of the chain
        iret
.chain:
        jmp far [cs:old_2f]

resident_end:

; Paragraphs kept by AH=31h: the 100h-byte PSP plus everything up to resident_end.
RES_PARAS equ (resident_end - $$ + 100h + 15) / 16

; ----- installation (discarded when the program stays resident) -------------------------

init:
        cld
        ; -- step 1: our own path, 3 bytes past the end of the environment (Q74516) --
        mov ah,62h
        int 21h                 ; BX = our PSP
        mov es,bx
        mov es,[es:2Ch]         ; ES = environment segment
        xor di,di               ; ES:DI -> environment block
        cmp byte [es:di],0
        je .env_end             ; empty environment: its only byte is the final NUL
        mov cx,-1
        xor al,al               ; search for NULs
.env_search:
        repne scasb             ; past one NUL
        cmp byte [es:di],0      ; a second NUL: the end of the variables
        jne .env_search
.env_end:
        ; ES:DI -> the final NUL; the WORD count of strings that follow is at DI+1.
        cmp word [es:di+1],1
        jb .no_path             ; count 0: DOS 2.x layout or no path stored
        add di,3                ; skip the final NUL and the word count
        ; A fully qualified path starts with "X:\".
        mov al,[es:di]
        and al,0DFh             ; upper case
        cmp al,'A'
        jb .no_path
        cmp al,'Z'
        ja .no_path
        cmp word [es:di+1],':\' ; ':' (low byte) then '\'
        jne .no_path
        mov [sis_virt_dev_file],di
        mov [sis_virt_dev_file+2],es

        mov dx,s_path
        call print
        call print_asciz_esdi
        mov dx,s_crlf
        call print
        push cs
        pop es

        ; -- step 2: hook Int 2Fh (AH=35h: ES:BX = old vector; AH=25h: DS:DX = new) --
        mov ax,352Fh
        int 21h
        mov [old_2f],bx
        mov [old_2f+2],es
        push cs
        pop es
        mov dx,int2f_handler
        mov ax,252Fh
        int 21h
        mov dx,s_hooked
        call print

        ; -- step 3: stay resident; the environment (holding the path) stays allocated --
        mov dx,s_resident
        call print
        mov ax,RES_PARAS
        call hex4
        mov dx,s_paragraphs
        call print
        mov dx,RES_PARAS
        mov ax,3100h
        int 21h

.no_path:
        push cs
        pop es
        mov dx,s_no_path
        call print
        mov ax,4C01h
        int 21h

; ----- output helpers -------------------------------------------------------------------

; Prints the '$'-terminated string at DX (Int 21h AH=09h).
print:
        push ax
        mov ah,09h
        int 21h
        pop ax
        ret

; Prints the ASCIZ string at ES:DI (at most 128 characters) with Int 21h AH=02h.
print_asciz_esdi:
        push ax
        push dx
        push di
        push cx
        mov cx,128
.loop:
        mov dl,[es:di]
        test dl,dl
        jz .done
        mov ah,02h
        int 21h
        inc di
        loop .loop
.done:
        pop cx
        pop di
        pop dx
        pop ax
        ret

; Prints AX as 4 hex digits.
hex4:
        push ax
        mov al,ah
        call hex2
        pop ax
; Prints AL as 2 hex digits.
hex2:
        push ax
        push cx
        mov ah,al
        mov cl,4
        shr al,cl
        call hexdigit
        mov al,ah
        and al,0Fh
        call hexdigit
        pop cx
        pop ax
        ret

; Prints the hex digit AL (0-15) with Int 21h AH=02h.
hexdigit:
        push ax
        push dx
        add al,'0'
        cmp al,'9'
        jbe .out
        add al,'A'-'0'-10
.out:
        mov dl,al
        mov ah,02h
        int 21h
        pop dx
        pop ax
        ret

; ----- data (discarded when resident) ---------------------------------------------------

s_path       db 'VXDBIND: own path, 3 bytes past the environment',27h,'s double NUL: $'
s_crlf       db 13,10,'$'
s_hooked     db 'VXDBIND: hooked Int 2Fh; AX=1605h (enhanced mode) returns a version 3.10 '
             db 'startup info struct naming that path as the VxD file',13,10,'$'
s_resident   db 'VXDBIND: staying resident (Int 21h AH=31h), keeping $'
s_paragraphs db 'h paragraphs; environment kept (it holds the path)',13,10,'$'
s_no_path    db 'VXDBIND: no fully qualified program path after the environment',13,10,'$'
