; ramdisk.asm - a DOS block device driver (RAMDISK.SYS): one unit, a 16 KB RAM disk of 32
; sectors of 512 bytes in the driver's own memory, formatted as FAT12 at INIT.
;
; The protocol, from RBIL INT 21 tables #01646/#01647 (device header: attribute 0000h, a
; block device with 16-bit sector numbers; the first name byte is the unit count, which
; DOS fills in), #02597 (INIT: units at 0Dh, break address at 0Eh, BPB array pointer at
; 12h, first drive number at 16h), #02599-#02601 (MEDIA CHECK, 01h: media descriptor at 0Dh,
; returns "not changed" (01h) at 0Eh; BUILD BPB, 02h: returns the BPB pointer at 12h),
; #02607 (INPUT 04h, OUTPUT 08h and 09h: media at 0Dh, transfer address at 0Eh, count at
; 12h, starting sector at 14h), #01663 (the BPB); the FAT12 boot sector and FAT layout of
; the MS-DOS Programmer's Reference:
;   - the BPB: 512 bytes per sector, 1 sector per cluster, 1 reserved sector (the boot
;     sector), 1 FAT of 1 sector, 16 root entries (1 sector), 32 sectors, media F8h: so the
;     root starts at sector 2 and data at sector 3, 29 clusters (2 to 30);
;   - the disk is the memory after the file (INIT's end-of-memory leaves room for it);
;     INIT fills it: the boot sector (a jump, the OEM name, the BPB, the 55AAh
;     signature), the FAT (F8h FFh FFh, then free), an empty root; prints a banner with the
;     drive letter DOS assigned (16h); returns units = 1, the BPB array and the break
;     address after the disk;
;   - INPUT/OUTPUT copy whole sectors; a transfer past sector 31 stops there with error
;     08h (sector not found) and the count of sectors moved at 12h;
;   - any other command: error 03h (unknown command).
;
; Assemble: nasm -f bin ramdisk.asm -o ramdisk.sys

        cpu 8086
        bits 16
        org 0

SECTOR      equ 512
SECTORS     equ 32

header:
        dd -1                   ; next driver: DOS fills it in
        dw 0000h                ; block device, 16-bit sector numbers
        dw strategy
        dw interrupt
        db 1, 0, 0, 0, 0, 0, 0, 0   ; units (DOS sets it from INIT's answer)

request:    dd 0

bpb:
        dw SECTOR               ; bytes per sector
        db 1                    ; sectors per cluster
        dw 1                    ; reserved sectors
        db 1                    ; FATs
        dw 16                   ; root directory entries
        dw SECTORS              ; total sectors
        db 0F8h                 ; media descriptor
        dw 1                    ; sectors per FAT
bpb_end:
bpb_array:  dw bpb

strategy:
        mov [cs:request],bx
        mov [cs:request+2],es
        retf

interrupt:
        push ax
        push bx
        push cx
        push dx
        push si
        push di
        push ds
        push es
        cld
        lds bx,[cs:request]
        mov al,[bx+2]
        mov dx,0100h            ; done
        cmp al,00h
        je .init
        cmp al,01h
        je .media_check
        cmp al,02h
        je .build_bpb
        cmp al,04h
        je .input
        cmp al,08h
        je .output
        cmp al,09h
        je .output
        mov dx,8103h            ; error, done, unknown command
        jmp .status
.init:
        call init
        jmp .status
.media_check:
        mov byte [bx+0Eh],1     ; media not changed
        jmp .status
.build_bpb:
        mov word [bx+12h],bpb
        mov [bx+14h],cs
        jmp .status
.input:
        call transfer_setup     ; DS:SI -> the disk, ES:DI -> the caller's buffer
        jmp .copy
.output:
        call transfer_setup
        push ds                 ; swap: the disk is the destination
        push es
        pop ds
        pop es
        xchg si,di
.copy:
        ; CX = sectors to move (already cut at the end of the disk), DX = status.
        push dx
        mov ax,cx
        mov dx,SECTOR/2
        mul dx
        mov cx,ax
        pop dx
        rep movsw
        lds bx,[cs:request]
        mov ax,[cs:moved]
        mov [bx+12h],ax
.status:
        mov [bx+3],dx
        pop es
        pop ds
        pop di
        pop si
        pop dx
        pop cx
        pop bx
        pop ax
        retf

moved:  dw 0

; For INPUT/OUTPUT with DS:BX -> request: DS:SI -> the first sector in the disk, ES:DI ->
; the transfer address, CX = sectors to move, [moved] = CX, DX = 0100h or, when the
; request runs past the disk's end, 8108h (sector not found) and CX cut there.
transfer_setup:
        mov dx,0100h
        mov ax,[bx+14h]         ; starting sector
        mov cx,[bx+12h]         ; count
        cmp ax,SECTORS
        jb .start_ok
        mov ax,SECTORS
        xor cx,cx
        mov dx,8108h
        jmp .cut
.start_ok:
        mov si,SECTORS
        sub si,ax               ; sectors left from the start
        cmp cx,si
        jbe .cut
        mov cx,si
        mov dx,8108h
.cut:
        mov [cs:moved],cx
        les di,[bx+0Eh]
        push dx
        mov dx,SECTOR
        mul dx                  ; AX = byte offset of the first sector (at most 16 KB)
        pop dx
        mov si,disk
        add si,ax
        push cs
        pop ds
        ret

; ---- INIT stays resident too (it is below the disk, which is not in the file) ----

init:
        push ds
        push bx
        push cs
        pop es
        push cs
        pop ds
        ; The disk is memory after the file: zero it, then write the boot sector (JMP
        ; short, NOP, OEM name, the BPB, the signature) and the FAT.
        mov di,disk
        mov cx,SECTORS*SECTOR/2
        xor ax,ax
        rep stosw
        mov di,disk
        mov ax,3CEBh            ; EB 3C: jmp short +3Ch
        stosw
        mov al,90h
        stosb
        mov si,oem
        mov cx,8
        rep movsb
        mov si,bpb
        mov cx,bpb_end-bpb
        rep movsb
        mov word [disk+SECTOR-2],0AA55h
        ; The FAT: media descriptor F8h, then FFFh for cluster 1; the rest free.
        mov word [disk+SECTOR],0FFF8h
        mov byte [disk+SECTOR+2],0FFh
        pop bx
        pop ds
        ; The banner, with the drive DOS gives the unit (0 = A:).
        mov al,[bx+16h]
        add al,'A'
        mov [cs:drive_letter],al
        mov si,banner
.say:
        mov dl,[cs:si]
        test dl,dl
        jz .said
        mov ah,02h
        int 21h
        inc si
        jmp .say
.said:
        mov byte [bx+0Dh],1     ; one unit
        mov word [bx+0Eh],disk_end
        mov [bx+10h],cs         ; break address: the end of the disk
        mov word [bx+12h],bpb_array
        mov [bx+14h],cs
        mov dx,0100h
        ret

oem:    db "VEXEDRAM"
banner: db "RAMDISK: 16 KB RAM disk as drive "
drive_letter: db "?:", 13, 10, 0

        section .bss
        alignb 16
disk:   resb SECTORS*SECTOR
disk_end:
