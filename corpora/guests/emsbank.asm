; emsbank.asm - the same address shows different bytes in two tasks: EMS banking per VM.
;
; Microsoft KB Q30590 ("What EMS means to developers", dos-memory.md 2.6): Windows banks
; expanded memory per task, so a task switch remaps the page frame (and, with a large
; frame, the memory above the bankline) to the pages of the task that runs; two tasks that
; read the same segment:offset see different bytes, correctly. Windows 3.x enhanced mode
; does the same per virtual machine: every DOS VM has its own expanded memory, its own
; handles (so both VMs get the same handle number for their first allocation) and its own
; page frame mapping. This program is run in two DOS VMs at once: both write a pattern
; derived from their VM id to the SAME address, frame:0000, let the other VM run ten times,
; and then must still find their own pattern there.
;
; Steps (one console line each, prefix "EMSBANK (VM n): ", or "EMSBANK: " without a VMM):
;   1. Int 2Fh AX=1683h with BX=0: BX = the VM id (0 = no VMM).
;   2. EMS detection (dos-memory.md 2.1): the 8 bytes at Int-67h-vector-segment:000Ah read
;      "EMMXXXX0". AH=41h: BX = the page frame segment (AH=00h).
;   3. AH=43h, BX=4: allocate 4 pages; DX = the handle, printed (under a VMM each VM has
;      its own handles, so both get 0001h; with one EMS user at a time plain DOS gives
;      0001h too).
;   4. AH=44h maps logical page 0 at physical page 0 (frame:0000) and logical page 1 at
;      physical page 1 (frame:4000h); both 16 KB pages get a pattern: byte i (0-3FFFh) of
;      page p in VM v is low(i) + 3*high(i) + 10h*v + 5*p + 5Ah, so the two VMs' patterns
;      differ in every byte, and so do the two pages.
;   5. 10 times: Int 2Fh AX=1680h (release the time slice) and STI, HLT (wait for an
;      interrupt), so the other VM runs and writes its own pattern to the same address.
;      Then all 16 KB at frame:0000 must still hold this VM's page 0 pattern.
;   6. AH=44h maps logical page 1 at physical page 0: frame:0000 must now show page 1's
;      pattern (the same address, other bytes: the bank switch itself), then logical page 0
;      back: page 0's pattern again.
;   7. AH=45h releases the handle (AH=00h).
; Then "all checks passed", exit code 0; at the first failure the reason (with AH for a
; failed EMS call) and exit code 1, after releasing the handle if there is one.
;
; Every console line is built in a buffer and written with one Int 21h AH=09h call, so the
; lines of two VMs printing at the same time never interleave mid-line.
;
; Assemble: nasm -f bin emsbank.asm -o emsbank.com

        cpu 8086
        bits 16
        org 100h

PAGES   equ 4
PAGE_BYTES equ 4000h
SLICES  equ 10

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
        ; -- step 1: the VM id --
        xor bx,bx
        mov ax,1683h
        int 2Fh
        mov [vm_id],bx
        LINE
        test bx,bx
        jz .no_vmm
        TEXT s_vm_id
        mov ax,[vm_id]
        call add_dec
        jmp .l1
.no_vmm:
        TEXT s_no_vmm
.l1:
        ENDL

        ; -- step 2: EMS detection, page frame --
        mov ax,3567h
        int 21h                 ; ES:BX = Int 67h vector
        mov di,000Ah
        mov si,emm_name
        mov cx,8
        repe cmpsb
        push cs
        pop es
        je .have_ems
        mov si,s_no_ems
        jmp fatal
.have_ems:
        mov ah,41h
        int 67h
        test ah,ah
        jz .frame
        mov si,s_41_failed
        jmp fatal_ah
.frame:
        mov [frame],bx
        LINE
        TEXT s_present
        mov ax,[frame]
        call add_hex4
        TEXT s_h_41
        ENDL

        ; -- step 3: allocate 4 pages --
        mov bx,PAGES
        mov ah,43h
        int 67h
        test ah,ah
        jz .allocated
        mov si,s_43_failed
        jmp fatal_ah
.allocated:
        mov [handle],dx
        mov byte [have_handle],1
        LINE
        TEXT s_allocated
        mov ax,[handle]
        call add_hex4
        TEXT s_h
        ENDL

        ; -- step 4: map pages 0 and 1, write the patterns --
        xor bx,bx               ; logical page 0
        xor al,al               ; physical page 0
        call map
        mov bx,1                ; logical page 1
        mov al,1                ; physical page 1
        call map
        mov es,[frame]
        xor di,di
        xor al,al               ; page 0
        call fill_page
        mov di,PAGE_BYTES
        mov al,1                ; page 1
        call fill_page
        push cs
        pop es
        LINE
        TEXT s_written1
        mov ax,[frame]
        call add_hex4
        TEXT s_written1b
        mov ax,[frame]
        call add_hex4
        TEXT s_written2
        mov ax,[vm_id]
        call add_dec
        TEXT s_written3
        ENDL

        ; -- step 5: 10 time slices, then frame:0000 must still hold our page 0 --
        mov cx,SLICES
.slice:
        push cx
        mov ax,1680h
        int 2Fh
        sti
        hlt
        pop cx
        loop .slice
        mov es,[frame]
        xor si,si
        xor al,al
        call check_page
        push cs
        pop es
        je .kept
        LINE
        TEXT s_lost1
        mov ax,[frame]
        call add_hex4
        TEXT s_lost2
        mov ax,[vm_id]
        call add_dec
        TEXT s_lost3
        ENDL
        jmp fail_exit
