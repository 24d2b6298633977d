; mtask.asm - two tasks in one program, switched by its own timer interrupt handler.
;
; After Asche's article on multitasking TSRs (dos-memory.md 4.5 "Timer TSRs", 5.1): a
; program that hooks Int 08h and switches stacks in the handler runs a background task
; beside the foreground one. DOS is not reentrant: while one task is inside DOS (InDOS,
; the byte at the address Int 21h AH=34h returns, is not 0) or DOS is handling a critical
; error (the critical-error flag, the byte before InDOS in DOS 3.0 and later, is not 0),
; the other task must not be given the processor, because it would call DOS in the middle
; of that call. The careful variant obeys that rule; the naive variant (command line "/N")
; switches on every tick, so its background task calls DOS while the foreground task is
; waiting inside DOS for a key (InDOS = 1): the DOS re-entry the rule exists for. Inside
; a DOS VM of the VMM everything here is per VM: the interrupt vector table (so the Int
; 08h hook), InDOS and the timer ticks the VM receives.
;
; Setup (one console line each, prefix "MTASK (VM n): ", or "MTASK: " without a VMM):
;   1. Int 2Fh AX=1683h with BX=0: BX = the VM id (0 = no VMM); the command line: empty =
;      careful, "/N" (or "/n") = naive. A line names the variant.
;   2. Int 21h AH=34h: ES:BX -> InDOS; the critical-error flag is at ES:BX-1.
;   3. Task B gets its own 512-byte stack, prepared as if the switch code had saved it:
;      9 register words (DS = ES = this segment) under an IRET frame (task_b, CS,
;      FLAGS=0202h: interrupts on).
;   4. Int 21h AH=35h/25h: saves the Int 08h vector and hooks it (interrupts off meanwhile).
; The Int 08h handler: pushes AX, BX, CX, DX, SI, DI, BP, DS, ES; chains to the previous
; handler on every tick (PUSHF, CALL FAR: the BIOS counts the tick, signals EOI and calls
; Int 1Ch); then, if a switch is allowed, stores SS:SP in the current task's slot and loads
; the other task's (the classic stack switch); pops the nine registers and IRETs into
; whichever task is now current. A switch is allowed in the careful variant only when
; InDOS = 0, the critical-error flag = 0 and the handler is not re-entered (a counter it
; raises around the chained call); the naive variant switches on every tick that is not a
; re-entry.
; Task A (the foreground, the program's own stack): reads 5 keys with Int 21h AH=08h
; (which waits inside DOS with InDOS = 1 while no key is there) and prints each:
;   "task A read key 'x'"
; then waits (STI, HLT) until task B is done (failure after 1000 waits).
; Task B (the background): counts in a tight loop (INC WORD / JNZ, 2 instructions) and each
; time its 32-bit count reaches a multiple of 32*65536 prints "task B tick k" (k = 1..5)
; with one Int 21h AH=09h call. Interrupts are off from reading InDOS to the end of that
; call, so it knows exactly whether InDOS was 0 when it called DOS; it counts its DOS calls
; and those made with InDOS not 0. After 5 lines it sets a done flag and idles (STI, HLT).
; End: with interrupts off, Int 21h AH=25h restores the Int 08h vector; then
;   "task B made 5 DOS calls, N of them while InDOS was not 0 (task A inside DOS)"
; (the careful variant requires N = 0, else FAIL and exit code 1) and
;   "both tasks done", exit code 0.
; Keys come from the scenario (5 keys, e.g. "hello", one input every 300 ms from 500 ms);
; the run takes about 3.5 s of guest time (careful: task B runs only after task A's 5 keys,
; getting every other tick) or about 2 s (naive: the tasks alternate every tick).
;
; Assemble: nasm -f bin mtask.asm -o mtask.com

        cpu 8086
        bits 16
        org 100h

KEYS      equ 5
B_LINES   equ 5
TICK_MASK equ 31                ; B prints when the high word of its count is a multiple of 32
MAX_WAITS equ 1000              ; task A's waits for task B (HLTs, about one tick each)
B_STACK   equ 512

%macro LINE 1
        mov di,%1
        call begin_line
%endmacro
%macro TEXT 1
        mov si,%1
        call add_str
%endmacro
%macro ENDL 1
        mov dx,%1
        call end_line
%endmacro

start:
        cld
        ; -- step 1: VM id and variant --
        xor bx,bx
        mov ax,1683h
        int 2Fh
        mov [vm_id],bx
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
        mov si,s_careful
        cmp byte [naive],0
        je .variant
        mov si,s_naive
.variant:
        call say

        ; -- step 2: InDOS and the critical-error flag --
        mov ah,34h
        int 21h                 ; ES:BX -> InDOS
        mov [indos_ptr],bx
        mov [indos_ptr+2],es
        push cs
        pop es

        ; -- step 3: task B's stack: 9 registers under an IRET frame --
        mov bx,b_stack_top - 24
        mov [bx+0],cs           ; ES
        mov [bx+2],cs           ; DS
        xor ax,ax
        mov [bx+4],ax           ; BP
        mov [bx+6],ax           ; DI
        mov [bx+8],ax           ; SI
        mov [bx+10],ax          ; DX
        mov [bx+12],ax          ; CX
        mov [bx+14],ax          ; BX
        mov [bx+16],ax          ; AX
        mov word [bx+18],task_b ; IP
        mov [bx+20],cs          ; CS
        mov word [bx+22],0202h  ; FLAGS: IF set
        mov [task_sp+2],bx
        mov [task_ss+2],cs
        mov word [current],0    ; task A runs

        ; -- step 4: hook Int 08h --
        mov ax,3508h
        int 21h
        mov [old08],bx
        mov [old08+2],es
        push cs
        pop es
        cli
        mov dx,int08_handler
        mov ax,2508h
        int 21h
        sti
        mov si,s_hooked
        call say

        ; -- task A: 5 keys --
.key:
        mov ah,08h              ; waits inside DOS (InDOS = 1) until a key is there
        int 21h
        mov [key],al
        LINE line_a
        TEXT s_key
        mov al,[key]
        call add_char
        mov al,27h
        call add_char
        ENDL line_a
        inc byte [keys_read]
        cmp byte [keys_read],KEYS
        jb .key

        ; -- wait for task B --
.wait_b:
        cmp byte [b_done],0
        jne .both
        inc word [waits]
        cmp word [waits],MAX_WAITS
        ja .timeout
        sti
        hlt
        jmp .wait_b
.timeout:
        call unhook
        mov si,s_timeout
        call say
        mov ax,4C01h
        int 21h

.both:
        call unhook
        LINE line_a
        TEXT s_calls1
        mov ax,[b_calls]
        call add_dec
        TEXT s_calls2
        mov ax,[b_busy]
        call add_dec
        TEXT s_calls3
        cmp byte [naive],0
        jne .calls_end
        cmp word [b_busy],0
        je .calls_ok
        TEXT s_fail
        ENDL line_a
        mov ax,4C01h
        int 21h
.calls_ok:
        TEXT s_ok
.calls_end:
        ENDL line_a
        mov si,s_done
        call say
        mov ax,4C00h
        int 21h

; Restores the Int 08h vector with interrupts off (Int 21h AH=25h).
unhook:
        cli
        push ds
        lds dx,[old08]
        mov ax,2508h
        int 21h
        pop ds
        sti
        ret

; ----- task B -----------------------------------------------------------------------------

task_b:
.work:
        inc word [b_lo]
        jnz .work
        inc word [b_hi]
        test word [b_hi],TICK_MASK
        jnz .work
        inc byte [b_lines]
        LINE line_b
        TEXT s_tick
        mov al,[b_lines]
        xor ah,ah
        call add_dec
        mov dx,line_b
        ; InDOS check and DOS call as one step: no tick in between.
        cli
        les bx,[indos_ptr]
        cmp byte [es:bx],0
        je .calm
        inc word [b_busy]
.calm:
        inc word [b_calls]
        call end_line           ; Int 21h AH=09h
        sti
        cmp byte [b_lines],B_LINES
        jb .work
        mov byte [b_done],1
.idle:
        sti
        hlt
        jmp .idle

; ----- the Int 08h handler ----------------------------------------------------------------

int08_handler:
        push ax
        push bx
        push cx
        push dx
        push si
        push di
        push bp
        push ds
        push es
        inc byte [cs:in_handler]
        pushf
        call far [cs:old08]     ; the BIOS: tick count, EOI, Int 1Ch
        push cs
        pop ds
        cmp byte [in_handler],1
        jne .stay               ; re-entered (the chain enabled interrupts): never switch
        cmp byte [naive],0
        jne .switch
        les bx,[indos_ptr]
        cmp byte [es:bx],0      ; InDOS
        jne .stay
        cmp byte [es:bx-1],0    ; critical-error flag
        jne .stay
.switch:
        mov bx,[current]        ; 0 = task A, 2 = task B
        mov [task_sp+bx],sp
        mov [task_ss+bx],ss
        xor bx,2
        mov [current],bx
        mov ss,[task_ss+bx]
        mov sp,[task_sp+bx]
.stay:
        dec byte [in_handler]
        pop es
        pop ds
        pop bp
        pop di
        pop si
        pop dx
        pop cx
        pop bx
        pop ax
        iret

%define VMLINE_OWN_SAY
%include "vmline.inc"

; Writes one line from task A: the prefix and the '$'-string at SI.
say:
        push di
        push dx
        LINE line_a
        call add_str
        ENDL line_a
        pop dx
        pop di
        ret

; ----- data -----------------------------------------------------------------------------

vm_id       dw 0
old08       dd 0
indos_ptr   dd 0                ; InDOS; the critical-error flag is the byte before it
current     dw 0                ; 0 = task A, 2 = task B (index into the slots)
task_sp     dw 0, 0             ; saved SP of task A, task B
task_ss     dw 0, 0             ; saved SS of task A, task B
waits       dw 0
b_lo        dw 0                ; task B's 32-bit count
b_hi        dw 0
b_calls     dw 0                ; task B's DOS calls
b_busy      dw 0                ; ... made while InDOS was not 0
naive       db 0
in_handler  db 0
key         db 0
keys_read   db 0
b_lines     db 0
b_done      db 0

s_name      db 'MTASK$'

s_careful   db 'careful variant: the timer handler switches tasks only when InDOS = 0, '
            db 'the critical-error flag = 0 and it is not re-entered$'
s_naive     db 'naive variant (/N): the timer handler switches tasks on every tick$'
s_hooked    db 'hooked Int 08h (chaining to the old handler on every tick); task B has '
            db 'its own 512-byte stack$'
s_key       db 'task A read key ',27h,'$'
s_tick      db 'task B tick $'
s_calls1    db 'task B made $'
s_calls2    db ' DOS calls, $'
s_calls3    db ' of them while InDOS was not 0 (task A inside DOS)$'
s_ok        db ': ok$'
s_fail      db ': FAIL$'
s_done      db 'both tasks done$'
s_timeout   db 'task B did not finish within 1000 waits (STI, HLT); Int 08h restored: FAIL$'
s_usage     db 'usage: MTASK [/N] (/N: switch tasks on every tick): FAIL$'

line_a      times 160 db 0
line_b      times 160 db 0

b_stack     times B_STACK db 0
b_stack_top:
