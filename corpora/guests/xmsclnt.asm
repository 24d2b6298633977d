; xmsclnt.asm - the client of the Microsoft KB Q74809 TSR (xmsshare.asm).
;
; KB Q74809 / dos-memory.md section 3.4, step 3: a DOS program (a DOS VM once Windows runs)
; asks the TSR for the shared block and reaches it with XMS moves on the handle. This client
; also checks what a Windows application would rely on (step 2): that the physical address
; the TSR reported really holds the block's data, and that it is the address the driver
; reports for the handle.
;
; Fatal steps (the program prints the reason and exits with code 1):
;   * Int 2Fh AX=4300h (AL=80h) and 4310h (entry point): XMS driver present (dos-memory.md
;     1.1).
;   * Finding XMSSHARE: the first vector of 60h-66h whose segment holds "XMSSHARE" at
;     offset 0103h (checked before calling anything), then INT n with AX=5853h: CF clear,
;     AX = handle, DX:BX = physical address (the interface xmsshare.asm defines).
; Checks (one line each, "ok" or "FAIL (AX=.... BX=.... DX=....)" with the registers the
; check looked at):
;   1. XMS 0Eh on the handle: AX=1, BH = lock count 1 (XMSSHARE's lock), DX = 64 KB
;      (XMS 3.0 "Get EMB Handle Information"; dos-memory.md 1.3).
;   2. XMS 0Bh moves 1 KB from conventional memory (source handle 0, source offset =
;      segment:offset with the segment in the high word, dos-memory.md 1.4) to the EMB at
;      offset 0: AX=1.
;   3. After the local buffer is cleared, XMS 0Bh moves the 1 KB back (source = the EMB at
;      offset 0, destination handle 0): AX=1, and the buffer holds the pattern again.
;   4. Int 15h AH=87h (dos-memory.md 5.2) copies 1 KB from the reported physical address
;      into the cleared buffer: CF clear, AH=0, and it is the pattern. This is what Q74809's
;      Windows application relies on when it maps that address with DPMI 0800h.
;   5. XMS 0Ch on the same handle: AX=1 and DX:BX = the address XMSSHARE reported (the lock
;      address is fixed while the block stays locked, dos-memory.md 1.5).
;   6. XMS 0Eh: lock count 2 (XMS 3.0 lets locks nest; the count is per handle).
;   7. XMS 0Dh unlock: AX=1 (done only when check 5's lock succeeded, so XMSSHARE's own lock
;      is never taken away).
;   8. XMS 0Eh: lock count 1 again.
; Then a summary line; exit code 0 when every check passed, 1 otherwise (Int 21h AH=4Ch).
; Handle values and addresses are compared, never printed: they differ between drivers.
;
; Assemble: nasm -f bin xmsclnt.asm -o xmsclnt.com

        cpu 8086
        bits 16
        org 100h

SIG_AX  equ 5853h               ; 'XS': XMSSHARE's request value
SIG_OFF equ 0103h               ; where "XMSSHARE" sits in the TSR's PSP segment
EMB_KB  equ 64
FIRST_INT equ 60h
LAST_INT  equ 66h
BUF_LEN equ 1024                ; bytes moved (even, as XMS 0Bh requires)

; Calls XMS function %1 through the far entry point.
%macro XMS 1
        mov ah,%1
        call far [xms_entry]
%endmacro

; Reports a check: ZF=1 means it passed. %1 = the message (no '$').
%macro CHECK 1+
        call result
        db %1,'$'
%endmacro

start:
        ; -- XMS detection (dos-memory.md 1.1) --
        mov ax,4300h
        int 2Fh
        cmp al,80h
        je .have_xms
        mov dx,s_no_xms
        jmp fatal
.have_xms:
        mov ax,4310h
        int 2Fh
        mov [xms_entry],bx
        mov [xms_entry+2],es
        push cs
        pop es
        mov dx,s_present
        call print

        ; -- find XMSSHARE: a vector of 60h-66h whose segment holds the signature --
        mov byte [int_no],FIRST_INT
.scan:
        mov al,[int_no]
        mov ah,35h              ; Int 21h AH=35h: ES:BX = vector AL
        int 21h
        mov ax,es
        or ax,bx
        jz .next                ; 0000:0000: unused
        mov si,tsr_signature
        mov di,SIG_OFF
        mov cx,8
        cld
        repe cmpsb
        je .found
.next:
        inc byte [int_no]
        cmp byte [int_no],LAST_INT
        jbe .scan
        push cs
        pop es
        mov dx,s_no_tsr
        jmp fatal
.found:
        push cs
        pop es
        mov al,[int_no]
        mov [call_tsr.int+1],al ; patch the INT instruction (CALLs below flush any prefetch)
        mov dx,s_found
        call print
        mov al,[int_no]
        call hex2
        mov dx,s_h_crlf
        call print

        ; -- ask it: AX=5853h -> CF clear, AX = handle, DX:BX = physical address --
        mov ax,SIG_AX
        call call_tsr
        jnc .answered
        mov dx,s_no_answer
        jmp fatal
.answered:
        mov [handle],ax
        mov [addr],bx
        mov [addr+2],dx
        mov dx,s_answered
        call print

        ; -- check 1: XMS 0Eh: lock count 1, 64 KB --
        mov dx,[handle]
        XMS 0Eh
        cmp ax,1
        jne .c1
        cmp bh,1
        jne .c1
        cmp dx,EMB_KB
.c1:
        CHECK 'XMSCLNT: handle information (XMS 0Eh): 64 KB, lock count 1 (XMSSHARE',27h,'s lock)'

        ; -- check 2: pattern -> EMB offset 0 (XMS 0Bh, source handle 0) --
        call fill_pattern
        mov word [mv_src_handle],0
        mov word [mv_src_offset],buffer
        mov [mv_src_offset+2],cs
        mov ax,[handle]
        mov [mv_dst_handle],ax
        mov word [mv_dst_offset],0
        mov word [mv_dst_offset+2],0
        mov si,move_struct
        XMS 0Bh
        cmp ax,1
        CHECK 'XMSCLNT: wrote a 1 KB pattern to the block at offset 0 (XMS 0Bh, handle 0 -> EMB)'

        ; -- check 3: clear the buffer, EMB offset 0 -> buffer (XMS 0Bh), compare --
        call clear_buffer
        mov ax,[handle]
        mov [mv_src_handle],ax
        mov word [mv_src_offset],0
        mov word [mv_src_offset+2],0
        mov word [mv_dst_handle],0
        mov word [mv_dst_offset],buffer
        mov [mv_dst_offset+2],cs
        mov si,move_struct
        XMS 0Bh
        cmp ax,1
        jne .c3
        call compare_pattern
.c3:
        CHECK 'XMSCLNT: read it back into a cleared buffer (XMS 0Bh, EMB -> handle 0): pattern round trip'

        ; -- check 4: the reported physical address holds the pattern (Int 15h AH=87h) --
        call clear_buffer
        ; source descriptor (GDT+10h): limit, base bits 0-23, access 93h, base bits 24-31
        mov word [gdt+10h],BUF_LEN-1
        mov ax,[addr]
        mov [gdt+12h],ax
        mov ax,[addr+2]
        mov [gdt+14h],al
        mov byte [gdt+15h],93h
        mov [gdt+17h],ah
        ; destination descriptor (GDT+18h): the buffer's linear address CS*16+buffer
        mov word [gdt+18h],BUF_LEN-1
        mov ax,cs
        mov dx,16
        mul dx                  ; DX:AX = CS*16
        add ax,buffer
        adc dx,0
        mov [gdt+1Ah],ax
        mov [gdt+1Ch],dl
        mov byte [gdt+1Dh],93h
        mov [gdt+1Fh],dh
        mov si,gdt              ; ES:SI -> GDT (ES = CS)
        mov cx,BUF_LEN/2        ; words
        mov ah,87h
        int 15h
        jc .c4_failed
        test ah,ah              ; AH = status, 00h = copied
        jnz .c4
        call compare_pattern
        jmp .c4
.c4_failed:
        xor cx,cx
        inc cx                  ; ZF=0: CF set means the copy failed
.c4:
        CHECK 'XMSCLNT: the physical address XMSSHARE reported holds the pattern (Int 15h AH=87h)'

        ; -- check 5: a fresh lock reports the same address --
        mov dx,[handle]
        XMS 0Ch
        cmp ax,1
        jne .c5
        mov byte [relock_ok],1
        cmp bx,[addr]
        jne .c5
        cmp dx,[addr+2]
.c5:
        CHECK 'XMSCLNT: a second lock (XMS 0Ch) returns the address XMSSHARE reported'

        ; -- check 6: lock count 2 --
        mov dx,[handle]
        XMS 0Eh
        cmp ax,1
        jne .c6
        cmp bh,2
.c6:
        CHECK 'XMSCLNT: lock count after the second lock (XMS 0Eh) is 2'

        ; -- check 7: unlock (only our own lock) --
        cmp byte [relock_ok],1
        jne .c7
        mov dx,[handle]
        XMS 0Dh
        cmp ax,1
.c7:
        CHECK 'XMSCLNT: unlock (XMS 0Dh)'

        ; -- check 8: lock count 1 again --
        mov dx,[handle]
        XMS 0Eh
        cmp ax,1
        jne .c8
        cmp bh,1
.c8:
        CHECK 'XMSCLNT: lock count after the unlock (XMS 0Eh) is 1 again'

        ; -- summary --
        cmp word [failures],0
        jne .failed
        mov dx,s_all_ok
        call print
        mov ax,4C00h
        int 21h
.failed:
        mov dx,s_some_failed
        call print
        mov ax,4C01h
        int 21h

; Prints the message at DX and exits with code 1.
fatal:
        call print
        mov ax,4C01h
        int 21h

; INT n with the number found by the scan (patched into the instruction).
call_tsr:
.int:   int 60h
        ret

; ----- the pattern ----------------------------------------------------------------------

; AL = pattern byte number CX (0-1023): low(CX) + 3*high(CX) + 0A5h, so every 256-byte
; quarter differs from the others.
pattern_byte:
        mov al,ch
        add al,ch
        add al,ch
        add al,cl
        add al,0A5h
        ret

fill_pattern:
        mov di,buffer
        xor cx,cx
.loop:
        call pattern_byte
        mov [di],al
        inc di
        inc cx
        cmp cx,BUF_LEN
        jb .loop
        ret

clear_buffer:
        mov di,buffer
        mov cx,BUF_LEN
        xor al,al
        cld
        rep stosb
        ret

; ZF=1 when the buffer holds the pattern.
compare_pattern:
        mov si,buffer
        xor cx,cx
.loop:
        call pattern_byte
        cmp [si],al
        jne .done               ; ZF=0
        inc si
        inc cx
        cmp cx,BUF_LEN
        jb .loop
        cmp cx,cx               ; ZF=1
.done:
        ret

; ----- reporting ------------------------------------------------------------------------

; Prints the '$'-terminated message that follows the CALL, then " ok" (ZF=1) or
; " FAIL (AX=.... BX=.... DX=....)" with the registers at the call; returns past it.
result:
        mov [got_ax],ax
        mov [got_bx],bx
        mov [got_dx],dx
        pushf
        pop word [got_flags]
        pop si
        mov dx,si
        call print
.skip:
        lodsb
        cmp al,'$'
        jne .skip
        push si
        push word [got_flags]
        popf
        jnz .fail
        mov dx,s_ok
        call print
        ret
.fail:
        inc word [failures]
        mov dx,s_fail_ax
        call print
        mov ax,[got_ax]
        call hex4
        mov dx,s_fail_bx
        call print
        mov ax,[got_bx]
        call hex4
        mov dx,s_fail_dx
        call print
        mov ax,[got_dx]
        call hex4
        mov dx,s_fail_end
        call print
        ret

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

; ----- data -----------------------------------------------------------------------------

xms_entry   dd 0
handle      dw 0
addr        dd 0                ; physical address from XMSSHARE (low word, high word)
int_no      db 0
relock_ok   db 0
failures    dw 0
got_ax      dw 0
got_bx      dw 0
got_dx      dw 0
got_flags   dw 0

; XMS 0Bh move structure (dos-memory.md 1.4), 16 bytes, packed.
move_struct:
mv_len        dd BUF_LEN
mv_src_handle dw 0
mv_src_offset dd 0
mv_dst_handle dw 0
mv_dst_offset dd 0

; Int 15h AH=87h descriptor table (RBIL #00499), 30h bytes; only +10h and +18h are filled.
gdt         times 30h db 0

tsr_signature db 'XMSSHARE'

s_present     db 'XMSCLNT: XMS driver present (Int 2Fh AX=4300h/4310h)',13,10,'$'
s_found       db 'XMSCLNT: found XMSSHARE',27h,'s signature behind Int $'
s_h_crlf      db 'h',13,10,'$'
s_answered    db 'XMSCLNT: AX=5853h returned CF clear with the handle and the '
              db 'physical address',13,10,'$'
s_ok          db ': ok',13,10,'$'
s_fail_ax     db ': FAIL (AX=$'
s_fail_bx     db ' BX=$'
s_fail_dx     db ' DX=$'
s_fail_end    db ')',13,10,'$'
s_all_ok      db 'XMSCLNT: all checks passed',13,10,'$'
s_some_failed db 'XMSCLNT: some checks FAILED',13,10,'$'
s_no_xms      db 'XMSCLNT: no XMS driver (Int 2Fh AX=4300h did not return AL=80h)',13,10,'$'
s_no_tsr      db 'XMSCLNT: XMSSHARE is not resident (no signature behind Int 60h-66h)',13,10,'$'
s_no_answer   db 'XMSCLNT: XMSSHARE returned CF set for AX=5853h',13,10,'$'

buffer      times BUF_LEN db 0
