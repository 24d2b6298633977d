; xmswin.asm - the protected-mode side of Microsoft KB Q74809: a DPMI client reaches the
; XMS block the TSR shares through a descriptor on its physical address.
;
; KB Q74809 (dos-memory.md 3.4, step 2): "a protected-mode Windows program ... converting the
; physical address returned by the TSR to a linear address using DPMI ... and building a
; descriptor that references the memory". This program is written the way the article's
; program is, as a 16-bit DPMI client: it asks XMSSHARE (xmsshare.asm) for the block through
; Int 31h 0300h (a simulated real-mode interrupt into the TSR's hooked vector), maps the
; physical address with 0800h, allocates a descriptor (0000h), sets its base and limit
; (0007h, 0008h) and then reads and writes the block directly, while two DOS VMs running
; xmsvm.asm move data through the handle with XMS 0Bh. It runs in the system VM (VM 1, where
; Windows programs run) or in any DOS VM.
;
; The protocol (shared with xmsvm.asm): the 64 KiB block holds one 1 KiB region per party
; (region k at offset k*1024; XMSVM "1" and "2" own regions 1 and 2, this program region 4),
; pattern byte i of (k, r) = low(i) + 3*high(i) + 40h*k + 7*r + 11h, and each party writes
; its done word 4B57h at 3*1024 + 2*k after its 8th round (this program at 3*1024 + 8). An
; XMSVM started with "k 4" reads region 4 after every release of its time slice and fails
; if it finds it half written, so this program writes its region inside a critical section
; (Int 2Fh AX=1681h/1682h: the VMM switches to no other VM meanwhile). With the command
; line /N it skips the critical sections: a VM switch in the middle of a write then shows
; the DOS VMs a region that is half one round and half another (the property test in
; tests/tests/vmm_props.rs finds such a schedule).
;
; Steps (one console line each, prefix "XMSWIN (VM n): ", every line printed whole by one
; call, so lines of VMs that run at the same time never mix):
;   1. Int 2Fh AX=1683h: the VM id. XMSSHARE: the first vector of 60h-66h whose segment holds
;      "XMSSHARE" at 0103h (as xmsvm.asm finds it).
;   2. Int 2Fh AX=1687h: a DPMI host in this VM; the switch to protected mode (AX = 0).
;   3. Int 31h 0300h with BL = that vector, EAX = 5853h: CF clear in the returned flags, the
;      handle in AX, the physical address in DX:BX, 110000h or higher (XMS 3.0: above the
;      HMA).
;   4. 0800h maps 64 KiB at that physical address; 0000h, 0007h, 0008h make a descriptor on
;      the linear address it returned.
;   5. 8 rounds r = 0..7: the pattern of (4, r) written to region 4 through the descriptor
;      a byte at a time (between Int 2Fh AX=1681h and 1682h, reflected to the VMM, unless
;      /N), the time slice released 3 times (Int 2Fh AX=1680h), the region read back and
;      compared. Then the done word at 3*1024 + 8.
;   6. Waits for both XMSVMs' done words, reading them through the descriptor (1680h between
;      reads, at most 2000 times), then checks that regions 1 and 2 hold the patterns of
;      (1, 7) and (2, 7): the DOS VMs' moves reached the memory this program maps.
; Then "all checks passed" and Int 21h AH=4Ch from protected mode with code 0; at the first
; failure the reason and code 1.
;
; Assemble: nasm -f bin xmswin.asm -o xmswin.com

        cpu 286
        bits 16
        org 100h

SIG_AX    equ 5853h
SIG_OFF   equ 0103h
FIRST_INT equ 60h
LAST_INT  equ 66h
REGION    equ 1024
MY_REGION equ 4
ROUNDS    equ 8
YIELDS    equ 3
DONE_BASE equ 3*1024
DONE_WORD equ 'OK' + ROUNDS
MAX_WAITS equ 2000

%macro DPMI 1
        mov ax, %1
        int 31h
%endmacro
%macro LINE 1                           ; prints prefix + the $-string %1 (either mode)
        mov si, %1
        call line
%endmacro

start:
        ; The command line: /N (no critical sections) or nothing.
        mov si, 81h
.arg:   lodsb
        cmp al, ' '
        je .arg
        cmp al, 0Dh
        je .args
        cmp al, '/'
        jne .usage
        lodsb
        and al, 0DFh
        cmp al, 'N'
        jne .usage
        mov byte [no_cs], 1
        jmp .arg
.usage: mov dx, msg_usage
        mov ah, 09h
        int 21h
        mov ax, 4C01h
        int 21h
