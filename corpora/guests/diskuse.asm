; diskuse.asm - uses a block device driver's drive (RAMDISK.SYS as D:) the way DOS offers it
; to programs (a DOS .COM program). Each printed line is one check; expected values come from
; RAMDISK's BPB (512-byte sectors, 1 per cluster, 1 reserved, 1 FAT of 1 sector, 16 root
; entries, 32 sectors, media F8h) and the rules of:
;   - RBIL #01627 (List of Lists: +00h first DPB, +16h CDS array, +20h block devices),
;     #01395 (DOS 4.0-6.0 DPB: drive, unit, bytes per sector, cluster mask, FATs, root
;     entries, first data sector, highest cluster, sectors per FAT, first root sector,
;     media, next DPB at +19h), #01643 (CDS: flags at +43h, 4000h physical; DPB at +45h);
;   - Int 21h AH=32h (DPB of a drive, 1 = A:), AH=1Ch (allocation information);
;   - Int 25h/26h (AL = drive, 0 = A:; CX sectors from sector DX at DS:BX, or CX = FFFFh with
;     DS:BX -> {sector dword, count word, buffer dword}; CF and AX on return, the caller's
;     FLAGS left on the stack; AL = the driver's error code, AH = the disk status: 04h for
;     08h, sector not found).
; Derived: the root starts at sector 1 + 1 = 2, data at 3; 29 data sectors are clusters 2 to
; 30. Exit code 0 when every check passes, 1 at the first that fails.
;
; Assemble: nasm -f bin diskuse.asm -o diskuse.com

        cpu 8086
        bits 16
        org 100h

DRIVE_D     equ 3               ; Int 25h/26h numbering, 0 = A:

%macro SAY 1
        mov dx,%1
        mov ah,09h
        int 21h
%endmacro

start:
        ; -- List of Lists: two block devices (C: and D:) --
        mov ah,52h
        int 21h
        mov [lol],bx
        mov [lol+2],es
        cmp byte [es:bx+20h],2
        jne fail
        SAY s_lol

        ; -- AH=32h for D: (DL = 4) --
        mov ah,32h
        mov dl,4
        push ds
        int 21h
        mov cx,ds
        pop ds
        cmp al,0
        jne fail
        mov [dpb],bx
        mov [dpb+2],cx
        mov es,cx
        cmp byte [es:bx+00h],3  ; drive D:
        jne fail
        cmp byte [es:bx+01h],0  ; unit 0
        jne fail
        cmp word [es:bx+02h],512
        jne fail
        cmp byte [es:bx+04h],0  ; cluster mask: 1 sector per cluster
        jne fail
        cmp word [es:bx+06h],1  ; reserved sectors
        jne fail
        cmp byte [es:bx+08h],1  ; FATs
        jne fail
        cmp word [es:bx+09h],16 ; root entries
        jne fail
        cmp word [es:bx+0Bh],3  ; first data sector
        jne fail
        cmp word [es:bx+0Dh],30 ; highest cluster
        jne fail
        cmp word [es:bx+0Fh],1  ; sectors per FAT
        jne fail
        cmp word [es:bx+11h],2  ; first root sector
        jne fail
        cmp byte [es:bx+17h],0F8h
        jne fail
        SAY s_dpb

        ; -- the DPB chain from the List of Lists reaches D:'s DPB after C:'s --
        les bx,[lol]
        les bx,[es:bx]          ; the first DPB (C:)
        cmp byte [es:bx],2
        jne fail
        les bx,[es:bx+19h]      ; the next one
        cmp bx,[dpb]
        jne fail
        mov ax,es
        cmp ax,[dpb+2]
        jne fail
        SAY s_chain

        ; -- D:'s current directory structure: valid, physical, the same DPB --
        les bx,[lol]
        les bx,[es:bx+16h]
        add bx,3*58h
        test word [es:bx+43h],4000h
        jz fail
        mov ax,[es:bx+45h]
        cmp ax,[dpb]
        jne fail
        mov ax,[es:bx+47h]
        cmp ax,[dpb+2]
        jne fail
        SAY s_cds

        ; -- AH=1Ch for D: 1 sector per cluster, 512 bytes, 29 clusters, media F8h --
        push ds
        mov ah,1Ch
        mov dl,4
        int 21h
        mov ah,[bx]
        pop ds
        cmp al,1
        jne fail
        cmp cx,512
        jne fail
        cmp dx,29
        jne fail
        cmp ah,0F8h
        jne fail
        SAY s_alloc

        ; -- Int 25h: the boot sector --
        mov al,DRIVE_D
        mov cx,1
        mov dx,0
        mov bx,buf
        int 25h
        pop dx                  ; the FLAGS Int 25h leaves on the stack
        jc fail
        cmp byte [buf],0EBh
        jne fail
        cmp word [buf+0Bh],512
        jne fail
        cmp word [buf+1FEh],0AA55h
        jne fail
        SAY s_boot

        ; -- Int 26h: two sectors at 10; Int 25h reads them back --
        mov di,pattern
        mov cx,1024
        mov al,0
