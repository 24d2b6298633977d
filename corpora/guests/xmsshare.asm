; xmsshare.asm - the TSR of Microsoft KB Q74809: share a locked XMS block with every VM.
;
; KB Q74809 (and dos-memory.md section 3.4, step 1): a TSR loaded before Windows allocates
; an extended memory block (EMB) and locks it while the machine is still in real mode, then
; hooks an interrupt through which anyone can ask for the block's handle and 32-bit
; physical address. Because the block was allocated and locked before Windows started it
; is global to all virtual machines: a DOS VM reaches it with XMS moves (function 0Bh) on
; the handle, a Windows protected-mode application maps the physical address with DPMI
; 0800h (dos-memory.md 3.4 step 2). Under Windows 3.x, XMS lock (0Ch) fails for blocks
; allocated after Windows started (dos-memory.md 1.3), hence "before any VMM exists".
;
; Steps (one console line each, prefix "XMSSHARE: "):
;   1. Int 2Fh AX=4300h: AL=80h means an XMS driver is present (dos-memory.md 1.1).
;   2. Int 2Fh AX=4310h: ES:BX = the driver entry, called with CALL FAR, function in AH.
;   3. XMS 09h: allocate a 64 KB EMB (DX = KB in, DX = handle out; AX=1 success,
;      AX=0 + BL = error otherwise; dos-memory.md 1.1, 1.3).
;   4. XMS 0Ch: lock it; DX:BX = its 32-bit physical address (dos-memory.md 1.3, 1.5: valid
;      while locked). XMS 3.0 defines EMBs as extended memory above the HMA, so the address
;      must be 110000h or higher; only that fact is printed, not the address itself
;      (vexed's allocation is deterministic, other drivers such as DOSBox's differ).
;   5. XMS 0Eh: handle information: lock count (BH) 1 and size (DX) 64 KB.
;   6. Hooks the first free user interrupt of 60h-66h (free = vector 0000:0000, which is
;      what the BIOS leaves there); if XMSSHARE is already resident behind one of them it
;      refuses to load a second copy.
;   7. Int 21h AH=31h with AL=0 and DX = the paragraphs of the resident part (PSP, the
;      signature, the data and the handler; the installation code and messages after
;      resident_end are dropped). The environment is kept.
; When XMS is missing or a step fails, the program prints the reason, unlocks and frees
; what it got, and exits with code 1 (Int 21h AH=4Ch) without staying resident.
;
; Interface of the hooked interrupt (used by xmsclnt.asm):
;   in:  AX = 5853h ('XS', the signature)
;   out: CF clear, AX = EMB handle, DX:BX = 32-bit physical address of the locked block
;   any other AX: CF set, registers unchanged.
; A client finds the TSR without calling unknown code: the vector's segment is XMSSHARE's
; PSP, and the 8 bytes at offset 0103h of it (right after the JMP at 0100h) are "XMSSHARE".
;
; Assemble: nasm -f bin xmsshare.asm -o xmsshare.com

        cpu 8086
        bits 16
        org 100h

SIG_AX  equ 5853h               ; 'XS': the request value a client puts in AX
EMB_KB  equ 64                  ; size of the shared block
FIRST_INT equ 60h               ; user interrupts 60h-66h (RBIL: reserved for user programs)
LAST_INT  equ 66h

start:
        jmp near init           ; 3 bytes, so the signature is at offset 0103h

; ----- resident part ----------------------------------------------------------------------

signature   db 'XMSSHARE'       ; at 0103h: how a client recognizes the TSR behind a vector
emb_handle  dw 0                ; the locked EMB's handle
emb_addr    dd 0                ; its 32-bit physical address (low word, high word)

; The interrupt handler. The caller's flags are at [BP+6] after PUSH BP (IP, CS, FLAGS on
; the stack), so CF is returned by changing them before IRET.
handler:
        cmp ax,SIG_AX
        jne .not_ours
        mov ax,[cs:emb_handle]
        mov bx,[cs:emb_addr]
        mov dx,[cs:emb_addr+2]
        push bp
        mov bp,sp
        and byte [bp+6],0FEh    ; CF clear: request served
        pop bp
        iret
.not_ours:
        push bp
        mov bp,sp
        or byte [bp+6],01h      ; CF set: unknown request, registers unchanged
        pop bp
        iret

resident_end:

; Paragraphs kept by AH=31h: the 100h-byte PSP plus everything up to resident_end, rounded
; up ($$ is the start of the image, offset 100h in the PSP segment).
RES_PARAS equ (resident_end - $$ + 100h + 15) / 16

; ----- installation (discarded when the program stays resident) -------------------------

init:
        ; -- step 1: Int 2Fh AX=4300h, AL=80h = XMS driver present (dos-memory.md 1.1) --
        mov ax,4300h
        int 2Fh
        cmp al,80h
        je .have_xms
        mov dx,s_no_xms
        jmp fail
.have_xms:
        mov dx,s_present
        call print

        ; -- step 2: Int 2Fh AX=4310h, ES:BX = driver entry --
        mov ax,4310h
        int 2Fh
        mov [xms_entry],bx
        mov [xms_entry+2],es
        push cs
        pop es
        mov dx,s_entry
        call print

        ; -- step 3: XMS 09h, allocate EMB_KB KB: AX=1, DX = handle --
        mov dx,EMB_KB
        mov ah,09h
        call far [xms_entry]
        cmp ax,1
        je .allocated
        mov dx,s_alloc_failed
        jmp fail_bl
.allocated:
        mov [emb_handle],dx
        mov byte [have_emb],1
        mov dx,s_allocated
        call print

        ; -- step 4: XMS 0Ch, lock: AX=1, DX:BX = physical address --
        mov dx,[emb_handle]
        mov ah,0Ch
        call far [xms_entry]
        cmp ax,1
        je .locked
        mov dx,s_lock_failed
        jmp fail_bl