.args:  mov ah, 4Ah
        mov bx, 1000h
        int 21h
        mov [rm_seg], cs
        mov ax, 1683h                   ; the VM id
        xor bx, bx
        int 2Fh
        add bl, '0'
        mov [prefix_vm], bl
        ; XMSSHARE's vector.
        mov bl, FIRST_INT
.find:  xor ax, ax
        mov es, ax
        mov al, bl
        xor ah, ah
        shl ax, 2
        mov di, ax
        mov es, [es:di + 2]
        mov di, SIG_OFF
        mov si, signature
        mov cx, 8
        cld
        repe cmpsb
        je .found
        inc bl
        cmp bl, LAST_INT
        jbe .find
        LINE msg_no_tsr
        jmp fail
.found: mov [tsr_int], bl
        LINE msg_tsr

        mov ax, 1687h
        int 2Fh
        test ax, ax
        jnz .no_host
        mov [entry], di
        mov [entry + 2], es
        mov bx, si
        or bx, bx
        jnz .alloc
        inc bx
.alloc: mov ah, 48h
        int 21h
        jc .no_host
        mov es, ax
        xor ax, ax
        call far [entry]
        jnc pm
.no_host:
        LINE msg_no_host
        jmp fail

pm:     mov byte [in_pm], 1
        LINE msg_pm
        ; 3. XMSSHARE through 0300h.
        call clear_regs
        mov word [rm_eax], SIG_AX
        push ds
        pop es
        mov di, rm_regs
        mov bl, [tsr_int]
        xor bh, bh
        xor cx, cx
        DPMI 0300h
        jc .bad3
        test byte [rm_flags], 1
        jnz .bad3
        mov ax, [rm_edx]
        mov [phys + 2], ax
        mov ax, [rm_ebx]
        mov [phys], ax
        cmp word [phys + 2], 11h
        jb .bad3
        LINE msg_asked
        jmp .c4
.bad3:  LINE msg_bad_ask
        jmp fail

        ; 4. 0800h, then a descriptor on the linear address.
.c4:    mov bx, [phys + 2]
        mov cx, [phys]
        mov si, 1
        xor di, di
        DPMI 0800h
        jc .bad4
        mov [lin], cx
        mov [lin + 2], bx
        mov cx, 1
        DPMI 0000h
        jc .bad4
        mov [block], ax
        mov bx, ax
        mov cx, [lin + 2]
        mov dx, [lin]
        DPMI 0007h
        jc .bad4
        xor cx, cx
        mov dx, 0FFFFh
        DPMI 0008h
        jc .bad4
        LINE msg_mapped
        jmp .c5
.bad4:  LINE msg_bad_map
        jmp fail

        ; 5. Eight rounds on region 4, directly.
.c5:    xor bp, bp                      ; r
.round: mov ax, 1681h                   ; begin critical section
        call critical
        mov es, [block]
        mov dl, MY_REGION
        mov di, MY_REGION * REGION
        call put_pattern
        mov ax, 1682h                   ; end critical section
        call critical
        mov cx, YIELDS
.yield: call release_slice
        loop .yield
        mov es, [block]
        mov dl, MY_REGION
        mov di, MY_REGION * REGION
        call check_pattern
        jne .bad5
        inc bp
        cmp bp, ROUNDS
        jb .round
        mov es, [block]
        mov word [es:DONE_BASE + 2 * MY_REGION], DONE_WORD
        mov si, msg_rounds
        cmp byte [no_cs], 0
        je .said5
        mov si, msg_rounds_nocs
.said5: call line
        jmp .c6
.bad5:  LINE msg_bad_round
        jmp fail

        ; 6. The DOS VMs' done words, then their last patterns.
.c6:    mov cx, MAX_WAITS
.wait:  mov es, [block]
        cmp word [es:DONE_BASE + 2], DONE_WORD
        jne .again
        cmp word [es:DONE_BASE + 4], DONE_WORD
        je .both
.again: call release_slice
        loop .wait
        LINE msg_no_done
        jmp fail
.both:  LINE msg_done
        mov bp, ROUNDS - 1
        mov es, [block]
        mov dl, 1
        mov di, REGION
        call check_pattern
        jne .bad6
        mov es, [block]
        mov dl, 2
        mov di, 2 * REGION
        call check_pattern
        jne .bad6
        LINE msg_seen
        LINE msg_all
        mov ax, 4C00h
        int 21h
.bad6:  LINE msg_bad_seen

fail:   mov ax, 4C01h
        int 21h

