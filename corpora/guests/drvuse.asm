; drvuse.asm - a DOS program that uses the ECHODEV character device driver (echodev.asm)
; through Int 21h by its name, and walks the device chain from the List of Lists.
;
; Sources: RBIL INT 21/AH=52h (the NUL device header at List of Lists + 22h, the chain
; through each header's next pointer up to an offset of FFFFh, table #01646), AH=3Dh/3Eh/
; 3Fh/40h, AX=4400h (#01423: a device's information word), 4402h/4403h (IOCTL input and
; output, for drivers with attribute bit 14), 4406h/4407h (AL = FFh ready, 00h not).
;
; It prints one line per step:
;   - every header of the device chain: segment:offset, attribute, name (a block device
;     shows its unit count instead);
;   - open ECHODEV (AL=2) and the handle's information word;
;   - output status (ready) and input status (nothing stored yet);
;   - write "hello, driver" (13 bytes), input status, read it back (ECHODEV answers in
;     upper case) and the count;
;   - write 40 bytes: the driver keeps 32, then output status (busy: full);
;   - IOCTL input: the number of opens and the bytes stored; IOCTL output "C" empties the
;     buffer; output status again;
;   - close; then open "ECHODEV.TXT" (DOS ignores the extension of a device name) and
;     close it.
; Exit code 0.
;
; Assemble: nasm -f bin drvuse.asm -o drvuse.com

        cpu 8086
        bits 16
        org 100h

%macro SAY 1
        mov dx,%1
        mov ah,09h
        int 21h
%endmacro

start:
        ; -- the device chain --
        mov ah,52h
        int 21h
        add bx,22h
.chain:
        SAY s_dev
        mov ax,es
        call hex4
        mov dl,':'
        call putc
        mov ax,bx
        call hex4
        mov dl,' '
        call putc
        mov ax,[es:bx+4]
        call hex4
        mov dl,' '
        call putc
        test word [es:bx+4],8000h
        jz .block
        mov cx,8
        mov si,bx
        add si,0Ah
.name:  mov dl,[es:si]
        call putc
        inc si
        loop .name
        jmp .next
.block: SAY s_block
        mov al,[es:bx+0Ah]
        xor ah,ah
        call hex4
.next:  SAY crlf
        mov ax,[es:bx]
        mov dx,[es:bx+2]
        cmp ax,0FFFFh
        je .end
        mov bx,ax
        mov es,dx
        jmp .chain
.end:
        push cs
        pop es

        ; -- open by name --
        SAY s_open
        mov ax,3D02h
        mov dx,n_echo
        int 21h
        call result
        jc fail
        mov [handle],ax

        SAY s_info
        mov ax,4400h
        mov bx,[handle]
        int 21h
        mov ax,dx
        call hex4
        SAY crlf

        SAY s_ostat
        mov ax,4407h
        call status
        SAY s_istat
        mov ax,4406h
        call status

        SAY s_write
        mov ah,40h
        mov bx,[handle]
        mov cx,13
        mov dx,hello
        int 21h
        call result

        SAY s_istat
        mov ax,4406h
        call status

        SAY s_read
        mov ah,3Fh
        mov bx,[handle]
        mov cx,64
        mov dx,inbuf
        int 21h
        call result
        jc fail
        mov si,inbuf
        mov cx,ax
        jcxz .empty
.echo:  mov dl,[si]
        call putc
        inc si
        loop .echo
.empty: SAY crlf

        SAY s_write40
        mov ah,40h
        mov bx,[handle]
        mov cx,40
        mov dx,forty
        int 21h
        call result
        SAY s_ostat
        mov ax,4407h
        call status

        SAY s_ioin
        mov ax,4402h
        mov bx,[handle]
        mov cx,2
        mov dx,inbuf
        int 21h
        call result
        SAY s_bytes
        mov al,[inbuf]
        xor ah,ah
        call hex4
        mov dl,' '
        call putc
        mov al,[inbuf+1]
        xor ah,ah
        call hex4
        SAY crlf

        SAY s_ioout
        mov ax,4403h
        mov bx,[handle]
        mov cx,1
        mov dx,clear
        int 21h
        call result
        SAY s_ostat
        mov ax,4407h
        call status

        SAY s_close
        mov ah,3Eh
        mov bx,[handle]
        int 21h
        call result

        SAY s_open2
        mov ax,3D00h
        mov dx,n_echo_ext
        int 21h
        call result
        jc fail
        mov bx,ax
        mov ah,3Eh
        int 21h

        mov ax,4C00h
        int 21h

fail:
        mov ax,4C01h
        int 21h

; Int 21h AX (4406h/4407h) on the handle: prints AL.
status:
        mov bx,[handle]
        int 21h
        pushf
        xor ah,ah
        call hex4
        popf
        jnc .ok
        SAY s_cf
.ok:    SAY crlf
        ret

; Prints "CF=0 AX=xxxx" or "CF=1 AX=xxxx" and a new line; keeps CF and AX.
result:
        pushf
        push ax
        jc .err
        SAY s_cf0
        jmp .ax
.err:   SAY s_cf1
.ax:    pop ax
        push ax
        call hex4
        SAY crlf
        pop ax
        popf
        ret

; Prints AX as four hex digits; keeps every register but DX.
hex4:
        push ax
        push cx
        mov cx,4
.d:     push cx
        mov cl,4
        rol ax,cl
        pop cx
        push ax
        and al,0Fh
        add al,'0'
        cmp al,'9'
        jbe .p
        add al,7
.p:     mov dl,al
        call putc
        pop ax
        loop .d
        pop cx
        pop ax
        ret

putc:
        push ax
        mov ah,02h
        int 21h
        pop ax
        ret

s_dev:      db 'device $'
s_block:    db '(block) units $'
s_open:     db 'open ECHODEV: $'
s_open2:    db 'open ECHODEV.TXT: $'
s_info:     db 'device information: $'
s_ostat:    db 'output status: $'
s_istat:    db 'input status: $'
s_write:    db 'write 13: $'
s_write40:  db 'write 40: $'
s_read:     db 'read: $'
s_ioin:     db 'IOCTL input: $'
s_bytes:    db 'opens, stored: $'
s_ioout:    db 'IOCTL output C: $'
s_close:    db 'close: $'
s_cf0:      db 'CF=0 AX=$'
s_cf1:      db 'CF=1 AX=$'
s_cf:       db ' CF=1$'
crlf:       db 13,10,'$'
n_echo:     db 'ECHODEV',0
n_echo_ext: db 'C:\ECHODEV.TXT',0
hello:      db 'hello, driver'
forty:      db '0123456789abcdefghijklmnopqrstuvwxyz!?#*'
clear:      db 'C'
handle:     dw 0
inbuf:      times 64 db 0
