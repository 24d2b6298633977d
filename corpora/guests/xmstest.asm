; xmstest.asm - XMS 3.0 driver checks (a DOS .COM program).
;
; Detects the XMS driver through Int 2Fh AX=4300h/4310h, then calls every XMS function
; (00h-12h, 88h, 89h, 8Eh, 8Fh) including their error paths, and prints one line per check
; with Int 21h AH=09h: what was checked, the value the XMS 3.0 specification (or, where the
; spec leaves a choice, the HimemX behaviour dos-memory.md section 1 recommends) requires,
; and "ok" or "FAIL (AX=.... BX=....)". Values that legitimately differ between XMS drivers
; (handle values, amounts of free memory, addresses) are never printed, only compared.
; Ends with a summary line and exit code 0 (every check passed) or 1 (Int 21h AH=4Ch).
;
; Needs a 386 (88h-8Fh take 32-bit registers); the detection and "no driver" path is 8086
; code, so an 8086 (no XMS driver) gets the message and exit code 1.
;
; Machine assumptions (true for vexed's default machine: 386, 16 MB, DOS loaded low):
; the HMA exists and is free, A20 is off when the program starts, there are no UMBs,
; /HMAMIN=0.
;
; References: XMS 3.0 spec (function definitions and error codes); dos-memory.md 1.1-1.7
; (return convention, error table, move structure and its checks, HMA order, A20 counting).
;
; Assemble: nasm -f bin xmstest.asm -o xmstest.com

        cpu 386
        bits 16
        org 100h

MAXH    equ 1024                ; most 0-KB handles the A1h check collects

; ----- macros ---------------------------------------------------------------------------

; Calls XMS function %1 (AH) through the far entry point from Int 2Fh AX=4310h.
%macro XMS 1
        mov ah,%1
        call far [xms_entry]
%endmacro

; Reports a check: ZF=1 means it passed. %1 = the message (no '$', no commas).
%macro CHECK 1
        call result
        db %1,'$'
%endmacro

; Passes when AX=0001h (XMS success).
%macro EXPECT_OK 1
        cmp ax,1
        CHECK %1
%endmacro

; Passes when AX=0000h and BL=%1 (XMS failure with that error code).
%macro EXPECT_ERR 2
        mov byte [want_bl],%1
        call is_error
        CHECK %2
%endmacro

; A check made of several comparisons: CHK_BEGIN, then REQ/REQ_IF, then CHK_END "message".
%macro CHK_BEGIN 0
%push chk
        mov byte [cond],0
%endmacro
; Requires %1 = %2.
%macro REQ 2
        cmp %1,%2
        jne %$fail
%endmacro
; Requires condition %1 (a condition code) to hold for the flags of the previous compare.
%macro REQ_IF 1
        j%-1 %$fail
%endmacro
%macro CHK_END 1
        mov byte [cond],1
%$fail:
        cmp byte [cond],1
        CHECK %1
%pop
%endmacro

; Fills the move structure and calls 0Bh: length, source handle, source offset,
; destination handle, destination offset. Operands may be immediates or memory.
%macro MOVE 5
        mov eax,%1
        mov [mv_len],eax
        mov ax,%2
        mov [mv_src_handle],ax
        mov eax,%3
        mov [mv_src_offset],eax
        mov ax,%4
        mov [mv_dst_handle],ax
        mov eax,%5
        mov [mv_dst_offset],eax
        mov si,move_struct
        XMS 0Bh
%endmacro

; ----- program --------------------------------------------------------------------------

start:
        ; Far pointers (segment in the high word, offset in the low word) of our buffers,
        ; for moves with handle 0.
        mov [p_buf1+2],cs
        mov [p_buf2+2],cs
        mov [p_abc+2],cs

        ; -- detection (Int 2Fh AX=4300h: AL=80h means an XMS driver is present) --
        mov ax,4300h
        int 2Fh
        mov [detect_al],al
        cmp al,80h
        CHECK '2F/4300 XMS driver present AL=80'
        cmp byte [detect_al],80h    ; (CHECK does not keep the flags)
        je .present
        mov dx,s_none
        mov ah,09h
        int 21h
        mov ax,4C01h
        int 21h
.present:
        mov ax,4310h
        int 2Fh
        mov [xms_entry],bx
        mov [xms_entry+2],es
        push cs
        pop es

        ; -- 00h: version. AX = 0300h for an XMS 3.0 driver; DX = 1 when the HMA exists --
        XMS 00h
        cmp ax,0300h
        CHECK '00 version 0300'
        XMS 00h
        cmp dx,1
        CHECK '00 HMA exists DX=0001'

        ; -- unknown function: 80h (spec: "function not implemented") --
        XMS 13h
        EXPECT_ERR 80h,'13 undefined function -> BL=80'

        ; -- 01h/02h: HMA (dos-memory.md 1.6: order 90h, 91h, 92h; 93h on release) --
        XMS 02h
        EXPECT_ERR 93h,'02 release HMA not allocated -> BL=93'
        mov dx,0FFFFh
        XMS 01h
        EXPECT_OK '01 request HMA DX=FFFF (application)'
        mov dx,0FFFFh
        XMS 01h
        EXPECT_ERR 91h,'01 request HMA again -> BL=91'
        XMS 02h
        EXPECT_OK '02 release HMA'
        xor dx,dx
        XMS 01h
        EXPECT_OK '01 request HMA DX=0000 (HMAMIN=0)'
        XMS 02h
        EXPECT_OK '02 release HMA again'

        ; -- 03h-07h: A20 (dos-memory.md 1.7, HimemX counting) --
        XMS 07h
        CHK_BEGIN
        REQ ax,0
        REQ bl,0
        CHK_END '07 A20 off at start AX=0000 BL=00'
        XMS 06h
        EXPECT_ERR 82h,'06 local disable at count 0 -> BL=82'
        XMS 05h
        EXPECT_OK '05 local enable'
        XMS 07h
        cmp ax,1
        CHECK '07 A20 on after 05'
        XMS 05h
        EXPECT_OK '05 local enable (count 2)'
        XMS 06h
        EXPECT_ERR 94h,'06 local disable leaving count 1 -> BL=94'
        XMS 07h
        cmp ax,1
        CHECK '07 A20 still on'
        XMS 06h
        EXPECT_OK '06 local disable to count 0'
        XMS 07h
        cmp ax,0
        CHECK '07 A20 off after last 06'
        XMS 03h
        EXPECT_OK '03 global enable'
        XMS 07h
        cmp ax,1
        CHECK '07 A20 on after 03'
        XMS 05h
        EXPECT_OK '05 local enable under global'
        XMS 04h
        EXPECT_ERR 94h,'04 global disable with local outstanding -> BL=94'
        XMS 06h
        EXPECT_ERR 94h,'06 local disable while global on -> BL=94'
        XMS 04h
        EXPECT_OK '04 global disable'
        XMS 07h
        cmp ax,0
        CHECK '07 A20 off after 04'

        ; -- 08h/88h: free memory (BL=00h on success; HMA not counted) --
        mov bl,55h
        XMS 08h
        mov [free_largest],ax
        mov [free_total],dx
        CHK_BEGIN
        REQ bl,0
        cmp ax,0
        REQ_IF a
        cmp ax,dx
        REQ_IF be
        CHK_END '08 query free: BL=00 and 0 < largest <= total'
        mov bl,55h
        XMS 88h
        mov [free_total32],edx
        CHK_BEGIN
        REQ bl,0
        cmp edx,eax
        REQ_IF ae
        cmp ecx,10FFFFh
        REQ_IF ae
        cmp eax,0FFFFh          ; 08h reports min(largest, FFFFh)
        jbe .small
        mov eax,0FFFFh
.small:
        REQ ax,[free_largest]
        CHK_END '88 query any free: BL=00 EAX agrees with 08 ECX >= 10FFFF'

        ; -- 09h/89h: allocate --
        mov dx,64
        XMS 09h
        mov [h1],dx
        CHK_BEGIN
        REQ ax,1
        cmp dx,0
        REQ_IF ne
        CHK_END '09 allocate 64 KB: handle not 0'
        mov edx,[free_total32]
        inc edx
        XMS 89h
        EXPECT_ERR 0A0h,'89 allocate more than is free -> BL=A0'
        mov ax,[free_total]
        cmp ax,0FFFFh
        je .skip09
        inc ax
        mov dx,ax
        XMS 09h
        EXPECT_ERR 0A0h,'09 allocate more than is free -> BL=A0'
.skip09:

        ; -- 0Eh/8Eh: handle information --
        mov dx,[h1]
        XMS 0Eh
        mov [free_handles],bl
        CHK_BEGIN
        REQ ax,1
        REQ dx,64
        REQ bh,0
        CHK_END '0E info: size 64 KB lock count 00'
        xor dx,dx
        XMS 0Eh
        EXPECT_ERR 0A2h,'0E info on handle 0 -> BL=A2'
        mov dx,[h1]
        XMS 8Eh
        CHK_BEGIN
        REQ ax,1
        REQ edx,64
        REQ bh,0
        cmp cx,0FFh             ; 0Eh reports min(free handles, FFh)
        jbe .fewh
        mov cx,0FFh
.fewh:
        REQ cl,[free_handles]
        CHK_END '8E info: EDX=64 lock count 00 free handles agree with 0E'
        xor edx,edx
        XMS 8Eh
        EXPECT_ERR 0A2h,'8E info on handle 0 -> BL=A2'

        ; -- 0Bh: move (dos-memory.md 1.4) --
        MOVE 256,0,[p_buf1],[h1],0
        EXPECT_OK '0B move 256 bytes conventional -> EMB'
        MOVE 256,[h1],0,0,[p_buf2]
        EXPECT_OK '0B move 256 bytes EMB -> conventional'
        mov si,buf1
        mov di,buf2
        mov cx,256
        repe cmpsb
        CHECK '0B round trip data intact'
        MOVE 3,0,[p_buf1],[h1],0
        EXPECT_ERR 0A7h,'0B odd length -> BL=A7'
        ; A freed handle is invalid everywhere.
        mov dx,16
        XMS 09h
        mov [h2],dx
        mov dx,[h2]
        XMS 0Ah
        MOVE 2,[h2],0,0,[p_buf2]
        EXPECT_ERR 0A3h,'0B invalid source handle -> BL=A3'
        MOVE 2,0,[p_buf1],[h2],0
        EXPECT_ERR 0A5h,'0B invalid destination handle -> BL=A5'
        MOVE 4,0,[p_buf1],[h1],(64*1024-2)
        EXPECT_ERR 0A7h,'0B offset+length past the block -> BL=A7'
        MOVE 2,[h1],(64*1024+2),0,[p_buf2]
        EXPECT_ERR 0A7h,'0B offset past the block -> BL=A7 (HimemX)'
        MOVE 20h,0,0FFFF0000h+0FFF0h,[h1],0
        EXPECT_ERR 0A7h,'0B handle 0 FFFF:FFF0 + 20h passes 10FFF0 -> BL=A7'
        MOVE 4,[h1],0,[h1],2
        EXPECT_ERR 0A8h,'0B overlap src < dst < src+len -> BL=A8'
        MOVE 0,[h1],0,[h1],2
        EXPECT_OK '0B length 0'
        ; Downward overlap is a correct forward copy: ABCDEFGH -> CDEFGHGH.
        MOVE 8,0,[p_abc],[h1],0
        MOVE 6,[h1],2,[h1],0
        EXPECT_OK '0B downward overlapping move'
        MOVE 8,[h1],0,0,[p_buf2]
        mov si,s_shifted
        mov di,buf2
        mov cx,8
        repe cmpsb
        CHECK '0B downward overlap result CDEFGHGH'
        ; The caller's A20 state survives a move (off before, off after).
        XMS 07h
        cmp ax,0
        CHECK '07 A20 still off after moves'

        ; -- 0Ch/0Dh: lock counts (8-bit, dos-memory.md 1.5) --
        mov dx,[h1]
        XMS 0Ch
        CHK_BEGIN
        REQ ax,1
        cmp dx,0010h            ; DX:BX = 32-bit physical address, above 1 MB
        REQ_IF ae
        CHK_END '0C lock: address DX:BX >= 100000'
        mov cx,254
.lock254:
        mov dx,[h1]
        push cx
        XMS 0Ch
        pop cx
        cmp ax,1
        jne .lockbad
        loop .lock254
.lockbad:
        EXPECT_OK '0C lock 255 times'
        mov dx,[h1]
        XMS 0Ch
        EXPECT_ERR 0ACh,'0C 256th lock -> BL=AC'
        mov dx,[h1]
        XMS 0Eh
        CHK_BEGIN
        REQ ax,1
        REQ bh,0FFh
        CHK_END '0E lock count FF after overflow'
        mov dx,[h1]
        XMS 0Ah
        EXPECT_ERR 0ABh,'0A free locked block -> BL=AB'
        mov dx,[h1]
        mov bx,128
        XMS 0Fh
        EXPECT_ERR 0ABh,'0F reallocate locked block -> BL=AB'
        mov dx,[h1]
        mov ebx,128
        XMS 8Fh
        EXPECT_ERR 0ABh,'8F reallocate locked block -> BL=AB'
        xor dx,dx
        XMS 0Ch
        EXPECT_ERR 0A2h,'0C lock handle 0 -> BL=A2'
        mov cx,255
.unlock255:
        mov dx,[h1]
        push cx
        XMS 0Dh
        pop cx
        cmp ax,1
        jne .unlockbad
        loop .unlock255
.unlockbad:
        EXPECT_OK '0D unlock 255 times'
        mov dx,[h1]
        XMS 0Dh
        EXPECT_ERR 0AAh,'0D unlock unlocked block -> BL=AA'
        xor dx,dx
        XMS 0Dh
        EXPECT_ERR 0A2h,'0D unlock handle 0 -> BL=A2'

        ; -- 0Fh/8Fh: reallocate keeps the data --
        MOVE 256,0,[p_buf1],[h1],0
        mov dx,16               ; a block after h1, so growing may have to move
        XMS 09h
        mov [h2],dx
        mov dx,[h1]
        mov bx,128
        XMS 0Fh
        EXPECT_OK '0F grow 64 -> 128 KB'
        mov dx,[h1]
        XMS 0Eh
        cmp dx,128
        CHECK '0E size 128 KB after 0F'
        MOVE 256,[h1],0,0,[p_buf2]
        mov si,buf1
        mov di,buf2
        mov cx,256
        repe cmpsb
        CHECK '0F data kept after growing'
        mov dx,[h1]
        mov bx,32
        XMS 0Fh
        EXPECT_OK '0F shrink 128 -> 32 KB'
        mov dx,[h1]
        XMS 0Eh
        cmp dx,32
        CHECK '0E size 32 KB after shrink'
        mov dx,[h1]
        mov ebx,48
        XMS 8Fh
        EXPECT_OK '8F reallocate to 48 KB'
        mov dx,[h1]
        XMS 8Eh
        cmp edx,48
        CHECK '8E size 48 KB after 8F'
        MOVE 256,[h1],0,0,[p_buf2]
        mov si,buf1
        mov di,buf2
        mov cx,256
        repe cmpsb
        CHECK '8F data kept'
        mov dx,[h1]
        mov ebx,[free_total32]
        add ebx,1000
        XMS 8Fh
        EXPECT_ERR 0A0h,'8F reallocate beyond free memory -> BL=A0'
        xor dx,dx
        mov bx,1
        XMS 0Fh
        EXPECT_ERR 0A2h,'0F reallocate handle 0 -> BL=A2'
        xor dx,dx
        mov ebx,1
        XMS 8Fh
        EXPECT_ERR 0A2h,'8F reallocate handle 0 -> BL=A2'

        ; -- 0Ah: free --
        mov dx,[h2]
        XMS 0Ah
        EXPECT_OK '0A free'
        mov dx,[h2]
        XMS 0Ah
        EXPECT_ERR 0A2h,'0A free a freed handle -> BL=A2'
        xor dx,dx
        XMS 0Ah
        EXPECT_ERR 0A2h,'0A free handle 0 -> BL=A2'
        mov dx,[h1]
        XMS 0Ah
        EXPECT_OK '0A free the 48 KB block'

        ; -- 89h/8Eh with 32-bit sizes --
        mov edx,1
        XMS 89h
        mov [h1],dx
        EXPECT_OK '89 allocate 1 KB'
        mov dx,[h1]
        XMS 8Eh
        CHK_BEGIN
        REQ ax,1
        REQ edx,1
        CHK_END '8E size 1 KB'
        mov dx,[h1]
        XMS 0Ah
        EXPECT_OK '0A free the 1 KB block'

        ; -- A1h: 0-KB blocks until the handles run out --
        xor cx,cx
        mov di,handles
.alloc0:
        cmp cx,MAXH
        jae .alloc0_end
        xor dx,dx
        push cx
        push di
        XMS 09h
        pop di
        pop cx
        cmp ax,1
        jne .alloc0_end
        mov [di],dx
        add di,2
        inc cx
        jmp .alloc0
.alloc0_end:
        mov [nhandles],cx
        EXPECT_ERR 0A1h,'09 allocate 0 KB until handles run out -> BL=A1'
        mov cx,[nhandles]
        mov si,handles
        mov byte [cond],1
.free0:
        jcxz .free0_end
        mov dx,[si]
        push cx
        push si
        XMS 0Ah
        pop si
        pop cx
        cmp ax,1
        je .free0_ok
        mov byte [cond],0
.free0_ok:
        add si,2
        dec cx
        jmp .free0
.free0_end:
        cmp byte [cond],1
        CHECK '0A free every 0-KB block'

        ; -- everything is back --
        XMS 08h
        CHK_BEGIN
        REQ dx,[free_total]
        REQ ax,[free_largest]
        CHK_END '08 all memory free again'

        ; -- 10h-12h: UMBs (none here: B1h with DX=0; B2h for any segment) --
        mov dx,100h
        XMS 10h
        CHK_BEGIN
        REQ ax,0
        REQ bl,0B1h
        REQ dx,0
        CHK_END '10 request UMB -> BL=B1 DX=0000 (no UMBs)'
        mov dx,0D000h
        XMS 11h
        EXPECT_ERR 0B2h,'11 release UMB D000 -> BL=B2'
        mov dx,0D000h
        mov bx,10h
        XMS 12h
        EXPECT_ERR 0B2h,'12 reallocate UMB D000 -> BL=B2'

        ; -- Int 15h AH=88h: an XMS driver reports 0 KB (dos-memory.md 1.7) --
        mov ah,88h
        int 15h
        sbb cx,cx               ; CX = 0 unless CF
        or cx,ax
        CHECK '15/88 extended memory size 0 (XMS owns it)'

        ; -- summary --
        mov dx,s_sum1
        mov ah,09h
        int 21h
        mov ax,[checks]
        call print_dec
        mov dx,s_sum2
        mov ah,09h
        int 21h
        mov ax,[failures]
        call print_dec
        mov dx,s_sum3
        mov ah,09h
        int 21h
        mov ax,4C00h
        cmp word [failures],0
        je .exit
        mov al,1
.exit:
        int 21h

; ----- subroutines ----------------------------------------------------------------------

; ZF = (AX=0 and BL=[want_bl]); AX and BX unchanged.
is_error:
        test ax,ax
        jnz .done
        cmp bl,[want_bl]
.done:
        ret

; Prints the '$'-terminated message that follows the CALL, then " ok" (ZF=1) or
; " FAIL (AX=.... BX=....)" with the registers at the call; returns past the message.
result:
        mov [got_ax],ax
        mov [got_bx],bx
        pushf
        pop word [got_flags]
        pop si
        mov dx,si
        mov ah,09h
        int 21h
.skip:
        lodsb
        cmp al,'$'
        jne .skip
        push si
        inc word [checks]
        push word [got_flags]
        popf
        jnz .fail
        mov dx,s_ok
        mov ah,09h
        int 21h
        ret
.fail:
        inc word [failures]
        mov dx,s_fail
        mov ah,09h
        int 21h
        mov ax,[got_ax]
        call print_hex
        mov dx,s_bx
        mov ah,09h
        int 21h
        mov ax,[got_bx]
        call print_hex
        mov dx,s_close
        mov ah,09h
        int 21h
        ret

; Prints AX as 4 hex digits.
print_hex:
        mov di,numbuf
        mov cx,4
.digit:
        push cx
        mov cl,4                ; (8086 encoding: the no-driver path runs on any CPU)
        rol ax,cl
        pop cx
        mov bx,ax
        and bx,0Fh
        mov dl,[hexdigits+bx]
        mov [di],dl
        inc di
        loop .digit
        mov byte [di],'$'
        mov dx,numbuf
        mov ah,09h
        int 21h
        ret

; Prints AX in decimal.
print_dec:
        mov di,numbuf+6
        mov byte [di],'$'
        mov bx,10
.next:
        xor dx,dx
        div bx
        add dl,'0'
        dec di
        mov [di],dl
        test ax,ax
        jnz .next
        mov dx,di
        mov ah,09h
        int 21h
        ret

; ----- data -----------------------------------------------------------------------------

s_none      db 'xmstest: no XMS driver',13,10,'$'
s_ok        db ' ok',13,10,'$'
s_fail      db ' FAIL (AX=$'
s_bx        db ' BX=$'
s_close     db ')',13,10,'$'
s_sum1      db 'xmstest: $'
s_sum2      db ' checks, $'
s_sum3      db ' failed',13,10,'$'
s_abc       db 'ABCDEFGH'
s_shifted   db 'CDEFGHGH'
hexdigits   db '0123456789ABCDEF'

p_buf1      dw buf1,0           ; far pointers, segments filled in at start
p_buf2      dw buf2,0
p_abc       dw s_abc,0

xms_entry   dd 0
checks      dw 0
failures    dw 0
want_bl     db 0
detect_al   db 0
cond        db 0
got_ax      dw 0
got_bx      dw 0
got_flags   dw 0
free_largest dw 0
free_total  dw 0
free_total32 dd 0
free_handles db 0
h1          dw 0
h2          dw 0
nhandles    dw 0
numbuf      times 8 db 0

; The XMS move structure (XMS 3.0 / RBIL #02776), 16 bytes, packed.
move_struct:
mv_len          dd 0
mv_src_handle   dw 0
mv_src_offset   dd 0
mv_dst_handle   dw 0
mv_dst_offset   dd 0

; 256 bytes of pattern for moves, and a buffer to read back into.
buf1:
%assign i 0
%rep 256
        db (i * 37 + 11) & 0FFh
%assign i i+1
%endrep

        section .bss            ; (not part of the .COM file; DOS gives us the whole segment)
buf2        resb 256
handles     resw MAXH
