; vminfo.asm - what a DOS program sees inside a DOS VM of Windows 3.1 enhanced mode, and
; whether a TSR loaded before Windows (Microsoft KB Q74516's VXDBIND) is still there.
;
; A DOS VM of Windows 3.x enhanced mode answers the Int 2Fh AH=16h calls of dos-memory.md
; 4.1: AX=1600h returns the enhanced-mode version in AL (major) and AH (minor), AX=160Ah
; (Windows 3.1) returns AX=0000h, BX = version (BH major, BL minor) and CX=0003h
; (enhanced mode), AX=1680h releases the time slice and returns AL=00h, AX=1683h returns
; the current VM id in BX (never 0). Plain DOS answers none of them: the registers come
; back unchanged. A TSR loaded before Windows (here vxdbind.asm, KB Q74516) is global: its
; code and data lie below the VMM load point and are shared by every VM, and every VM's
; interrupt vector table starts as a copy of the one Windows found, so the TSR's Int 2Fh
; handler is in each VM's chain. This program is run in the DOS VMs of the vxdbind-vms
; scenario (VXDBIND.COM resident before the VMM starts) and also works in plain DOS.
;
; Steps (one console line each, prefix "VMINFO (VM n): ", or "VMINFO: " without a VMM):
;   1. Int 2Fh AX=1683h with BX=0000h: BX = the VM id; BX still 0000h = no VMM.
;   2. Int 2Fh AX=1600h: AL=03h AH=0Ah = "enhanced mode 3.10"; AL=00h or 80h = "no
;      enhanced-mode Windows"; anything else = some other Windows version.
;   3. Int 2Fh AX=160Ah with BX=CX=0000h: AX=0000h BX=030Ah CX=0003h = "Windows 3.10 in
;      enhanced mode"; AX still 160Ah = not supported.
;   4. Int 2Fh AX=1680h: AL=00h = the time slice was released; AL still 80h = not supported.
;   5. VXDBIND: the Int 2Fh vector of this VM (Int 21h AH=35h) must point at VXDBIND's
;      handler, recognized by its code, which is read, never called:
;        +00h 3D 05 16     cmp ax,1605h        +05h F7 C2 01 00  test dx,1
;        +0Bh 9C           pushf               +0Ch 2E FF 1E xx xx  call far [cs:old_2f]
;        +1Dh BB yy yy     mov bx,sis
;      and its segment starts with a PSP (CD 20). The Win386_Startup_Info_Struc at sis
;      must have version 3.10 (03h,0Ah); its SIS_Virt_Dev_File_Ptr (sis+6) names the VxD
;      file, VXDBIND's own path, which lies in VXDBIND's environment: the line prints it,
;      read through the pointer from inside the VM (shared memory).
;   6. The verdict. With a VMM (step 1 gave an id): steps 2, 3 and 4 must report Windows
;      3.10 enhanced mode and VXDBIND must be found: "ok", exit code 0, else "FAIL", exit
;      code 1. Without a VMM: 1600h must report no enhanced-mode Windows and 160Ah and
;      1680h must be unsupported (VXDBIND may or may not be resident): "ok", exit code 0,
;      else "FAIL", exit code 1.
; No address is printed: where VXDBIND lies depends on what was loaded before it.
;
; Every console line is built in a buffer and written with one Int 21h AH=09h call, so the
; lines of programs in different VMs never interleave mid-line.
;
; Assemble: nasm -f bin vminfo.asm -o vminfo.com

        cpu 8086
        bits 16
        org 100h

%macro LINE 0
        mov di,line_buf
        call begin_line
%endmacro
%macro TEXT 1
        mov si,%1
        call add_str
%endmacro
%macro ENDL 0
        mov dx,line_buf
        call end_line
%endmacro

start:
        cld
        ; -- step 1: AX=1683h, VM id --
        xor bx,bx
        mov ax,1683h
        int 2Fh
        mov [vm_id],bx
        LINE
        TEXT s_1683
        test bx,bx
        jz .no_vmm
        TEXT s_returned_bx
        mov ax,bx
        call add_hex4
        TEXT s_vm_id
        mov ax,[vm_id]
        call add_dec
        jmp .l1
.no_vmm:
        TEXT s_left_bx
.l1:
        ENDL

        ; -- step 2: AX=1600h --
        mov ax,1600h
        int 2Fh
        mov [r1600],ax
        LINE
        TEXT s_1600
        mov ax,[r1600]
        call add_hex2
        TEXT s_ah
        mov al,ah
        call add_hex2
        TEXT s_h_colon
        mov ax,[r1600]
        cmp ax,0A03h
        jne .not310
        mov byte [enh310],1
        TEXT s_enh310
        jmp .l2
.not310:
        cmp al,00h
        je .none
        cmp al,80h
        je .none
        mov byte [other_win],1
        TEXT s_other_win
        jmp .l2
.none:
        TEXT s_no_enh
.l2:
        ENDL

        ; -- step 3: AX=160Ah --
        xor bx,bx
        xor cx,cx
        mov ax,160Ah
        int 2Fh
        mov [r160a_ax],ax
        mov [r160a_bx],bx
        mov [r160a_cx],cx
        LINE
        TEXT s_160a
        mov ax,[r160a_ax]
        call add_hex4
        TEXT s_bx
        mov ax,[r160a_bx]
        call add_hex4
        TEXT s_cx
        mov ax,[r160a_cx]
        call add_hex4
        TEXT s_h_colon
        cmp word [r160a_ax],160Ah
        je .unsupported
        cmp word [r160a_ax],0
        jne .odd
        cmp word [r160a_bx],030Ah
        jne .odd
        cmp word [r160a_cx],3
        jne .odd
        mov byte [id310],1
        TEXT s_win310
        jmp .l3
.odd:
        mov byte [other_win],1
        TEXT s_other_id
        jmp .l3
.unsupported:
        TEXT s_no_160a
.l3:
        ENDL

        ; -- step 4: AX=1680h --
        mov ax,1680h
        int 2Fh
        mov [r1680],al
        LINE
        TEXT s_1680
        mov al,[r1680]
        call add_hex2
        TEXT s_h_colon
        cmp byte [r1680],0
        jne .no_yield
        mov byte [yielded],1
        TEXT s_released
        jmp .l4
.no_yield:
        cmp byte [r1680],80h
        je .yield_unsupported
        mov byte [other_win],1
        TEXT s_1680_odd
        jmp .l4
.yield_unsupported:
        TEXT s_1680_none
.l4:
        ENDL

        ; -- step 5: VXDBIND behind this VM's Int 2Fh vector --
        mov ax,352Fh
        int 21h                 ; ES:BX = Int 2Fh vector
        call is_vxdbind
        jne .no_vxd
        mov byte [vxd_found],1
        les si,[es:si+6]        ; SIS_Virt_Dev_File_Ptr (struct +6)
        mov [vxd_file],si
        mov [vxd_file+2],es
        push cs
        pop es
        LINE
        TEXT s_vxd_found
        les si,[vxd_file]
        mov ax,es
        or ax,si
        jz .no_file
        mov cx,80
.path:
        mov al,[es:si]
        test al,al
        jz .path_end
        call add_char
        inc si
        loop .path
.path_end:
        jmp .l5
.no_file:
        TEXT s_no_file
.l5:
        push cs
        pop es
        ENDL
        jmp .verdict
.no_vxd:
        push cs
        pop es
        LINE
        TEXT s_vxd_missing
        ENDL

        ; -- step 6: the verdict --
.verdict:
        cmp word [vm_id],0
        je .plain
        cmp byte [enh310],1
        jne .vmm_bad
        cmp byte [id310],1
        jne .vmm_bad
        cmp byte [yielded],1
        jne .vmm_bad
        cmp byte [vxd_found],1
        jne .vmm_bad
        LINE
        TEXT s_vmm_ok1
        mov ax,[vm_id]
        call add_dec
        TEXT s_vmm_ok2
        ENDL
        mov ax,4C00h
        int 21h
.vmm_bad:
        mov si,s_vmm_bad
        call say
        mov ax,4C01h
        int 21h
.plain:
        cmp byte [enh310],0
        jne .plain_bad
        cmp byte [id310],0
        jne .plain_bad
        cmp byte [yielded],0
        jne .plain_bad
        cmp byte [other_win],0
        jne .plain_bad
        mov si,s_plain_ok
        call say
        mov ax,4C00h
        int 21h
.plain_bad:
        mov si,s_plain_bad
        call say
        mov ax,4C01h
        int 21h

; ZF=1 when ES:BX is VXDBIND's Int 2Fh handler; then ES:SI -> its startup info struct.
; Only reads memory.
is_vxdbind:
        cmp word [es:0],20CDh   ; a PSP (INT 20h) at the start of its segment
        jne .no
        cmp word [es:bx],053Dh  ; 3D 05 16: cmp ax,1605h
        jne .no
        cmp byte [es:bx+2],16h
        jne .no
        cmp word [es:bx+5],0C2F7h ; F7 C2 01 00: test dx,1
        jne .no
        cmp word [es:bx+7],0001h
        jne .no
        cmp word [es:bx+0Bh],2E9Ch ; 9C 2E FF 1E: pushf; call far [cs:...]
        jne .no
        cmp word [es:bx+0Dh],1EFFh
        jne .no
        cmp byte [es:bx+1Dh],0BBh ; BB yy yy: mov bx,sis
        jne .no
        mov si,[es:bx+1Eh]
        cmp word [es:si],0A03h  ; SIS_Version 3.10 (03h, 0Ah)
.no:
        ret

%include "vmline.inc"

; ----- data -----------------------------------------------------------------------------

vm_id       dw 0
r1600       dw 0
r160a_ax    dw 0
r160a_bx    dw 0
r160a_cx    dw 0
r1680       db 0
enh310      db 0
id310       db 0
yielded     db 0
other_win   db 0
vxd_found   db 0
vxd_file    dd 0

s_name      db 'VMINFO$'
s_h_colon   db 'h: $'

s_1683      db 'Int 2Fh AX=1683h $'
s_returned_bx db 'returned BX=$'
s_vm_id     db 'h: VM id $'
s_left_bx   db 'left BX=0000h: no VMM$'
s_1600      db 'Int 2Fh AX=1600h returned AL=$'
s_ah        db 'h AH=$'
s_enh310    db 'enhanced mode 3.10$'
s_no_enh    db 'no enhanced-mode Windows$'
s_other_win db 'an enhanced-mode Windows other than 3.10$'
s_160a      db 'Int 2Fh AX=160Ah returned AX=$'
s_bx        db 'h BX=$'
s_cx        db 'h CX=$'
s_win310    db 'Windows 3.10 in enhanced mode$'
s_other_id  db 'not Windows 3.10 in enhanced mode$'
s_no_160a   db 'not supported (no Windows 3.1)$'
s_1680      db 'Int 2Fh AX=1680h returned AL=$'
s_released  db 'time slice released$'
s_1680_none db 'not supported (no VMM to release the time slice to)$'
s_1680_odd  db 'an unexpected answer$'
s_vxd_found db 'VXDBIND is resident and reachable: its handler is at the Int 2Fh vector; '
            db 'its startup info struct (version 3.10) names the VxD file $'
s_no_file   db '(none: the pointer is 0000:0000)$'
s_vxd_missing db 'VXDBIND',27h,'s handler is not at the Int 2Fh vector$'
s_vmm_ok1   db 'running in VM $'
s_vmm_ok2   db ' of a VMM that answers as Windows 3.10 enhanced mode, with VXDBIND '
            db 'reachable: ok$'
s_vmm_bad   db 'a VMM answered AX=1683h, but not everything above is Windows 3.10 '
            db 'enhanced mode with VXDBIND reachable: FAIL$'
s_plain_ok  db 'no VMM: plain DOS, and no call claimed otherwise: ok$'
s_plain_bad db 'no VMM answered AX=1683h, but another call claimed Windows: FAIL$'

line_buf    times 300 db 0