.locked:
        mov byte [locked],1
        mov [emb_addr],bx
        mov [emb_addr+2],dx
        ; An EMB lies above the HMA (100000h-10FFEFh): DX:BX >= 00110000h.
        cmp dx,0011h
        jae .above_hma
        mov dx,s_below_hma
        jmp fail
.above_hma:
        mov dx,s_locked
        call print

        ; -- step 5: XMS 0Eh, handle info: AX=1, BH = lock count 1, DX = size 64 KB --
        mov dx,[emb_handle]
        mov ah,0Eh
        call far [xms_entry]
        cmp ax,1
        jne .info_bad
        cmp bh,1
        jne .info_bad
        cmp dx,EMB_KB
        je .info_ok
.info_bad:
        mov dx,s_info_bad
        jmp fail
.info_ok:
        mov dx,s_info
        call print

        ; -- step 6: the first free vector of 60h-66h (Int 21h AH=35h: ES:BX = vector) --
        mov byte [int_no],FIRST_INT
.scan:
        mov al,[int_no]
        mov ah,35h
        int 21h
        mov ax,es
        or ax,bx
        jz .free                ; 0000:0000: nobody uses it
        ; In use: is it an XMSSHARE already resident? (signature at vector segment:0103h)
        mov si,signature
        mov di,signature
        mov cx,8
        cld
        repe cmpsb              ; DS:SI (ours) against ES:DI (theirs)
        je .already
        inc byte [int_no]
        cmp byte [int_no],LAST_INT
        jbe .scan
        push cs
        pop es
        mov dx,s_no_vector
        jmp fail
.already:
        push cs
        pop es
        mov dx,s_already
        call print
        mov al,[int_no]
        call hex2
        mov dx,s_h_crlf
        call print
        jmp fail_quiet
.free:
        push cs
        pop es
        mov dx,s_int
        call print
        mov al,[int_no]
        call hex2
        mov dx,s_hooked
        call print
        mov al,[int_no]         ; Int 21h AH=25h: vector AL = DS:DX
        mov dx,handler
        mov ah,25h
        int 21h

        ; -- step 7: stay resident (Int 21h AH=31h, DX = paragraphs kept) --
        mov dx,s_resident
        call print
        mov ax,RES_PARAS
        call hex4
        mov dx,s_paragraphs
        call print
        mov dx,RES_PARAS
        mov ax,3100h
        int 21h

; ----- failure paths --------------------------------------------------------------------

; Prints the message at DX followed by " (error BL=..h)", then fails.
fail_bl:
        mov [err_bl],bl
        call print
        mov dx,s_error_bl
        call print
        mov al,[err_bl]
        call hex2
        mov dx,s_h_paren_crlf
        call print
        jmp fail_quiet

; Prints the message at DX, undoes the lock and the allocation, exits with code 1.
fail:
        call print
fail_quiet:
        cmp byte [locked],0
        je .unlocked
        mov dx,[emb_handle]     ; XMS 0Dh unlock (0Ah refuses a locked block: ABh)
        mov ah,0Dh
        call far [xms_entry]
.unlocked:
        cmp byte [have_emb],0
        je .freed
        mov dx,[emb_handle]     ; XMS 0Ah free
        mov ah,0Ah
        call far [xms_entry]
.freed:
        mov dx,s_not_resident
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

; Prints AX as 4 hex digits.
hex4:
        push ax
        mov al,ah
        call hex2
        pop ax
        ; falls through to print AL
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

xms_entry   dd 0
have_emb    db 0
locked      db 0
int_no      db 0
err_bl      db 0

s_present      db 'XMSSHARE: XMS driver present (Int 2Fh AX=4300h returned AL=80h)',13,10,'$'
s_entry        db 'XMSSHARE: XMS driver entry point from Int 2Fh AX=4310h',13,10,'$'
s_allocated    db 'XMSSHARE: allocated a 64 KB extended memory block (XMS 09h)',13,10,'$'
s_locked       db 'XMSSHARE: locked it before any VMM exists (XMS 0Ch); '
               db 'physical address above the HMA: yes',13,10,'$'
s_info         db 'XMSSHARE: handle information (XMS 0Eh): 64 KB, lock count 1',13,10,'$'
s_int          db 'XMSSHARE: Int $'
s_hooked       db 'h was free (vector 0000:0000); hooked it: AX=5853h returns '
               db 'AX = handle, DX:BX = physical address',13,10,'$'
s_resident     db 'XMSSHARE: staying resident (Int 21h AH=31h), keeping $'
s_paragraphs   db 'h paragraphs; environment kept',13,10,'$'

s_no_xms       db 'XMSSHARE: no XMS driver (Int 2Fh AX=4300h did not return AL=80h)',13,10,'$'
s_alloc_failed db 'XMSSHARE: XMS 09h could not allocate 64 KB$'
s_lock_failed  db 'XMSSHARE: XMS 0Ch could not lock the block$'
s_error_bl     db ' (error BL=$'
s_h_paren_crlf db 'h)',13,10,'$'
s_below_hma    db 'XMSSHARE: XMS 0Ch returned a physical address below 110000h, '
               db 'not an extended memory block',13,10,'$'
s_info_bad     db 'XMSSHARE: XMS 0Eh did not report 64 KB with lock count 1',13,10,'$'
s_no_vector    db 'XMSSHARE: no free user interrupt in 60h-66h',13,10,'$'
s_already      db 'XMSSHARE: already resident at Int $'
s_h_crlf       db 'h',13,10,'$'
s_not_resident db 'XMSSHARE: not installed',13,10,'$'
