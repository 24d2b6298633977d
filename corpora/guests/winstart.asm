; winstart.asm - a stand-in for the startup and exit broadcasts of Windows 3.1 enhanced mode.
;
; There is no VMM in vexed yet, so this program plays WIN386's real-mode part towards the
; TSRs loaded before it (dos-memory.md 4.1, 4.2; RBIL INT 2F/1605h, #02631, #02632):
;   1. Int 2Fh AX=1605h with ES:BX = 0:0, DS:SI = 0:0, CX = 0, DX = 0 (bit 0 = 0: enhanced
;      mode, not the 286 DOS extender), DI = 030Ah (Windows 3.10). Every handler chains
;      first and may put its Win386_Startup_Info_Struc at the head of the chain in ES:BX.
;   2. CX on return: 0 = Windows may load; anything else = it must not (the TSR that said so
;      prints its own message). DS:SI = a V86 enable/disable callback or 0:0.
;   3. Walks the chain of Win386_Startup_Info_Strucs through SIS_Next_Dev_Ptr (+02h) until
;      0:0 (at most 16 structures, so a looping chain cannot hang the program), printing for
;      each: SIS_Version (+00h major, +01h minor), the ASCIZ SIS_Virt_Dev_File_Ptr (+06h) or
;      "no VxD", SIS_Reference_Data (+0Ah, used only with a VxD file) and the number of
;      Instance_Item_Strucs behind SIS_Instance_Data_Ptr (+0Eh; 6-byte items, the list ends
;      with IIS_Ptr = 0000:0000).
;   4. Int 2Fh AX=1606h, DX = 0: the exit broadcast, sent in real mode when enhanced-mode
;      Windows ends (and at once when a 1605h handler returned CX <> 0).
; Exit code 0 when CX was 0 and at least one structure named a VxD file, 1 otherwise.
; Segment values are never printed: they depend on where DOS loaded the TSRs.
;
; Assemble: nasm -f bin winstart.asm -o winstart.com

        cpu 8086
        bits 16
        org 100h

MAX_STRUCTS equ 16
MAX_ITEMS   equ 64

start:
        cld
        ; -- 1: the startup broadcast (dos-memory.md 4.2 entry registers) --
        xor bx,bx
        mov es,bx               ; ES:BX = 0:0
        xor si,si
        mov ds,si               ; DS:SI = 0:0 (DS is restored from CS below)
        xor cx,cx
        xor dx,dx               ; bit 0 = 0: enhanced mode
        mov di,030Ah            ; Windows 3.10
        mov ax,1605h
        int 2Fh
        push ds                 ; keep the returned DS:SI and get our DS back
        push cs
        pop ds
        pop word [callback+2]
        mov [callback],si
        mov [ret_cx],cx
        mov [cur],bx            ; ES:BX -> the first structure, or 0:0
        mov [cur+2],es
        push cs
        pop es

        ; -- 2: CX and DS:SI --
        mov dx,s_startup
        call print
        mov ax,[ret_cx]
        call hex4
        mov dx,s_may_load
        cmp word [ret_cx],0
        je .cx_shown
        mov dx,s_must_not_load
.cx_shown:
        call print
        mov dx,s_callback_none
        mov ax,[callback]
        or ax,[callback+2]
        jz .cb_shown
        mov dx,s_callback_set
.cb_shown:
        call print

        ; -- 3: walk the chain --
.walk:
        mov ax,[cur]
        or ax,[cur+2]
        jz .walk_done
        inc word [structs]
        cmp word [structs],MAX_STRUCTS
        jbe .one
        mov dx,s_too_long
        call print
        jmp .walk_done
.one:
        mov dx,s_struct
        call print
        mov ax,[structs]
        call decimal
        mov dx,s_version
        call print
        les bx,[cur]
        mov al,[es:bx]          ; SIS_Version: major
        xor ah,ah
        call decimal
        mov dl,'.'
        call putc
        les bx,[cur]
        mov al,[es:bx+1]        ; minor, two digits (0Ah -> "10")
        xor ah,ah
        cmp al,10
        jae .minor
        mov dl,'0'
        call putc
.minor:
        call decimal
        ; SIS_Virt_Dev_File_Ptr
        les bx,[cur]
        les di,[es:bx+6]
        mov ax,es
        or ax,di
        jnz .has_file
        mov dx,s_no_vxd
        call print
        jmp .reference
.has_file:
        inc word [with_file]
        push es
        push cs
        pop es
        mov dx,s_vxd_file
        call print
        pop es
        call print_asciz_esdi
.reference:
        ; SIS_Reference_Data (a DWORD: high word first when printed)
        mov dx,s_reference
        call print
        les bx,[cur]
        mov ax,[es:bx+0Ch]
        call hex4
        les bx,[cur]
        mov ax,[es:bx+0Ah]
        call hex4
        ; SIS_Instance_Data_Ptr: count the items up to IIS_Ptr = 0:0
        mov dx,s_instance
        call print
        les bx,[cur]
        les di,[es:bx+0Eh]
        mov ax,es
        or ax,di
        jnz .items
        mov dx,s_none
        call print
        jmp .next
.items:
        xor cx,cx
.item:
        mov ax,[es:di]
        or ax,[es:di+2]
        jz .items_counted
        add di,6
        inc cx
        cmp cx,MAX_ITEMS
        jb .item
.items_counted:
        mov ax,cx
        call decimal
        mov dx,s_items
        call print
.next:
        mov dx,s_crlf
        call print
        les bx,[cur]
        les bx,[es:bx+2]        ; SIS_Next_Dev_Ptr
        mov [cur],bx
        mov [cur+2],es
        jmp .walk
.walk_done:
        push cs
        pop es
        mov dx,s_total
        call print
        mov ax,[structs]
        call decimal
        mov dx,s_total2
        call print
        mov ax,[with_file]
        call decimal
        mov dx,s_total3
        call print

        ; -- 4: the exit broadcast --
        mov ax,1606h
        xor dx,dx               ; bit 0 = 0: enhanced mode
        int 2Fh
        push cs
        pop ds
        push cs
        pop es
        mov dx,s_exit
        call print

        ; -- result: CX = 0 and at least one VxD file named --
        cmp word [ret_cx],0
        jne .failed
        cmp word [with_file],0
        je .failed
        mov dx,s_ok
        call print
        mov ax,4C00h
        int 21h
.failed:
        mov dx,s_failed
        call print
        mov ax,4C01h
        int 21h

; ----- output helpers -------------------------------------------------------------------

; Prints the '$'-terminated string at DS:DX (Int 21h AH=09h).
print:
        push ax
        mov ah,09h
        int 21h
        pop ax
        ret

; Prints the character DL (Int 21h AH=02h).
putc:
        push ax
        mov ah,02h
        int 21h
        pop ax
        ret

; Prints the ASCIZ string at ES:DI (at most 128 characters).
print_asciz_esdi:
        push cx
        push dx
        mov cx,128
.loop:
        mov dl,[es:di]
        test dl,dl
        jz .done
        call putc
        inc di
        loop .loop
.done:
        pop dx
        pop cx
        ret

; Prints AX as an unsigned decimal number.
decimal:
        push ax
        push bx
        push cx
        push dx
        mov bx,10
        xor cx,cx
.divide:
        xor dx,dx
        div bx
        push dx                 ; digits come out lowest first
        inc cx
        test ax,ax
        jnz .divide
.digit:
        pop dx
        add dl,'0'
        call putc
        loop .digit
        pop dx
        pop cx
        pop bx
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

; Prints the hex digit AL (0-15).
hexdigit:
        push ax
        push dx
        add al,'0'
        cmp al,'9'
        jbe .out
        add al,'A'-'0'-10
.out:
        mov dl,al
        call putc
        pop dx
        pop ax
        ret

; ----- data -----------------------------------------------------------------------------

callback    dd 0                ; DS:SI returned by the startup broadcast
ret_cx      dw 0                ; CX returned by it
cur         dd 0                ; the structure being printed
structs     dw 0
with_file   dw 0

s_startup        db 'WINSTART: Int 2Fh AX=1605h (enhanced mode, DI=030Ah) returned CX=$'
s_may_load       db 'h: Windows may load',13,10,'$'
s_must_not_load  db 'h: Windows must not load',13,10,'$'
s_callback_none  db 'WINSTART: V86 mode enable/disable callback (DS:SI): none',13,10,'$'
s_callback_set   db 'WINSTART: V86 mode enable/disable callback (DS:SI): present',13,10,'$'
s_struct         db 'WINSTART: startup info struct $'
s_version        db ': version $'
s_vxd_file       db ', VxD file $'
s_no_vxd         db ', no VxD$'
s_reference      db ', reference data $'
s_instance       db 'h, instance data: $'
s_none           db 'none$'
s_items          db ' item(s)$'
s_crlf           db 13,10,'$'
s_too_long       db 'WINSTART: more than 16 structs in the chain; stopped walking',13,10,'$'
s_total          db 'WINSTART: $'
s_total2         db ' struct(s) in the chain, $'
s_total3         db ' naming a VxD file',13,10,'$'
s_exit           db 'WINSTART: sent the exit broadcast (Int 2Fh AX=1606h, DX=0)',13,10,'$'
s_ok             db 'WINSTART: ok',13,10,'$'
s_failed         db 'WINSTART: FAILED (CX was not 0 or no struct named a VxD file)',13,10,'$'