; Writes the pattern of (DL, BP) to ES:DI (1 KiB).
put_pattern:
        xor cx, cx
.next:  call byte_at
        mov [es:di], al
        inc di
        inc cx
        cmp cx, REGION
        jb .next
        ret

; Compares ES:DI (1 KiB) with the pattern of (DL, BP): ZF set if equal.
check_pattern:
        xor cx, cx
.next:  call byte_at
        cmp [es:di], al
        jne .out
        inc di
        inc cx
        cmp cx, REGION
        jb .next
        xor ax, ax                      ; ZF = 1
.out:   ret

; AL := pattern byte i = CX of (k = DL, r = BP): low(i) + 3*high(i) + 40h*k + 7*r + 11h.
byte_at:
        push bx
        mov al, cl
        mov bl, ch
        add al, bl
        add al, bl
        add al, bl
        mov bl, dl
        shl bl, 6
        add al, bl
        mov bx, bp
        mov bh, bl
        shl bl, 3
        sub bl, bh                      ; 7*r
        add al, bl
        add al, 11h
        pop bx
        ret

; Int 2Fh with AX = 1681h or 1682h (begin or end a critical section), unless /N.
critical:
        cmp byte [no_cs], 0
        jne .out
        int 2Fh
.out:   ret

; Int 2Fh AX=1680h: give the rest of the time slice to the other VMs.
release_slice:
        push ax
        mov ax, 1680h
        int 2Fh
        pop ax
        ret

; Prints the line prefix + the $-string at SI as one call (real or protected mode).
line:
        push es
        push ds
        pop es
        mov di, linebuf
        push si
        mov si, prefix
.p:     lodsb
        cmp al, '$'
        je .m
        stosb
        jmp .p
.m:     pop si
.c:     lodsb
        stosb
        cmp al, '$'
        jne .c
        pop es
        mov dx, linebuf
        cmp byte [in_pm], 0
        jne .pm
        mov ah, 09h
        int 21h
        ret
.pm:    call pm_say
        ret

%include "dpmi16.inc"

signature:  db "XMSSHARE"
prefix:     db "XMSWIN (VM "
prefix_vm:  db "0): $"
msg_no_tsr: db "XMSSHARE is not resident (no signature behind Int 60h-66h): FAIL", 13, 10, "$"
msg_tsr:    db "found XMSSHARE behind its user interrupt: ok", 13, 10, "$"
msg_no_host: db "no DPMI host in this VM, or the switch failed: FAIL", 13, 10, "$"
msg_pm:     db "in protected mode through the DPMI host (Int 2Fh AX=1687h): ok", 13, 10, "$"
msg_asked:  db "asked XMSSHARE through Int 31h 0300h: a handle and a physical address above the HMA: ok", 13, 10, "$"
msg_bad_ask: db "Int 31h 0300h into XMSSHARE failed: FAIL", 13, 10, "$"
msg_mapped: db "mapped the block with 0800h and built a descriptor on it (0000h, 0007h, 0008h): ok", 13, 10, "$"
msg_bad_map: db "mapping the physical address or building the descriptor failed: FAIL", 13, 10, "$"
msg_rounds: db "8 rounds of region 4 written inside critical sections (Int 2Fh AX=1681h/1682h) and read back through the descriptor, releasing the time slice; done word written: ok", 13, 10, "$"
msg_rounds_nocs: db "8 rounds of region 4 written without critical sections (/N) and read back through the descriptor, releasing the time slice; done word written: ok", 13, 10, "$"
msg_usage:  db "usage: XMSWIN [/N] (/N: write region 4 without critical sections): FAIL", 13, 10, "$"
msg_bad_round: db "region 4 did not read back: FAIL", 13, 10, "$"
msg_no_done: db "the DOS VMs' done words never appeared in the block: FAIL", 13, 10, "$"
msg_done:   db "both DOS VMs' done words seen through the descriptor: ok", 13, 10, "$"
msg_seen:   db "regions 1 and 2 hold the DOS VMs' last patterns: their XMS moves reached the mapped memory: ok", 13, 10, "$"
msg_bad_seen: db "regions 1 and 2 do not hold the DOS VMs' last patterns: FAIL", 13, 10, "$"
msg_all:    db "all checks passed", 13, 10, "$"

in_pm:      db 0
no_cs:      db 0
tsr_int:    db 0
        align 2
rm_seg:     dw 0
entry:      dd 0
phys:       dd 0
lin:        dd 0
block:      dw 0
linebuf:    times 256 db 0