.kept:
        LINE
        TEXT s_kept1
        mov ax,[frame]
        call add_hex4
        TEXT s_kept2
        mov ax,[vm_id]
        call add_dec
        TEXT s_kept3
        ENDL

        ; -- step 6: logical page 1 at physical page 0, then page 0 again --
        mov bx,1
        xor al,al
        call map
        mov es,[frame]
        xor si,si
        mov al,1
        call check_page
        push cs
        pop es
        je .page1_ok
        mov si,s_page1_bad
        jmp fatal
.page1_ok:
        xor bx,bx
        xor al,al
        call map
        mov es,[frame]
        xor si,si
        xor al,al
        call check_page
        push cs
        pop es
        je .page0_ok
        mov si,s_page0_bad
        jmp fatal
.page0_ok:
        mov si,s_banked
        call say

        ; -- step 7: release the handle --
        mov dx,[handle]
        mov ah,45h
        int 67h
        test ah,ah
        jz .released
        mov si,s_45_failed
        jmp fatal_ah
.released:
        mov byte [have_handle],0
        mov si,s_released
        call say
        mov si,s_all_ok
        call say
        mov ax,4C00h
        int 21h

; ----- EMS helpers ----------------------------------------------------------------------

; AH=44h: maps logical page BX of our handle at physical page AL; fails the program on an
; error.
map:
        mov dx,[handle]
        mov ah,44h
        int 67h
        test ah,ah
        jnz .failed
        ret
.failed:
        mov si,s_44_failed
        jmp fatal_ah

; AL = the pattern seed of page AL in this VM: 10h*vm + 5*page + 5Ah.
seed_of:
        push cx
        mov cl,al
        shl al,1
        shl al,1
        add al,cl               ; 5*page
        mov cl,[vm_id]
        shl cl,1
        shl cl,1
        shl cl,1
        shl cl,1
        add al,cl
        add al,5Ah
        pop cx
        ret

; Fills the 16 KB at ES:DI with the pattern of page AL.
fill_page:
        call seed_of
        mov dl,al
        xor cx,cx
.loop:
        mov al,ch
        add al,ch
        add al,ch
        add al,cl
        add al,dl
        stosb
        inc cx
        cmp cx,PAGE_BYTES
        jb .loop
        ret

; ZF=1 when the 16 KB at ES:SI hold the pattern of page AL.
check_page:
        call seed_of
        mov dl,al
        xor cx,cx
.loop:
        mov al,ch
        add al,ch
        add al,ch
        add al,cl
        add al,dl
        cmp [es:si],al
        jne .done               ; ZF=0
        inc si
        inc cx
        cmp cx,PAGE_BYTES
        jb .loop
        cmp cx,cx               ; ZF=1
.done:
        ret

; ----- failure paths --------------------------------------------------------------------

; Prints the message at SI followed by " (AH=..h)", then fails.
fatal_ah:
        mov [err_ah],ah
        push cs
        pop es
        LINE
        call add_str
        TEXT s_ah
        mov al,[err_ah]
        call add_hex2
        TEXT s_h_paren
        ENDL
        jmp fail_exit

; Prints the message at SI, releases the handle if there is one, exits with code 1.
fatal:
        call say
fail_exit:
        cmp byte [have_handle],0
        je .exit
        mov dx,[handle]
        mov ah,45h
        int 67h
.exit:
        mov ax,4C01h
        int 21h

%include "vmline.inc"

; ----- data -----------------------------------------------------------------------------

vm_id       dw 0
frame       dw 0
handle      dw 0
have_handle db 0
err_ah      db 0

emm_name    db 'EMMXXXX0'

s_name      db 'EMSBANK$'
s_h         db 'h$'
s_ah        db ' (AH=$'
s_h_paren   db 'h)$'

s_vm_id     db 'Int 2Fh AX=1683h: VM id $'
s_no_vmm    db 'Int 2Fh AX=1683h left BX unchanged: no VMM (VM id 0)$'
s_present   db 'EMS driver present (EMMXXXX0 at Int 67h segment:000Ah); page frame at '
            db 'segment $'
s_h_41      db 'h (AH=41h)$'
s_allocated db 'allocated 4 pages (AH=43h): handle $'
s_written1  db 'mapped logical pages 0 and 1 at $'
s_written1b db ':0000 and $'
s_written2  db ':4000 (AH=44h) and wrote VM $'
s_written3  db 27h,'s pattern to both (16 KB each)$'
s_kept1     db 'after 10 time slices frame segment $'
s_kept2     db 'h still shows VM $'
s_kept3     db 27h,'s pattern: ok$'
s_lost1     db 'after 10 time slices frame segment $'
s_lost2     db 'h no longer shows VM $'
s_lost3     db 27h,'s pattern: FAIL$'
s_banked    db 'logical page 1 mapped at frame:0000 (AH=44h) shows page 1',27h,'s pattern '
            db 'at the same address, logical page 0 mapped back shows page 0',27h,'s: ok$'
s_released  db 'released the handle (AH=45h)$'
s_all_ok    db 'all checks passed$'

s_no_ems    db 'no EMS driver (no EMMXXXX0 at Int 67h segment:000Ah): FAIL$'
s_41_failed db 'AH=41h (page frame segment) failed$'
s_43_failed db 'AH=43h could not allocate 4 pages$'
s_44_failed db 'AH=44h could not map a page$'
s_45_failed db 'AH=45h could not release the handle$'
s_page1_bad db 'logical page 1 mapped at frame:0000 (AH=44h) does not show page 1',27h,'s '
            db 'pattern: FAIL$'
s_page0_bad db 'logical page 0 mapped back at frame:0000 (AH=44h) does not show page 0',27h,'s '
            db 'pattern: FAIL$'

line_buf    times 200 db 0
