; doslol.asm - DOS's List of Lists as TSRs and memory walkers read it (a DOS .COM program).
;
; Int 21h AH=52h ("SYSVARS", RBIL INT 21/AH=52h, table #01627) returns ES:BX -> the List of
; Lists. The program checks the fields programs rely on and prints one line each:
;   - the word at [BX-2] is the first memory control block: walking the chain from it
;     ('M' blocks, then a 'Z' block; next MCB = segment + size + 1, RBIL #01628) reaches
;     this program's own block (PSP - 1, PSP from AH=62h);
;   - the NUL device header at [BX+22h] (attribute 8004h, name "NUL     ", RBIL #01646/
;     #01647) heads the device chain: the names of every header up to the one whose next
;     offset is FFFFh, a block device shown as "(block)";
;   - [BX+08h] points at CLOCK$'s header and [BX+0Ch] at CON's;
;   - LASTDRIVE at [BX+21h] and the current directory structure of C: (array at
;     [BX+16h], 58h bytes per drive in DOS 4+, RBIL #01643): its path and whether the
;     "physical drive" bit 4000h (#01644) is set;
;   - the drive parameter block at [BX+00h] (RBIL #01395): drive number 2 (C:) and bytes
;     per sector, the same pointer AH=32h DL=3 returns in DS:BX;
;   - the first system file table block at [BX+04h] has a non-zero entry count;
;   - AX=5D06h (RBIL INT 21/AX=5D06h, table #01690) returns the swappable data area: InDOS
;     (AH=34h) is its second byte, the current PSP (AH=62h) the word at +10h and the DTA
;     (AH=2Fh) the dword at +0Ch; CX (swapped in DOS) and DX (always swapped) are printed.
; Then it asks for the Windows 95 long-file-name open AX=716Ch with CF set and with CF
; clear: MS-DOS 5 does not have function 71h and answers AL = 00h with AH and CF as they
; were (Microsoft, Windows 95 SDK, "long filenames on down-level systems"), so AX=7100h.
; Exit code 0.
;
; Assemble: nasm -f bin doslol.asm -o doslol.com

        cpu 8086
        bits 16
        org 100h

%macro SAY 1
        mov dx,%1
        mov ah,09h
        int 21h
%endmacro

start:
        mov ah,52h
        int 21h
        mov [lol],bx
        mov [lol+2],es

        ; -- the first MCB reaches our own block --
        SAY s_mcb
        mov ah,62h
        int 21h
        dec bx
        mov [ours],bx
        les bx,[lol]
        mov ax,[es:bx-2]
        mov cx,1000             ; at most this many blocks
.walk:
        cmp ax,[ours]
        je .found
        mov es,ax
        mov dl,[es:0]
        cmp dl,'M'
        jne .notfound           ; 'Z' (the last block) or a broken chain
        add ax,[es:3]
        inc ax
        loop .walk
.notfound:
        SAY s_no
        jmp .devices
.found:
        SAY s_yes

.devices:
        ; -- the device chain from NUL --
        SAY s_chain
        les bx,[lol]
        add bx,22h
        mov cx,32               ; at most this many devices
.dev:
        call print_device
        mov ax,[es:bx]
        cmp ax,0FFFFh
        je .end_chain
        les bx,[es:bx]
        loop .dev
        SAY s_loop
        jmp .clock
.end_chain:
        SAY s_end

.clock:
        ; -- CLOCK$ and CON pointers --
        SAY s_clock
        les bx,[lol]
        les bx,[es:bx+08h]
        call print_device
        SAY s_crlf
        SAY s_con
        les bx,[lol]
        les bx,[es:bx+0Ch]
        call print_device
        SAY s_crlf

        ; -- LASTDRIVE and the CDS of C: --
        SAY s_last
        les bx,[lol]
        mov dl,[es:bx+21h]
        add dl,'A'-1
        mov ah,02h
        int 21h
        SAY s_crlf
        SAY s_cds
        les bx,[lol]
        les bx,[es:bx+16h]
        add bx,2*58h
        mov si,bx
.path:
        mov dl,[es:si]
        or dl,dl
        jz .path_done
        mov ah,02h
        int 21h
        inc si
        jmp .path
.path_done:
        test word [es:bx+43h],4000h
        jz .not_physical
        SAY s_physical
        jmp .dpb
.not_physical:
        SAY s_not_physical

.dpb:
        ; -- the drive parameter block --
        SAY s_dpb
        les bx,[lol]
        les bx,[es:bx]
        mov [dpb],bx
        mov [dpb+2],es
        mov dl,[es:bx]
        add dl,'A'
        mov ah,02h
        int 21h
        SAY s_colon
        les bx,[dpb]
        mov ax,[es:bx+2]
        call print_dec
        SAY s_bps
        push ds
        mov dl,3
        mov ah,32h
        int 21h
        mov ax,ds
        pop ds
        cmp bx,[dpb]
        jne .other_dpb
        cmp ax,[dpb+2]
        jne .other_dpb
        SAY s_same
        jmp .sft
.other_dpb:
        SAY s_other

.sft:
        ; -- the first system file table block --
        SAY s_sft
        les bx,[lol]
        les bx,[es:bx+04h]
        cmp word [es:bx+4],0
        je .no_sft
        SAY s_yes
        jmp .sda
.no_sft:
        SAY s_no

.sda:
        ; -- the swappable data area (AX=5D06h, RBIL #01690) --
        SAY s_sda
        push ds
        mov ax,5D06h
        int 21h
        mov ax,ds
        pop ds
        jc .no_sda
        mov [sda],si
        mov [sda+2],ax
        mov [sda_cx],cx
        mov [sda_dx],dx
        mov ah,34h              ; InDOS is the SDA's second byte
        int 21h
        mov ax,es
        cmp ax,[sda+2]
        jne .no_sda
        dec bx
        cmp bx,[sda]
        jne .no_sda
        mov ah,62h              ; the current PSP is at +10h
        int 21h
        les di,[sda]
        cmp bx,[es:di+10h]
        jne .no_sda
        mov ah,2Fh              ; the DTA at +0Ch
        int 21h
        mov ax,es
        les di,[sda]
        cmp bx,[es:di+0Ch]
        jne .no_sda
        cmp ax,[es:di+0Eh]
        jne .no_sda
        SAY s_sda_ok
        mov ax,[sda_cx]
        call print_hex
        SAY s_sda_dx
        mov ax,[sda_dx]
        call print_hex
        SAY s_crlf
        jmp .lfn
.no_sda:
        SAY s_no

.lfn:
        ; -- AX=716Ch on MS-DOS 5, with CF set, then clear --
        SAY s_lfn_stc
        mov si,name
        mov bx,0
        mov cx,0
        mov dx,1
        mov ax,716Ch
        stc
        int 21h
        call print_ax_cf
        SAY s_lfn_clc
        mov si,name
        mov ax,716Ch
        clc
        int 21h
        call print_ax_cf

        mov ax,4C00h
        int 21h

; Prints the name of the device header at ES:BX (8 characters, trailing spaces dropped),
; or "(block)" for a block device, then a space.
print_device:
        push bx
        push cx
        test word [es:bx+4],8000h
        jnz .char
        SAY s_block
        jmp .done
.char:
        mov cx,8
        lea si,[bx+0Ah]
.ch:
        mov dl,[es:si]
        cmp dl,' '
        je .done
        mov ah,02h
        int 21h
        inc si
        loop .ch
.done:
        mov dl,' '
        mov ah,02h
        int 21h
        pop cx
        pop bx
        ret

; Prints "AX=hhhh CF=n" and a line end (AX and FLAGS as an Int 21h call returned them).
print_ax_cf:
        pushf
        push ax
        SAY s_ax
        pop ax
        call print_hex
        SAY s_cf
        pop ax
        and al,1
        add al,'0'
        mov dl,al
        mov ah,02h
        int 21h
        SAY s_crlf
        ret

; Prints AX as four hex digits.
print_hex:
        mov cx,4
.digit:
        push cx
        mov cl,4
        rol ax,cl
        pop cx
        push ax
        and al,0Fh
        add al,'0'
        cmp al,'9'
        jbe .out
        add al,'A'-'0'-10
.out:
        mov dl,al
        mov ah,02h
        int 21h
        pop ax
        loop .digit
        ret

; Prints AX in decimal.
print_dec:
        mov bx,10
        xor cx,cx
.div:
        xor dx,dx
        div bx
        push dx
        inc cx
        or ax,ax
        jnz .div
.put:
        pop dx
        add dl,'0'
        mov ah,02h
        int 21h
        loop .put
        ret

s_mcb          db 'first MCB at [BX-2] reaches our block: $'
s_chain        db 'devices: $'
s_end          db '(end FFFFh)', 13, 10, '$'
s_loop         db '(no end)', 13, 10, '$'
s_block        db '(block)$'
s_clock        db 'clock device: $'
s_con          db 'console device: $'
s_last         db 'LASTDRIVE: $'
s_cds          db 'C: directory: $'
s_physical     db ' (physical drive)', 13, 10, '$'
s_not_physical db ' (not a physical drive)', 13, 10, '$'
s_dpb          db 'drive parameter block: drive $'
s_colon        db ': $'
s_bps          db ' bytes per sector$'
s_same         db ', as AH=32h', 13, 10, '$'
s_other        db ', AH=32h gives another', 13, 10, '$'
s_sft          db 'system file table entries: $'
s_sda          db 'swappable data area: $'
s_sda_ok       db 'InDOS at +1, PSP at +10h, DTA at +0Ch; CX=$'
s_sda_dx       db ' DX=$'
s_lfn_stc      db 'AX=716Ch with CF=1: $'
s_lfn_clc      db 'AX=716Ch with CF=0: $'
s_ax           db 'AX=$'
s_cf           db ' CF=$'
s_yes          db 'yes', 13, 10, '$'
s_no           db 'no', 13, 10, '$'
s_crlf         db 13, 10, '$'
name           db 'LONGNAME.TXT', 0

lol      dd 0
dpb      dd 0
ours     dw 0
sda      dd 0
sda_cx   dw 0
sda_dx   dw 0
