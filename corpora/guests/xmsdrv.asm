; xmsdrv.asm - a small XMS 3.0 driver (XMSDRV.SYS), loaded by CONFIG.SYS's DEVICE= line:
; a foreign driver for vexed to observe when its built-in XMS driver is switched off.
;
; The device: a character device driver named XMSXXXX0 (as HIMEM's), attribute 8000h;
; every request but INIT answers 8103h (unknown command). Header and request protocol as
; echodev.asm (RBIL #01646, #02597).
;
; INIT (dos-memory.md 1.1, 1.7; RBIL INT 15/AH=88h, INT 2F/AX=4300h, 4310h):
;   - extended memory from Int 15h AH=88h (none, or an 8086/8088: no install, break
;     address CS:0000); the first 64 KB above 1 MB are the HMA, the rest is the EMB pool;
;   - hooks Int 2Fh (AX=4300h -> AL=80h, AX=4310h -> ES:BX = the entry, anything else to
;     the previous handler) and Int 15h (AH=88h -> AX=0 with CF clear, as real drivers do:
;     the driver owns extended memory; anything else to the previous handler), by writing
;     the vectors directly (INIT may only use Int 21h 01h-0Ch and 30h);
;   - prints a one-line banner (Int 21h AH=09h) and returns the break address `init`,
;     after the resident part.
;
; The entry starts with `jmp short` + 3 NOPs (hookable, dos-memory.md 1.1). Functions
; (XMS 3.0 specification; error codes dos-memory.md 1.2; where implementations differ,
; HimemX, as 1.4-1.7 recommend):
;   00h version 0300h, BX = driver revision 0001h, DX = 1 when an HMA exists;
;   01h/02h the HMA, whole: 01h 90h (no HMA), 91h (in use), 92h never (HMAMIN is 0);
;       02h 90h, 93h (not allocated);
;   03h-07h A20 with HimemX's counting (1.7): one local counter and a global flag; 03h
;       sets the flag and switches on; 04h with locals outstanding -> 94h, else off; 05h
;       switches on at the first count; 06h at count 0 -> 82h, leaving it > 0 or with the
;       global flag set -> 94h, else off; 07h tests the wrap physically (0000:0080 against
;       FFFF:0090), BL=00h. The gate is port 92h bit 1 (bit 0, reset, never set), or the
;       8042's output port (command D1h) when port 92h does not move the line;
;   08h largest and total free KB (A0h when none); the HMA is never counted;
;   09h/0Ah allocate (A1h no handle, A0h no room; DX=0 on failure) / free (A2h, ABh) in a
;       table of NHANDLES handles (near pointers to the entries, as MS HIMEM and HimemX),
;       first fit in KB; 0-KB blocks are handles without memory;
;   0Bh move: validation as HimemX (A7h odd length, A3h/A5h invalid handle, A7h when
;       offset + length passes the block (offset past it too) or a handle-0 address + length
;       passes 10FFF0h, A8h for src < dst < src + length); the copy goes through Int 15h
;       AH=87h in pieces of at most 32 KB, and A20 is restored as found (the AT BIOS
;       leaves it off);
;   0Ch/0Dh lock (ACh past 255; DX:BX = physical address) / unlock (AAh);
;   0Eh BH lock count, BL free handles, DX size KB;
;   0Fh reallocate: shrinking stays in place, growing too when the KB after the block
;       are free, else the block moves (data copied) to the lowest gap that holds it, A0h
;       when none does; A2h, ABh when locked;
;   10h-12h (UMBs) AX=0 BL=80h (not implemented, which XMS 3.0 allows);
;   88h, 89h, 8Eh, 8Fh the 32-bit forms on a 386 (80h on a 286); 88h ECX = the highest
;       physical address of the pool;
;   anything else AX=0 BL=80h.
; The driver's variables are not reentrant: an interrupt handler calling it during a move
; would clobber the move's state (real drivers run moves with interrupts open, but this one
; is a test guest).
;
; Assemble: nasm -f bin xmsdrv.asm -o xmsdrv.sys

        cpu 286
        bits 16
        org 0

NHANDLES equ 16
HSIZE    equ 6                  ; entry: flag, lock count, base KB, size KB
H_FLAG   equ 0                  ; 0 free, 1 used
H_LOCK   equ 1
H_BASE   equ 2                  ; KB from the start of the pool (110000h)
H_SIZE   equ 4
CHUNK    equ 8000h              ; bytes per Int 15h AH=87h call

header:
        dd -1                   ; next driver: DOS fills it in
        dw 8000h                ; character device
        dw strategy
        dw interrupt
        db 'XMSXXXX0'

request: dd 0
old2f:  dd 0
old15:  dd 0
pool_kb: dw 0                   ; KB of extended memory above the HMA
has_hma: db 0
hma_used: db 0
a20_global: db 0
a20_locks: dw 0
is386:  db 0
; the move's state
mv_len: dd 0
mv_src: dd 0
mv_dst: dd 0
; Int 15h AH=87h's descriptor table (6 descriptors; RBIL #00499)
gdt:    times 10h db 0
src_desc: dw 0FFFFh, 0
        db 0, 93h, 0, 0
dst_desc: dw 0FFFFh, 0
        db 0, 93h, 0, 0
        times 10h db 0
handles: times NHANDLES*HSIZE db 0
handles_end:

; ----- the device ------------------------------------------------------------------------

strategy:
        mov [cs:request],bx
        mov [cs:request+2],es
        retf

interrupt:
        push bx
        push ds
        lds bx,[cs:request]
        cmp byte [bx+2],0
        jne .unknown
        pop ds
        pop bx
        jmp init
.unknown:
        mov word [bx+3],8103h   ; error, done, unknown command
        pop ds
        pop bx
        retf

; ----- Int 2Fh and Int 15h ---------------------------------------------------------------

int2f:
        cmp ax,4300h
        jne .n1
        mov al,80h
        iret
.n1:    cmp ax,4310h
        jne .chain
        push cs
        pop es
        mov bx,xms_entry
        iret
.chain: jmp far [cs:old2f]

int15:
        cmp ah,88h
        jne .chain
        xor ax,ax
        push bp
        mov bp,sp
        and byte [bp+6],0FEh    ; CF clear in the flags IRET restores
        pop bp
        iret
.chain: jmp far [cs:old15]

; ----- the XMS entry ---------------------------------------------------------------------

xms_entry:
        jmp short xms_body
        nop
        nop
        nop
xms_body:
        ; Jumps to the function's routine with every caller register as it came; each
        ; routine returns to the caller itself (RETF).
        cld
        push bx                 ; becomes the routine's address
        push bx
        cmp ah,12h
        jbe .low
        mov bl,13h
        cmp ah,88h
        je .high
        inc bx
        cmp ah,89h
        je .high
        inc bx
        cmp ah,8Eh
        je .high
        inc bx
        cmp ah,8Fh
        je .high
        mov bl,17h              ; not implemented
.high:  cmp byte [cs:is386],0
        jne .go
        mov bl,17h
        jmp short .go
.low:   mov bl,ah
.go:    xor bh,bh
        shl bx,1
        mov bx,[cs:functions+bx]
        push bp
        mov bp,sp
        mov [bp+4],bx
        pop bp
        pop bx
        ret

functions:
        dw f00, f01, f02, f03, f04, f05, f06, f07, f08, f09, f0a, f0b, f0c, f0d, f0e, f0f
        dw not_impl, not_impl, not_impl, f88, f89, f8e, f8f, not_impl

; ----- common exits ----------------------------------------------------------------------

not_impl:
        mov bl,80h
        xor ax,ax
        retf

; ----- helpers (all preserve the registers they do not name) -----------------------------

; DX = handle -> SI = its entry; CF when DX is not an entry in use.
check_handle:
        mov si,handles
.l:     cmp si,dx
        je .found
        add si,HSIZE
        cmp si,handles_end
        jb .l
        stc
        ret
.found: cmp byte [cs:si+H_FLAG],1
        jne .bad
        clc
        ret
.bad:   stc
        ret

; -> AL = number of free handles.
count_free:
        push si
        xor al,al
        mov si,handles
.l:     cmp byte [cs:si+H_FLAG],0
        jne .n
        inc ax
.n:     add si,HSIZE
        cmp si,handles_end
        jb .l
        pop si
        ret

; AX = KB offset in the pool -> CX = free KB from there up to the next block or the pool's
; end (0 inside a block).
gap_at:
        push si
        push di
        mov cx,[cs:pool_kb]
        cmp ax,cx
        jae .zero
        mov si,handles
.l:     cmp byte [cs:si+H_FLAG],1
        jne .n
        mov di,[cs:si+H_SIZE]
        or di,di
        jz .n
        add di,[cs:si+H_BASE]   ; the block's end
        cmp ax,[cs:si+H_BASE]
        jb .after
        cmp ax,di
        jb .zero                ; inside the block
        jmp short .n
.after: cmp cx,[cs:si+H_BASE]
        jbe .n
        mov cx,[cs:si+H_BASE]
.n:     add si,HSIZE
        cmp si,handles_end
        jb .l
        sub cx,ax
        jmp short .done
.zero:  xor cx,cx
.done:  pop di
        pop si
        ret

; DX = KB wanted -> AX = the lowest pool offset with that many free KB (FFFFh when none),
; DI = the largest free gap. Free gaps start at 0 or at a block's end.
scan:
        push cx
        push si
        mov word [cs:best],0FFFFh
        xor di,di
        xor ax,ax
        call .try
        mov si,handles
.l:     cmp byte [cs:si+H_FLAG],1
        jne .n
        cmp word [cs:si+H_SIZE],0
        je .n
        mov ax,[cs:si+H_BASE]
        add ax,[cs:si+H_SIZE]
        call .try
.n:     add si,HSIZE
        cmp si,handles_end
        jb .l
        mov ax,[cs:best]
        pop si
        pop cx
        ret
.try:   call gap_at
        cmp cx,di
        jbe .t1
        mov di,cx
.t1:    cmp cx,dx
        jb .t2
        cmp ax,[cs:best]
        jae .t2
        mov [cs:best],ax
.t2:    ret

best:   dw 0

; -> AX = largest free KB, DX = total free KB (both 0 when nothing is free).
query:
        push cx
        push si
        push di
        mov dx,[cs:pool_kb]
        mov si,handles
.l:     cmp byte [cs:si+H_FLAG],1
        jne .n
        sub dx,[cs:si+H_SIZE]
.n:     add si,HSIZE
        cmp si,handles_end
        jb .l
        push dx
        mov dx,0FFFFh
        call scan
        pop dx
        mov ax,di
        pop di
        pop si
        pop cx
        ret

; -> AX = 1 when A20 is on, 0 when addresses wrap at 1 MB (0000:0080 against FFFF:0090).
a20_state:
        push ds
        push es
        push si
        pushf
        cli
        xor si,si
        mov ds,si
        dec si
        mov es,si
        mov al,[0080h]
        mov ah,al
        cmp al,[es:0090h]
        jne .on
        inc byte [0080h]
        mov al,[es:0090h]
        mov [0080h],ah
        cmp al,ah
        je .on                  ; the write did not show through FFFF:0090
        xor ax,ax
        jmp short .done
.on:    mov ax,1
.done:  popf
        pop si
        pop es
        pop ds
        ret

; AL = 1 to switch A20 on, 0 off: port 92h, then the 8042 if the line did not follow.
; CF when neither moved it.
set_a20:
        push ax
        push cx
        mov ch,al
        in al,92h
        and al,0FCh             ; bit 0 (reset) stays clear
        or ch,ch
        jz .p
        or al,02h
.p:     out 92h,al
        call a20_state
        cmp al,ch
        je .ok
        call kbc_wait
        mov al,0D1h             ; write the output port
        out 64h,al
        call kbc_wait
        mov al,0DDh             ; A20 off, no reset
        or ch,ch
        jz .k
        mov al,0DFh             ; A20 on
.k:     out 60h,al
        call kbc_wait
        call a20_state
        cmp al,ch
        je .ok
        pop cx
        pop ax
        stc
        ret
.ok:    pop cx
        pop ax
        clc
        ret

; Waits until the 8042's input buffer is empty (bounded).
kbc_wait:
        push ax
        push cx
        xor cx,cx
.l:     in al,64h
        test al,02h
        loopnz .l
        pop cx
        pop ax
        ret

; ----- functions -------------------------------------------------------------------------

ok:     mov ax,1
        retf
fail:   xor ax,ax
        retf
e82:    mov bl,82h
        jmp fail
e90:    mov bl,90h
        jmp fail
e91:    mov bl,91h
        jmp fail
e93:    mov bl,93h
        jmp fail
e94:    mov bl,94h
        jmp fail

f00:    mov ax,0300h
        mov bx,0001h
        xor dx,dx
        mov dl,[cs:has_hma]
        retf

f01:    cmp byte [cs:has_hma],0
        je e90
        cmp byte [cs:hma_used],0
        jne e91
        mov byte [cs:hma_used],1
        jmp ok

f02:    cmp byte [cs:has_hma],0
        je e90
        cmp byte [cs:hma_used],0
        je e93
        mov byte [cs:hma_used],0
        jmp ok

f03:    mov al,1
        call set_a20
        jc e82
        mov byte [cs:a20_global],1
        jmp ok

f04:    cmp word [cs:a20_locks],0
        jne e94
        mov byte [cs:a20_global],0
        mov al,0
        call set_a20
        jc e82
        jmp ok

f05:    cmp word [cs:a20_locks],0
        jne .count
        mov al,1
        call set_a20
        jc e82
.count: inc word [cs:a20_locks]
        jmp ok

f06:    cmp word [cs:a20_locks],0
        je e82
        dec word [cs:a20_locks]
        jnz e94
        cmp byte [cs:a20_global],0
        jne e94
        mov al,0
        call set_a20
        jc e82
        jmp ok

f07:    call a20_state
        mov bl,0
        retf

f08:    call query
        mov bl,0
        or dx,dx
        jnz .r
        mov bl,0A0h
.r:     retf

f09:    push cx
        push si
        push di
        mov si,handles
.h:     cmp byte [cs:si+H_FLAG],0
        je .got
        add si,HSIZE
        cmp si,handles_end
        jb .h
        mov bl,0A1h
        jmp short .fail
.got:   xor ax,ax
        or dx,dx
        jz .take
        call scan
        cmp ax,0FFFFh
        jne .take
        mov bl,0A0h
.fail:  xor dx,dx
        xor ax,ax
        jmp short .r
.take:  mov byte [cs:si+H_FLAG],1
        mov byte [cs:si+H_LOCK],0
        mov [cs:si+H_BASE],ax
        mov [cs:si+H_SIZE],dx
        mov dx,si
        mov ax,1
.r:     pop di
        pop si
        pop cx
        retf

f0a:    push si
        call check_handle
        jc ea2
        cmp byte [cs:si+H_LOCK],0
        jne eab
        mov byte [cs:si+H_FLAG],0
        pop si
        jmp ok
ea2:    mov bl,0A2h
        pop si
        jmp fail
eab:    mov bl,0ABh
        pop si
        jmp fail

f0c:    push si
        call check_handle
        jc ea2
        cmp byte [cs:si+H_LOCK],0FFh
        je .ac
        inc byte [cs:si+H_LOCK]
        mov bx,[cs:si+H_BASE]
        mov dx,bx
        shl bx,10
        shr dx,6
        add dx,11h              ; DX:BX = 110000h + base * 1024
        pop si
        jmp ok
.ac:    mov bl,0ACh
        pop si
        jmp fail

f0d:    push si
        call check_handle
        jc ea2
        cmp byte [cs:si+H_LOCK],0
        je .aa
        dec byte [cs:si+H_LOCK]
        pop si
        jmp ok
.aa:    mov bl,0AAh
        pop si
        jmp fail

f0e:    push si
        call check_handle
        jc ea2
        call count_free
        mov bl,al
        mov bh,[cs:si+H_LOCK]
        mov dx,[cs:si+H_SIZE]
        pop si
        jmp ok

; BX = new size in KB.
f0f:    push si
        call check_handle
        jc ea2
        cmp byte [cs:si+H_LOCK],0
        jne eab
        push ax
        push cx
        push dx
        mov dx,[cs:si+H_SIZE]
        cmp bx,dx
        jbe .set                ; shrinking
        ; growing: the block itself does not count as in the way
        mov word [cs:si+H_SIZE],0
        mov ax,[cs:si+H_BASE]
        call gap_at
        mov [cs:si+H_SIZE],dx
        or dx,dx
        jz .anew                ; a 0-KB block has no place yet: any gap will do
        cmp cx,bx
        jae .set
.anew:  ; elsewhere: the lowest gap that holds the new size, with the block's data moved
        ; there (it starts below the block or past its end, so a forward copy is safe)
        mov word [cs:si+H_SIZE],0
        push dx
        mov dx,bx
        push di
        call scan
        pop di
        pop dx
        mov [cs:si+H_SIZE],dx
        cmp ax,0FFFFh
        je .a0
        or dx,dx
        jz .moved
        push ax
        push bx
        push es
        push si
        push di
        mov cx,dx
        shl cx,10
        shr dx,6
        mov [cs:mv_len],cx
        mov [cs:mv_len+2],dx
        call physical
        mov [cs:mv_dst],cx
        mov [cs:mv_dst+2],dx
        mov ax,[cs:si+H_BASE]
        call physical
        mov [cs:mv_src],cx
        mov [cs:mv_src+2],dx
        call copy
        pop di
        pop si
        pop es
        pop bx
        pop ax
.moved: mov [cs:si+H_BASE],ax
.set:   mov [cs:si+H_SIZE],bx
        pop dx
        pop cx
        pop ax
        pop si
        jmp ok
.a0:    pop dx
        pop cx
        pop ax
        mov bl,0A0h
        pop si
        jmp fail

; DS:SI -> the move structure (dos-memory.md 1.4).
f0b:    push cx
        push dx
        push si
        push di
        push es
        mov ax,[si]
        mov [cs:mv_len],ax
        mov ax,[si+2]
        mov [cs:mv_len+2],ax
        test byte [si],1
        jz .even
        mov bl,0A7h
        jmp short .err
.even:  mov dx,[si+4]
        mov ax,[si+6]
        mov cx,[si+8]
        mov bl,0A3h
        call resolve
        jc .err
        mov [cs:mv_src],ax
        mov [cs:mv_src+2],cx
        mov dx,[si+0Ah]
        mov ax,[si+0Ch]
        mov cx,[si+0Eh]
        mov bl,0A5h
        call resolve
        jc .err
        mov [cs:mv_dst],ax
        mov [cs:mv_dst+2],cx
        mov ax,[cs:mv_len]
        or ax,[cs:mv_len+2]
        jz .ok
        ; src < dst < src + length: A8h
        mov ax,[cs:mv_src]
        mov dx,[cs:mv_src+2]
        cmp dx,[cs:mv_dst+2]
        ja .copy
        jb .below
        cmp ax,[cs:mv_dst]
        jae .copy
.below: add ax,[cs:mv_len]
        adc dx,[cs:mv_len+2]
        cmp dx,[cs:mv_dst+2]
        ja .over
        jb .copy
        cmp ax,[cs:mv_dst]
        jbe .copy
.over:  mov bl,0A8h
        jmp short .err
.copy:  call copy
        jc .err
.ok:    mov ax,1
        jmp short .r
.err:   xor ax,ax
.r:     pop es
        pop di
        pop si
        pop dx
        pop cx
        retf

; AX = KB offset in the pool -> DX:CX = its physical address, 110000h + AX * 1024.
physical:
        mov cx,ax
        mov dx,ax
        shl cx,10
        shr dx,6
        add dx,11h
        ret

; DX = handle (0: conventional memory), CX:AX = offset (for handle 0 CX = segment, AX =
; offset), BL = the code for an invalid handle -> CX:AX = physical address, or CF with the
; error in BL. Uses mv_len; changes DX.
resolve:
        push si
        push di
        or dx,dx
        jnz .emb
        mov si,ax
        mov ax,cx
        shl ax,4
        shr cx,12
        add ax,si
        adc cx,0                ; CX:AX = segment * 16 + offset
        push ax
        push cx
        add ax,[cs:mv_len]
        adc cx,[cs:mv_len+2]
        jc .range
        cmp cx,10h
        ja .range
        jb .in
        cmp ax,0FFF0h
        ja .range
.in:    pop cx
        pop ax
        clc
        jmp short .done
.emb:   call check_handle
        jc .bad
        push ax
        push cx
        add ax,[cs:mv_len]
        adc cx,[cs:mv_len+2]
        jc .range
        mov dx,[cs:si+H_SIZE]
        mov di,dx
        shl di,10
        shr dx,6                ; DX:DI = the block's size in bytes
        cmp cx,dx
        ja .range
        jb .fits
        cmp ax,di
        ja .range
.fits:  pop cx
        pop ax
        mov dx,[cs:si+H_BASE]
        mov di,dx
        shl di,10
        shr dx,6
        add dx,11h
        add ax,di
        adc cx,dx
        clc
        jmp short .done
.range: pop cx
        pop ax
        mov bl,0A7h
.bad:   stc
.done:  pop di
        pop si
        ret

; Copies mv_len bytes from mv_src to mv_dst through Int 15h AH=87h, in pieces of at most
; CHUNK bytes, and leaves A20 as it found it. CF with BL on a BIOS error.
copy:
        call a20_state
        push ax
.l:     mov cx,[cs:mv_len]
        cmp word [cs:mv_len+2],0
        jne .big
        jcxz .end
        cmp cx,CHUNK
        jbe .go
.big:   mov cx,CHUNK
.go:    mov ax,[cs:mv_src]
        mov [cs:src_desc+2],ax
        mov ax,[cs:mv_src+2]
        mov [cs:src_desc+4],al
        mov [cs:src_desc+7],ah
        mov ax,[cs:mv_dst]
        mov [cs:dst_desc+2],ax
        mov ax,[cs:mv_dst+2]
        mov [cs:dst_desc+4],al
        mov [cs:dst_desc+7],ah
        push cx
        shr cx,1
        push cs
        pop es
        mov si,gdt
        mov ah,87h
        int 15h
        pop cx
        jc .fail
        add [cs:mv_src],cx
        adc word [cs:mv_src+2],0
        add [cs:mv_dst],cx
        adc word [cs:mv_dst+2],0
        sub [cs:mv_len],cx
        sbb word [cs:mv_len+2],0
        jmp .l
.end:   pop ax
        call set_a20
        jc .a20
        clc
        ret
.a20:   mov bl,82h
        ret
.fail:  pop ax
        call set_a20
        mov bl,0A9h             ; the BIOS's parity or interrupt error
        stc
        ret

; ----- the 32-bit forms (386 only) ---------------------------------------------------------

        cpu 386
f88:    call query
        movzx eax,ax
        movzx edx,dx
        movzx ecx,word [cs:pool_kb]
        shl ecx,10
        add ecx,10FFFFh         ; the pool's highest byte
        mov bl,0
        or edx,edx
        jnz .r
        mov bl,0A0h
.r:     retf

f89:    cmp edx,0FFFFh
        jbe f09
        xor ax,ax
        xor dx,dx
        mov bl,0A0h
        retf

f8e:    push si
        call check_handle
        jc ea2
        call count_free
        movzx cx,al
        mov bh,[cs:si+H_LOCK]
        movzx edx,word [cs:si+H_SIZE]
        pop si
        jmp ok

f8f:    cmp ebx,0FFFFh
        jbe f0f
        push si
        call check_handle
        jc ea2
        cmp byte [cs:si+H_LOCK],0
        jne eab
        pop si
        mov bl,0A0h
        jmp fail
        cpu 286

; ----- INIT (discarded after it runs: the break address is here) --------------------------

        cpu 8086
init:
        push ax
        push bx
        push cx
        push dx
        push si
        push ds
        push es
        pushf
        push cs
        pop ds
        les bx,[request]
        mov word [es:bx+3],0100h        ; done
        mov word [es:bx+0Eh],0          ; not installed unless changed below
        mov [es:bx+10h],cs
        ; An 8086 keeps flags bits 12-15 set; a 286 in real mode keeps them clear.
        pushf
        pop ax
        and ax,0FFFh
        push ax
        popf
        pushf
        pop ax
        and ax,0F000h
        cmp ax,0F000h
        je .none
        pushf
        pop ax
        or ax,7000h
        push ax
        popf
        pushf
        pop ax
        test ax,7000h
        jz .ext
        mov byte [is386],1
.ext:   mov ah,88h
        int 15h
        jc .none
        cmp ax,64
        jb .none
        sub ax,64
        mov [pool_kb],ax
        mov byte [has_hma],1
        push es
        xor ax,ax
        mov es,ax
        cli
        mov ax,[es:2Fh*4]
        mov [old2f],ax
        mov ax,[es:2Fh*4+2]
        mov [old2f+2],ax
        mov word [es:2Fh*4],int2f
        mov [es:2Fh*4+2],cs
        mov ax,[es:15h*4]
        mov [old15],ax
        mov ax,[es:15h*4+2]
        mov [old15+2],ax
        mov word [es:15h*4],int15
        mov [es:15h*4+2],cs
        sti
        pop es
        mov word [es:bx+0Eh],init
        mov dx,banner
        mov ah,09h
        int 21h
        mov ax,[pool_kb]
        call decimal
        mov dx,banner2
        jmp short .say
.none:  mov dx,nomem
.say:   mov ah,09h
        int 21h
        popf
        pop es
        pop ds
        pop si
        pop dx
        pop cx
        pop bx
        pop ax
        retf

; Prints AX in decimal (Int 21h AH=02h).
decimal:
        mov cx,10
        xor si,si
.div:   xor dx,dx
        div cx
        push dx
        inc si
        or ax,ax
        jnz .div
.out:   pop dx
        add dl,'0'
        mov ah,02h
        int 21h
        dec si
        jnz .out
        ret

banner: db 'XMSDRV: XMS 3.0 driver, $'
banner2: db ' KB of extended memory for EMBs', 13, 10, '$'
nomem:  db 'XMSDRV: no extended memory, not installed', 13, 10, '$'
