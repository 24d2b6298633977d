; critsec.asm - increments a counter shared by all VMs, with or without a critical section.
;
; After Asche's article on multitasking TSRs and critical sections (dos-memory.md 4.1,
; 4.5): the counter of ctrtsr.asm lies in a TSR loaded before the VMM, so every DOS VM sees
; the same word. Each increment here is a load, a delay and a store: when the VMM switches
; to another VM between the load and the store and that VM increments the counter too, one
; of the two updates is lost. Int 2Fh AX=1681h (begin critical section) and AX=1682h (end
; critical section) around the sequence forbid that switch: Windows enhanced mode never
; takes the processor away from a VM that owns the critical section (except for
; time-critical VxD work, KB Q78151, which this machine does not model). ctrtsr.asm
; compares the final counter with the number of increments at the VMM's exit broadcast.
; The program is run in each DOS VM of the critsec scenario, with or without "/N".
;
; Steps (one console line each, prefix "CRITSEC (VM n): ", or "CRITSEC: " without a VMM):
;   1. Int 2Fh AX=1683h with BX=0: BX = the VM id (0 = no VMM).
;   2. Int 2Fh AX=C000h: AL must be FFh and ES:DI+6 must hold "CTRTSR" (ctrtsr.asm's
;      installation check); ES:DI -> counter (+0), done count (+2), increments per VM
;      (+4, 0064h). Otherwise the program fails (exit code 1).
;   3. The command line: empty = with critical sections, "/N" (or "/n") = without.
;   4. [+4] times (100):
;        STI, HLT            wait for the next interrupt (the timer tick), so the
;                            increment starts right after a timer interrupt;
;        Int 2Fh AX=1681h    begin critical section (not with /N);
;        MOV AX,[ES:DI]      load the counter;
;        MOV CX,4000 / LOOP $  a delay (4000 instructions) between load and store;
;        INC AX
;        MOV [ES:DI],AX      store it;
;        Int 2Fh AX=1682h    end critical section (not with /N).
;   5. INC WORD [ES:DI+2]: the done count (one instruction, so no update of it is lost).
;   6. "100 increments with critical sections" or "100 increments without critical
;      sections (/N)"; exit code 0.
; Without a VMM nothing else runs between the load and the store, so the counter stays
; exact either way; the program still runs the same sequence (1681h/1682h are unanswered).
;
; Every console line is built in a buffer and written with one Int 21h AH=09h call, so the
; lines of two VMs printing at the same time never interleave mid-line.
;
; Assemble: nasm -f bin critsec.asm -o critsec.com

        cpu 8086
        bits 16
        org 100h

MPX_AX  equ 0C000h              ; CTRTSR's installation check
DELAY   equ 4000                ; LOOP iterations between the load and the store

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

        ; -- step 2: CTRTSR --
        mov ax,MPX_AX
        int 2Fh
        cmp al,0FFh
        jne .no_tsr
        mov [ctr_ptr],di
        mov [ctr_ptr+2],es
        lea di,[di+6]
        mov si,tsr_signature
        mov cx,6
        repe cmpsb              ; DS:SI (ours) against ES:DI (theirs)
        je .found
.no_tsr:
        push cs
        pop es
        mov si,s_no_tsr
        call say
        mov ax,4C01h
        int 21h
.found:
        les di,[ctr_ptr]
        mov ax,[es:di+4]
        mov [count],ax
        mov [per_vm],ax
        push cs
        pop es
        LINE
        TEXT s_found
        mov ax,[per_vm]
        call add_hex4
        TEXT s_found2
        ENDL

        ; -- step 3: the command line: "/N" = no critical sections --
        mov si,81h
.skip:
        lodsb
        cmp al,' '
        je .skip
        cmp al,9
        je .skip
        cmp al,0Dh
        je .args_done
        cmp al,'/'
        jne .usage
        lodsb
        and al,0DFh             ; upper case
        cmp al,'N'
        jne .usage
        mov byte [naive],1
.trail:
        lodsb
        cmp al,' '
        je .trail
        cmp al,9
        je .trail
        cmp al,0Dh
        je .args_done
.usage:
        mov si,s_usage
        call say
        mov ax,4C01h
        int 21h
.args_done:

        ; -- step 4: the increments --
        cmp word [count],0
        je .finished
.increment:
        sti
        hlt                     ; wait for the next timer interrupt
        cmp byte [naive],0
        jne .load
        mov ax,1681h            ; begin critical section
        int 2Fh
.load:
        les di,[ctr_ptr]
        mov ax,[es:di]          ; load
        mov cx,DELAY
        loop $
        inc ax
        mov [es:di],ax          ; store
        cmp byte [naive],0
        jne .next
        mov ax,1682h            ; end critical section
        int 2Fh
.next:
        dec word [count]
        jnz .increment
.finished:

        ; -- step 5: done count (a single read-modify-write instruction) --
        les di,[ctr_ptr]
        inc word [es:di+2]
        push cs
        pop es

        ; -- step 6: report --
        LINE
        mov ax,[per_vm]
        call add_dec
        cmp byte [naive],0
        jne .without
        TEXT s_with
        jmp .report
.without:
        TEXT s_without
.report:
        ENDL
        mov ax,4C00h
        int 21h

%include "vmline.inc"

; ----- data -----------------------------------------------------------------------------

vm_id       dw 0
ctr_ptr     dd 0                ; CTRTSR's data block
count       dw 0                ; increments still to do
per_vm      dw 0
naive       db 0

tsr_signature db 'CTRTSR'

s_name      db 'CRITSEC$'

s_found     db 'found CTRTSR (Int 2Fh AX=C000h returned AL=FFh); the shared counter gets $'
s_found2    db 'h increments from this program$'
s_with      db ' increments with critical sections$'
s_without   db ' increments without critical sections (/N)$'
s_no_tsr    db 'CTRTSR is not resident (Int 2Fh AX=C000h did not return AL=FFh and '
            db 'its signature): FAIL$'
s_usage     db 'usage: CRITSEC [/N] (/N: no critical sections): FAIL$'

line_buf    times 160 db 0