.fill:
        mov [di],al
        inc di
        add al,7
        loop .fill
        mov al,DRIVE_D
        mov cx,2
        mov dx,10
        mov bx,pattern
        int 26h
        pop dx
        jc fail
        mov al,DRIVE_D
        mov cx,2
        mov dx,10
        mov bx,buf
        int 25h
        pop dx
        jc fail
        call same_1024
        jne fail
        SAY s_write

        ; -- the DOS 4 packet form (CX = FFFFh): sector 11 alone --
        mov word [packet],11
        mov word [packet+2],0
        mov word [packet+4],1
        mov word [packet+6],buf
        mov [packet+8],ds
        mov al,DRIVE_D
        mov cx,0FFFFh
        mov bx,packet
        int 25h
        pop dx
        jc fail
        mov si,pattern+512
        mov di,buf
        mov cx,256
        push ds
        pop es
        repe cmpsw
        jne fail
        SAY s_packet

        ; -- past the end: sectors 31 and 32 of 32: the driver's error 08h, AH = 04h --
        mov al,DRIVE_D
        mov cx,2
        mov dx,31
        mov bx,buf
        int 25h
        pop dx
        jnc fail
        cmp ax,0408h
        jne fail
        SAY s_end

        mov ax,4C00h
        int 21h

fail:
        push cs
        pop ds
        SAY s_fail
        mov ax,4C01h
        int 21h

; ZF set when buf and pattern hold the same 1024 bytes.
same_1024:
        push ds
        pop es
        mov si,pattern
        mov di,buf
        mov cx,512
        repe cmpsw
        ret

s_lol       db "diskuse: List of Lists: 2 block devices", 13, 10, "$"
s_dpb       db "diskuse: AH=32h D: DPB: drive 3 unit 0, 512 bytes/sector, data at 3, clusters to 30, media F8", 13, 10, "$"
s_chain     db "diskuse: DPB chain: C:'s DPB links to D:'s", 13, 10, "$"
s_cds       db "diskuse: CDS D: physical, same DPB", 13, 10, "$"
s_alloc     db "diskuse: AH=1Ch D: 1 sector/cluster, 512 bytes, 29 clusters, media F8", 13, 10, "$"
s_boot      db "diskuse: Int 25h D: sector 0 is the boot sector (EB, 512, 55AA)", 13, 10, "$"
s_write     db "diskuse: Int 26h D: wrote sectors 10-11, Int 25h read them back", 13, 10, "$"
s_packet    db "diskuse: Int 25h D: packet form (CX=FFFFh) read sector 11", 13, 10, "$"
s_end       db "diskuse: Int 25h D: sectors 31-32: CF set, AX=0408h (sector not found)", 13, 10, "$"
s_fail      db "diskuse: FAIL", 13, 10, "$"

lol         dd 0
dpb         dd 0
packet      times 10 db 0
pattern     times 1024 db 0
buf         times 1024 db 0
