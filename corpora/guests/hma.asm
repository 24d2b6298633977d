; hma.asm - using the HMA the way Microsoft KB Q63284 describes it (a DOS .COM program).
;
; The flow: detect the XMS driver (Int 2Fh AX=4300h, AL=80h), get its entry point
; (AX=4310h), request the whole HMA as an application (XMS 01h, DX=FFFFh), turn A20 on
; with a global enable (03h; the HMA owner's call), copy a small routine to FFFF:0010 with
; an XMS move (0Bh, both handles 0: source our segment:offset, destination FFFF:0010),
; far-call it there, then show the 1 MB wrap (dos-memory.md 1.8): with A20 on, FFFF:x+10h
; and 0000:x are different bytes ("wrap off"); after the global disable (04h) they are
; the same byte ("wrap on"). Finally release the HMA (02h). Exit code 0 when every step
; behaved as the XMS 3.0 spec says, 1 otherwise.
;
; The wrap probe writes only into the HMA, which we own while A20 is on: it stores the
; complement of the four words at 0000:0200 at FFFF:0210, so the two places differ as long
; as A20 is on and read the same once A20 is off (nothing in low memory is touched; HimemX
; tests A20 the same way, by comparison). The routine returns a value rather than printing:
; a far pointer into the HMA must never be passed to DOS (dos-memory.md 1.6).
;
; Assemble: nasm -f bin hma.asm -o hma.com

        cpu 386
        bits 16
        org 100h

HMA_SEG     equ 0FFFFh
HMA_CODE    equ 0010h           ; first byte of the HMA: FFFF:0010 = 100000h
PROBE_LOW   equ 0200h           ; 0000:0200 (four interrupt vectors, only read)
PROBE_HIGH  equ PROBE_LOW+10h   ; FFFF:0210 = 100200h, its alias when A20 is off

%macro XMS 1
        mov ah,%1
        call far [xms_entry]
%endmacro

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
        jmp no_xms              ; (a short jump and a near JMP: 8086 code up to here, so
.found:                         ; an 8086, which has no XMS driver, gets the message)
        mov ax,4310h
        int 2Fh
        mov [xms_entry],bx
        mov [xms_entry+2],es
        push cs
        pop es
        SAY s_found

        ; -- 2. Request the HMA: DX=FFFFh is what an application passes (always >= /HMAMIN) --
        mov dx,0FFFFh
        XMS 01h
        cmp ax,1
        jne no_hma
        SAY s_hma_ok

        ; -- 3. Global enable A20 (03h): the HMA is addressable now --
        XMS 03h
        cmp ax,1
        jne a20_failed
        XMS 07h                 ; 07h: AX=1 when A20 is physically on
        cmp ax,1
        jne a20_failed
        SAY s_a20_on

        ; -- 4. Copy the routine into the HMA with XMS 0Bh, handle 0 on both sides --
        mov word [mv_src_offset],hma_code
        mov [mv_src_offset+2],cs
        mov si,move_struct
        XMS 0Bh
        cmp ax,1
        jne move_failed
        SAY s_copied

        ; -- 5. Far-call it: it returns AX = its signature and DX = its CS --
        call far [hma_entry]
        cmp ax,SIGNATURE
        jne call_failed
        cmp dx,HMA_SEG
        jne call_failed
        SAY s_called

        ; -- 6. The wrap. Put the complement of 0000:0200 at FFFF:0210 (in the HMA) --
        mov ax,HMA_SEG
        mov es,ax
        xor ax,ax
        mov fs,ax               ; FS = 0000h
        xor bx,bx
.complement:
        mov ax,[fs:PROBE_LOW+bx]
        not ax
        mov [es:PROBE_HIGH+bx],ax
        add bx,2
        cmp bx,8
        jb .complement
        call probe              ; A20 on: FFFF:0210 is its own memory
        jz wrong_wrap
        SAY s_wrap_off

        ; -- 7. Global disable A20 (04h): FFFF:0210 is 0000:0200 again --
        XMS 04h
        cmp ax,1
        jne a20_failed
        XMS 07h
        cmp ax,0
        jne a20_failed
        call probe
        jnz wrong_wrap
        SAY s_wrap_on

        ; -- 8. Release the HMA (02h) --
        XMS 02h
        cmp ax,1
        jne release_failed
        SAY s_released
        mov ax,4C00h
        int 21h

; ZF=1 when the 8 bytes at FFFF:0210 equal those at 0000:0200 (the wrap is on).
probe:
        push ds
        push es
        mov ax,HMA_SEG
        mov es,ax
        xor ax,ax
        mov ds,ax
        mov si,PROBE_LOW
        mov di,PROBE_HIGH
        mov cx,4
        cld
        repe cmpsw
        pop es
        pop ds
        ret

no_xms:
        mov dx,s_no_xms
        jmp fail
no_hma:
        mov dx,s_no_hma
        jmp fail
a20_failed:
        mov dx,s_a20_failed
        jmp fail
move_failed:
        mov dx,s_move_failed
        jmp fail
call_failed:
        mov dx,s_call_failed
        jmp fail
wrong_wrap:
        mov dx,s_wrong_wrap
        jmp fail
release_failed:
        mov dx,s_release_failed
fail:
        push cs
        pop ds
        mov ah,09h
        int 21h
        mov ax,4C01h
        int 21h

; ----- the routine that runs at FFFF:0010 ---------------------------------------------
; Position-dependent on purpose: it reads its own data through CS at the offset it will
; have in the HMA, so it only works where it was copied to.

SIGNATURE   equ 0C0DEh

hma_code:
        mov ax,[cs:HMA_CODE + (hma_sig - hma_code)]
        mov dx,cs
        retf
hma_sig     dw SIGNATURE
        times ($ - hma_code) & 1 db 90h    ; XMS moves need an even length
hma_code_end:

; ----- data ---------------------------------------------------------------------------

xms_entry   dd 0
hma_entry   dw HMA_CODE, HMA_SEG

; The XMS move structure (XMS 3.0 / RBIL #02776): handle 0 means "segment:offset", high
; word segment, low word offset.
move_struct:
mv_len          dd hma_code_end - hma_code
mv_src_handle   dw 0
mv_src_offset   dd 0                        ; filled in: CS:hma_code
mv_dst_handle   dw 0
mv_dst_offset   dw HMA_CODE, HMA_SEG        ; FFFF:0010

s_found         db 'hma: XMS driver found',13,10,'$'
s_hma_ok        db 'hma: 01 request HMA DX=FFFF ok',13,10,'$'
s_a20_on        db 'hma: 03 global enable A20 ok (07 says on)',13,10,'$'
s_copied        db 'hma: 0B copied the routine to FFFF:0010 ok',13,10,'$'
s_called        db 'hma: far call FFFF:0010 returned C0DE from CS=FFFF ok',13,10,'$'
s_wrap_off      db 'hma: A20 on: wrap off (FFFF:0210 is not 0000:0200)',13,10,'$'
s_wrap_on       db 'hma: A20 off: wrap on (FFFF:0210 is 0000:0200)',13,10,'$'
s_released      db 'hma: 02 release HMA ok',13,10,'$'
s_no_xms        db 'hma: FAIL no XMS driver',13,10,'$'
s_no_hma        db 'hma: FAIL XMS 01 request HMA failed',13,10,'$'
s_a20_failed    db 'hma: FAIL A20 did not follow XMS 03/04',13,10,'$'
s_move_failed   db 'hma: FAIL XMS 0B move to FFFF:0010 failed',13,10,'$'
s_call_failed   db 'hma: FAIL the routine in the HMA returned a wrong value',13,10,'$'
s_wrong_wrap    db 'hma: FAIL the 1 MB wrap does not follow A20',13,10,'$'
s_release_failed db 'hma: FAIL XMS 02 release HMA failed',13,10,'$'
