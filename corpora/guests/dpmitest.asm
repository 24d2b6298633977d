; dpmitest.asm - conformance checks of a DPMI 0.9 host, from a 16-bit client (.COM, 80286
; instructions only, so it runs on the 80286 and 80386 models).
;
; Expected values are the DPMI 0.9 specification's (Intel, 1990-1991; the function table and
; error codes in ../shared/reference/dos-memory.md section 3, DPMI 1.0 codes where 0.9 has
; none). Every check prints "name: ok" or "name: FAIL"; in protected mode the program prints
; through Int 31h 0300h (DOS's Int 21h AH=09h in real mode, DS = our real-mode segment), so
; every line after the switch also checks 0300h. The exit code is the number of failures.
;
; With a command tail (`dpmitest fault`) the client loads an invalid selector into DS after
; the switch: the host must end it with a report of the general protection fault.
;
; Assemble: nasm -f bin dpmitest.asm -o dpmitest.com

        cpu 286
        bits 16
        org 100h

%macro SAY 1                            ; real mode
        mov dx, %1
        mov ah, 09h
        int 21h
%endmacro
%macro PSAY 1                           ; protected mode, through 0300h
        mov dx, %1
        call pm_say
%endmacro
%macro DPMI 1
        mov ax, %1
        int 31h
%endmacro

start:
        mov ah, 4Ah                     ; keep 64 KiB: the rest is DOS's again
        mov bx, 1000h
        int 21h
        SAY msg_title
        mov [rm_seg], cs
        mov ax, [2Ch]
        mov [env_seg], ax

        ; 1. Detection (Int 2Fh AX=1687h): AX = 0, DX = 005Ah (0.90), an entry point.
        SAY msg_1687
        mov ax, 1687h
        int 2Fh
        mov [entry], di
        mov [entry + 2], es
        mov [host_paras], si
        mov [cpu_type], cl
        mov [flags_1687], bx
        test ax, ax
        jnz .no_host
        cmp dx, 005Ah
        jne .bad1
        mov ax, es
        or ax, di
        jz .bad1
        call ok
        jmp .c2
.bad1:  call bad
        ; 2. CL = 02h or 03h, and BX bit 0 (32-bit clients) set only with an 80386.
.c2:    SAY msg_cpu
        mov al, [cpu_type]
        mov bl, [flags_1687]
        and bl, 1
        cmp al, 3
        je .is3
        cmp al, 2
        jne .bad2
        test bl, bl
        jnz .bad2
        jmp .ok2
.is3:   test bl, bl
        jz .bad2
.ok2:   call ok
        jmp .xms
.bad2:  call bad

        ; An XMS block for the 0800h check: 4 KiB, locked (its physical address in
        ; DX:BX), holding a pattern moved there from conventional memory.
.xms:   mov ax, 4300h
        int 2Fh
        cmp al, 80h
        jne .no_xms
        mov ax, 4310h
        int 2Fh
        mov [xms], bx
        mov [xms + 2], es
        mov ah, 09h
        mov dx, 4
        call far [xms]
        test ax, ax
        jz .no_xms
        mov [xms_handle], dx
        mov ah, 0Ch
        call far [xms]
        test ax, ax
        jz .no_xms
        mov [phys], bx
        mov [phys + 2], dx
        mov di, pattern                 ; 256 bytes: i * 7 + 3
        xor ax, ax
        mov cx, 256
.fill:  mov bl, al
        shl bl, 3
        sub bl, al
        add bl, 3
        mov [di], bl
        inc di
        inc al
        loop .fill
        mov ax, [xms_handle]
        mov [move_dst], ax
        mov [move_src + 2], cs
        mov si, move
        mov ah, 0Bh
        call far [xms]
        test ax, ax
        jz .no_xms

        ; The host's data buffer, then the switch.
        mov ah, 48h
        mov bx, [host_paras]
        test bx, bx
        jnz .alloc
        inc bx
.alloc: int 21h
        jc .no_memory
        mov es, ax
        xor ax, ax                      ; a 16-bit client
        call far [entry]
        jnc pm
        SAY msg_enter_failed
        mov ax, 4C01h
        int 21h
.no_host:
        call bad
        SAY msg_no_host
        mov ax, 4C01h
        int 21h
.no_xms:
        SAY msg_no_xms
        mov ax, 4C01h
        int 21h
.no_memory:
        SAY msg_no_memory
        mov ax, 4C01h
        int 21h

; ----- protected mode ----------------------------------------------------------------------
pm:
        mov byte [in_pm], 1
        cmp byte [80h], 0
        je .checks
        PSAY msg_fault
        mov ax, 1234h                   ; not a selector of ours: #GP(1234h)
        mov ds, ax
        PSAY msg_survived
        mov ax, 4C01h
        int 21h

        ; 3. The switch: CF clear, CS, DS and SS with our segment's base, ES the PSP
        ; (limit FFh), PSP:2Ch a selector for the environment.
.checks:
        PSAY msg_switch
        mov bx, cs
        call base_of
        call is_ours
        jne .bad3
        mov bx, ds
        call base_of
        call is_ours
        jne .bad3
        mov bx, ss
        call base_of
        call is_ours
        jne .bad3
        mov bx, es
        call base_of
        call is_ours                    ; a .COM's PSP is its own segment
        jne .bad3
        mov ax, es
        lsl ax, ax
        cmp ax, 0FFh
        jne .bad3
        call ok
        jmp .c4
.bad3:  call bad

.c4:    PSAY msg_env
        mov bx, [es:2Ch]
        call base_of
        mov ax, [env_seg]
        mov bx, ax
        shl ax, 4
        shr bx, 12
        cmp cx, bx
        jne .bad4
        cmp dx, ax
        jne .bad4
        call ok
        jmp .c5
.bad4:  call bad

        ; 4. Int 2Fh AX=1686h in protected mode: AX = 0.
.c5:    PSAY msg_1686
        mov ax, 1686h
        int 2Fh
        test ax, ax
        jnz .bad5
        call ok
        jmp .c6
.bad5:  call bad

        ; 5. 0400h: version 0.90, the processor 1687h gave.
.c6:    PSAY msg_0400
        DPMI 0400h
        jc .bad6
        cmp ax, 005Ah
        jne .bad6
        cmp cl, [cpu_type]
        jne .bad6
        call ok
        jmp .c7
.bad6:  call bad

        ; 6. 0000h: two descriptors; 0003h: the increment is 8.
.c7:    PSAY msg_0000
        mov cx, 2
        DPMI 0000h
        jc .bad7
        mov [sel1], ax
        DPMI 0003h
        cmp ax, 8
        jne .bad7
        add ax, [sel1]
        mov [sel2], ax
        call ok
        jmp .c8
.bad7:  call bad

        ; 7. 0007h and 0008h: base = our segment + probe, limit FFh; the bytes read back
        ; through the selector, LSL gives the limit, 0006h the base.
.c8:    PSAY msg_base
        mov bx, cs
        call base_of
        add dx, probe
        adc cx, 0
        mov [probe_lo], dx
        mov [probe_hi], cx
        mov bx, [sel1]
        DPMI 0007h
        jc .bad8
        xor cx, cx
        mov dx, 0FFh
        DPMI 0008h
        jc .bad8
        mov es, [sel1]
        cmp word [es:0], 'vx'
        jne .bad8
        mov ax, [sel1]
        lsl ax, ax
        cmp ax, 0FFh
        jne .bad8
        mov bx, [sel1]
        call base_of
        cmp dx, [probe_lo]
        jne .bad8
        cmp cx, [probe_hi]
        jne .bad8
        call ok
        jmp .c9
.bad8:  call bad

        ; 8. 0008h: a limit over 1 MiB whose low 12 bits are not all 1 is 8021h.
.c9:    PSAY msg_limit
        mov bx, [sel2]
        mov cx, 0010h
        xor dx, dx
        DPMI 0008h
        jnc .bad9
        cmp ax, 8021h
        jne .bad9
        call ok
        jmp .c10
.bad9:  call bad

        ; 9. 0009h: an access byte with DPL 0 is 8021h.
.c10:   PSAY msg_rights
        mov bx, [sel2]
        mov cx, 0092h
        DPMI 0009h
        jnc .bad10
        cmp ax, 8021h
        jne .bad10
        mov cx, 00F2h                   ; DPL 3 data: accepted
        DPMI 0009h
        jc .bad10
        call ok
        jmp .c11
.bad10: call bad

        ; 10. 0001h frees a descriptor; freeing it again is 8022h.
.c11:   PSAY msg_free
        push ds
        pop es
        mov bx, [sel2]
        DPMI 0001h
        jc .bad11
        DPMI 0001h
        jnc .bad11
        cmp ax, 8022h
        jne .bad11
        call ok
        jmp .c12
.bad11: call bad

        ; 11. 0002h: the same segment gives the same selector, with base B8000h.
.c12:   PSAY msg_0002
        mov bx, 0B800h
        DPMI 0002h
        jc .bad12
        mov si, ax
        mov bx, 0B800h
        DPMI 0002h
        jc .bad12
        cmp ax, si
        jne .bad12
        mov bx, ax
        call base_of
        cmp cx, 000Bh
        jne .bad12
        cmp dx, 8000h
        jne .bad12
        call ok
        jmp .c13
.bad12: call bad

        ; 12. Int 21h AH=30h from protected mode, reflected to DOS: AL = 5.
.c13:   PSAY msg_reflect
        mov ah, 30h
        int 21h
        cmp al, 5
        jne .bad13
        call ok
        jmp .c14
.bad13: call bad

        ; 13. 0300h: the same call simulated: AL = 5 in the structure.
.c14:   PSAY msg_0300
        call clear_regs
        mov word [rm_eax], 3000h
        push ds
        pop es
        mov di, rm_regs
        mov bx, 21h
        xor cx, cx
        DPMI 0300h
        jc .bad14
        cmp byte [rm_eax], 5
        jne .bad14
        call ok
        jmp .c15
.bad14: call bad

        ; 14. 0200h and 0201h: a real-mode vector set and read back.
.c15:   PSAY msg_0201
        mov bl, 61h
        DPMI 0200h
        mov [old_seg], cx
        mov [old_off], dx
        mov cx, 1234h
        mov dx, 5678h
        DPMI 0201h
        jc .bad15
        xor cx, cx
        xor dx, dx
        DPMI 0200h
        cmp cx, 1234h
        jne .bad15
        cmp dx, 5678h
        jne .bad15
        mov cx, [old_seg]
        mov dx, [old_off]
        DPMI 0201h
        call ok
        jmp .c16
.bad15: call bad

        ; 15. 0204h and 0205h: INT 62h goes to our protected-mode handler, and back to
        ; the host's once the old vector is set again.
.c16:   PSAY msg_0205
        mov bl, 62h
        DPMI 0204h
        mov [old_seg], cx
        mov [old_off], dx
        mov cx, cs
        mov dx, handler62
        DPMI 0205h
        jc .bad16
        mov byte [hit], 0
        int 62h
        cmp byte [hit], 1
        jne .bad16
        mov bl, 62h
        DPMI 0204h
        cmp dx, handler62
        jne .bad16
        mov cx, [old_seg]
        mov dx, [old_off]
        DPMI 0205h
        jc .bad16
        call ok
        jmp .c17
.bad16: call bad

        ; 16. 0900h, 0901h, 0902h: the virtual interrupt flag.
.c17:   PSAY msg_vif
        DPMI 0901h                      ; on; AL = the previous state
        DPMI 0900h                      ; off; AL = 1 (it was on)
        cmp al, 1
        jne .bad17
        DPMI 0902h                      ; AL = 0 (off)
        cmp al, 0
        jne .bad17
        DPMI 0901h                      ; AL = 0 (it was off)
        cmp al, 0
        jne .bad17
        DPMI 0902h
        cmp al, 1
        jne .bad17
        call ok
        jmp .c18
.bad17: call bad

        ; 17. 0500h: the largest free block is at least 64 KiB.
.c18:   PSAY msg_0500
        push ds
        pop es
        mov di, meminfo
        DPMI 0500h
        jc .bad18
        cmp word [meminfo + 2], 1
        jb .bad18
        call ok
        jmp .c19
.bad18: call bad

        ; 18. 0501h: a 64 KiB block; a descriptor on it (0000h, 0007h, 0008h); 32 Ki
        ; words written and summed back.
.c19:   PSAY msg_0501
        mov bx, 1
        xor cx, cx
        DPMI 0501h
        jc .bad19
        mov [blk_hi], bx
        mov [blk_lo], cx
        mov [blk_handle_hi], si
        mov [blk_handle_lo], di
        mov cx, 1
        DPMI 0000h
        jc .bad19
        mov [sel2], ax
        mov bx, ax
        mov cx, [blk_hi]
        mov dx, [blk_lo]
        DPMI 0007h
        jc .bad19
        xor cx, cx
        mov dx, 0FFFFh
        DPMI 0008h
        jc .bad19
        mov es, [sel2]
        xor di, di
        mov cx, 8000h
        mov ax, 1357h
.w19:   mov [es:di], ax
        add ax, 9E37h
        add di, 2
        loop .w19
        xor si, si
        xor bx, bx
        mov cx, 8000h
.r19:   add bx, [es:si]
        add si, 2
        loop .r19
        xor dx, dx                      ; the expected sum, from registers
        mov cx, 8000h
        mov ax, 1357h
.e19:   add dx, ax
        add ax, 9E37h
        loop .e19
        cmp bx, dx
        jne .bad19
        call ok
        jmp .c20
.bad19: call bad

        ; 19. 0800h: the XMS block's physical address mapped, its pattern read through a
        ; descriptor on the linear address; 0801h frees the mapping.
.c20:   PSAY msg_0800
        mov bx, [phys + 2]
        mov cx, [phys]
        xor si, si
        mov di, 1000h
        DPMI 0800h
        jc .bad20
        mov [map_hi], bx
        mov [map_lo], cx
        mov dx, cx
        mov cx, bx
        mov bx, [sel2]
        DPMI 0007h
        jc .bad20
        xor cx, cx
        mov dx, 0FFh
        DPMI 0008h
        jc .bad20
        mov es, [sel2]
        xor si, si
.r20:   mov al, [es:si]
        cmp al, [pattern + si]
        jne .bad20
        inc si
        cmp si, 256
        jb .r20
        push ds
        pop es
        mov bx, [map_hi]
        mov cx, [map_lo]
        DPMI 0801h
        call ok
        jmp .c21
.bad20: call bad

        ; 20. 0604h: 4 KiB pages on the 80386; unsupported (8001h) on the 80286.
.c21:   PSAY msg_0604
        DPMI 0604h
        cmp byte [cpu_type], 3
        jne .c21_286
        jc .bad21
        test bx, bx
        jnz .bad21
        cmp cx, 1000h
        jne .bad21
        call ok
        jmp .c22
.c21_286:
        jnc .bad21
        cmp ax, 8001h
        jne .bad21
        call ok
        jmp .c22
.bad21: call bad

        ; 21. 0100h: DOS memory, AX = segment and DX = a selector with its base; 0101h.
.c22:   PSAY msg_0100
        mov bx, 100h
        DPMI 0100h
        jc .bad22
        mov [dos_seg], ax
        mov [dos_sel], dx
        mov bx, dx
        call base_of
        mov ax, [dos_seg]
        mov bx, ax
        shl ax, 4
        shr bx, 12
        cmp dx, ax
        jne .bad22
        cmp cx, bx
        jne .bad22
        mov dx, [dos_sel]
        DPMI 0101h
        jc .bad22
        call ok
        jmp .c23
.bad22: call bad

        ; 22. 0A00h: no vendor API, CF set and AX = 8001h.
.c23:   PSAY msg_0a00
        DPMI 0A00h
        jnc .bad23
        cmp ax, 8001h
        jne .bad23
        call ok
        jmp .c24
.bad23: call bad

        ; 23. 0502h frees the block; a second free is 8023h.
.c24:   PSAY msg_0502
        push ds
        pop es
        mov si, [blk_handle_hi]
        mov di, [blk_handle_lo]
        DPMI 0502h
        jc .bad24
        DPMI 0502h
        jnc .bad24
        cmp ax, 8023h
        jne .bad24
        call ok
        jmp .c25
.bad24: call bad

        ; 24. 0301h: a far call of the XMS driver in real mode unlocks (0Dh) and frees
        ; (0Ah) the block: AX = 1 both times.
.c25:   PSAY msg_0301
        mov ax, 0D00h
        call xms_call
        jne .bad25
        mov ax, 0A00h
        call xms_call
        jne .bad25
        call ok
        jmp .c26
.bad25: call bad

        ; 25. Hardware interrupts in protected mode are reflected to real mode: the BIOS's
        ; timer handler counts two ticks at 0040:006Ch (through 0002h's selector) while
        ; the client spins with interrupts enabled.
.c26:   PSAY msg_irq
        mov bx, 40h
        DPMI 0002h
        jc .bad26
        mov es, ax
        sti
        mov ax, [es:6Ch]
        add ax, 2
        mov dx, 400
.w26:   xor cx, cx
.s26:   cmp [es:6Ch], ax
        je .ok26
        loop .s26
        dec dx
        jnz .w26
        jmp .bad26
.ok26:  call ok
        jmp .c27
.bad26: call bad

        ; 26. 0202h/0203h: a #GP handler gets the frame of the fault (error code = the
        ; selector, 80386 PRM 9.8.13), skips the faulting MOV DS,AX (2 bytes) by changing
        ; the frame's IP, and the client goes on; 0203h with 0202h's old address removes it.
.c27:   PSAY msg_0203
        mov bl, 0Dh
        DPMI 0202h
        jc .bad27
        mov [old_seg], cx
        mov [old_off], dx
        mov cx, cs
        mov dx, gp_handler
        DPMI 0203h
        jc .bad27
        mov ax, 1234h
        mov ds, ax                      ; #GP(1234h): the handler skips it
        cmp byte [gp_hits], 1
        jne .bad27
        cmp word [gp_code], 1234h
        jne .bad27
        mov bl, 0Dh
        mov cx, [old_seg]
        mov dx, [old_off]
        DPMI 0203h
        jc .bad27
        DPMI 0202h
        cmp dx, [old_off]
        jne .bad27
        call ok
        jmp .c28
.bad27: call bad

        ; 27. 0303h/0304h: a real-mode callback. 0301h calls its address far in real mode
        ; with EAX = 1234h; the procedure (cb_proc) finds the real-mode EAX in the call
        ; structure at ES:DI and the caller's return address on the real-mode stack at
        ; DS:SI, simulates the far return (CS:IP from the stack, SP + 4, as the 0.9
        ; specification describes), sets EAX = 5678h and returns with IRET: 0301h's
        ; structure comes back with EAX = 5678h. 0304h frees it; freeing it again is 8024h.
.c28:   PSAY msg_0303
        push ds
        pop es
        mov di, cb_regs
        mov si, cb_proc
        push ds
        push cs
        pop ds
        DPMI 0303h                      ; DS:SI = the procedure, ES:DI = its structure
        pop ds
        jc .bad28
        mov [cb_addr], dx
        mov [cb_addr + 2], cx
        call clear_regs
        mov word [rm_eax], 1234h
        mov [rm_ip], dx
        mov [rm_cs], cx
        push ds
        pop es
        mov di, rm_regs
        xor bx, bx
        xor cx, cx
        DPMI 0301h
        jc .bad28
        cmp byte [cb_hits], 1
        jne .bad28
        cmp word [cb_seen], 1234h
        jne .bad28
        cmp word [rm_eax], 5678h
        jne .bad28
        mov cx, [cb_addr + 2]
        mov dx, [cb_addr]
        DPMI 0304h
        jc .bad28
        mov cx, [cb_addr + 2]
        mov dx, [cb_addr]
        DPMI 0304h
        jnc .bad28
        cmp ax, 8024h
        jne .bad28
        call ok
        jmp .c29
.bad28: call bad

        ; 28. 0305h: the state save/restore routine (AX = the buffer it needs) returns when
        ; called far from protected mode with AL = 0 (save) and ES:DI = the buffer.
.c29:   PSAY msg_0305
        DPMI 0305h
        jc .bad29
        cmp ax, save_end - save_buf
        ja .bad29
        mov [save_pm], di
        mov [save_pm + 2], si
        push ds
        pop es
        mov di, save_buf
        xor al, al
        call far [save_pm]
        call ok
        jmp .c30
.bad29: call bad

        ; 29. 0306h: a raw switch to real mode and back. In real mode (DS, ES, SS, CS our
        ; segment) the machine status word's PE bit is clear and the program marks it; back
        ; in protected mode with its own selectors, PE is set and the mark is there.
.c30:   PSAY msg_0306
        DPMI 0306h
        jc .bad30
        mov [raw_pm], cx
        mov [raw_pm + 2], bx
        mov [raw_rm], di
        mov [raw_rm + 2], si
        mov [pm_cs], cs
        mov [pm_ds], ds
        mov [pm_ss], ss
        mov ax, [rm_seg]
        mov cx, ax
        mov dx, ax
        mov bx, sp
        mov si, ax
        mov di, .real
        jmp far [raw_rm]
.real:  mov byte [in_pm], 0
        smsw ax
        test al, 1
        jnz .pe30
        mov byte [raw_mark], 1
.pe30:  mov ax, [pm_ds]
        mov cx, ax
        mov dx, [pm_ss]
        mov bx, sp
        mov si, [pm_cs]
        mov di, .back
        jmp far [raw_pm]
.back:  mov byte [in_pm], 1
        smsw ax
        test al, 1
        jz .bad30
        cmp byte [raw_mark], 1
        jne .bad30
        call ok
        jmp .c31
.bad30: call bad

        ; 30. Callbacks inside callbacks: the procedure (cb_nest) calls its own callback
        ; again through 0301h before it returns, keeping its structure on its stack. The
        ; host runs eight levels (its buffer has real-mode stacks for ten levels of
        ; real-mode calls, emu/src/firmware/dpmi/callbacks.rs; a choice: 0.9 sets no depth)
        ; and answers the ninth call with a plain far return; every level then returns.
.c31:   PSAY msg_nest
        push ds
        pop es
        mov di, nest_regs
        mov si, cb_nest
        push ds
        push cs
        pop ds
        DPMI 0303h
        pop ds
        jc .bad31
        mov [nest_addr], dx
        mov [nest_addr + 2], cx
        call nest_call
        jc .bad31
        cmp byte [nest_hits], 8
        jne .bad31
        mov cx, [nest_addr + 2]
        mov dx, [nest_addr]
        DPMI 0304h
        jc .bad31
        call ok
        jmp .done
.bad31: call bad

.done:  mov al, [fails]
        mov ah, 4Ch
        int 21h

; The #GP handler (DPMI 0.9 16-bit exception frame: +00h return CS:IP, +04h error code,
; +06h IP, +08h CS, +0Ah FLAGS, +0Ch SP, +0Eh SS).
gp_handler:
        push bp
        mov bp, sp
        push ax
        mov ax, [bp + 2 + 4]
        mov [gp_code], ax
        add word [bp + 2 + 6], 2
        inc byte [gp_hits]
        pop ax
        pop bp
        retf

; The real-mode callback's procedure (0303h): DS:SI = the real-mode stack, ES:DI = the call
; structure (ES is our data selector).
cb_proc:
        cld
        lodsw
        mov [es:di + 2Ah], ax           ; the caller's IP
        lodsw
        mov [es:di + 2Ch], ax           ; and CS
        add word [es:di + 2Eh], 4       ; SP past them: a far return
        mov ax, [es:di + 1Ch]
        mov [es:cb_seen], ax
        mov word [es:di + 1Ch], 5678h
        inc byte [es:cb_hits]
        iret

; Calls the nesting callback far through 0301h with a structure of its own on the stack;
; CF set if 0301h failed.
nest_call:
        push bp
        sub sp, 32h
        mov bp, sp
        push es
        push di
        push ss
        pop es
        mov di, bp
        push cx
        mov cx, 32h
        xor al, al
        cld
        rep stosb
        pop cx
        mov ax, [nest_addr]
        mov [ss:bp + 2Ah], ax
        mov ax, [nest_addr + 2]
        mov [ss:bp + 2Ch], ax
        mov di, bp
        xor bx, bx
        xor cx, cx
        DPMI 0301h
        pop di
        pop es
        lea sp, [bp + 32h]
        pop bp
        ret

; The nesting callback's procedure (ES:DI = nest_regs, DS:SI = the real-mode stack):
; counts the level, calls its callback again (the host refuses the ninth level), then
; simulates the far return from the caller's stack and returns.
cb_nest:
        inc byte [es:nest_hits]
        push es
        pop ds                          ; our data again
        ; keep this level's structure on the stack across the nested call
        sub sp, 32h
        mov bp, sp
        push si
        push di
        push es
        mov si, nest_regs
        push ss
        pop es
        mov di, bp
        mov cx, 32h
        cld
        rep movsb
        cmp byte [nest_hits], 12
        jae .back
        call nest_call
.back:  pop es
        pop di
        mov si, bp
        push ds
        push ss
        pop ds
        mov cx, 32h
        rep movsb                       ; the structure back to ES:DI
        pop ds
        sub di, 32h
        pop si
        add sp, 32h
        ; the caller's return address from the real-mode stack (SS:SP of the structure)
        push ds
        mov bx, [es:di + 30h]
        mov ax, 0002h
        int 31h                         ; a selector for the real-mode stack segment
        mov ds, ax
        mov bx, [es:di + 2Eh]
        mov ax, [bx]
        mov [es:di + 2Ah], ax
        mov ax, [bx + 2]
        mov [es:di + 2Ch], ax
        pop ds
        add word [es:di + 2Eh], 4
        iret

; INT 62h's protected-mode handler.
handler62:
        mov byte [hit], 1
        iret

; The XMS function AX (AH) with DX = our handle through 0301h; ZF set if AX came back 1.
xms_call:
        call clear_regs
        mov [rm_eax], ax
        mov ax, [xms_handle]
        mov [rm_edx], ax
        mov ax, [xms]
        mov [rm_ip], ax
        mov ax, [xms + 2]
        mov [rm_cs], ax
        push ds
        pop es
        mov di, rm_regs
        xor bx, bx
        xor cx, cx
        DPMI 0301h
        jc .no
        cmp word [rm_eax], 1
        ret
.no:    or sp, sp                       ; ZF clear
        ret

; CX:DX := the base of selector BX (0006h).
base_of:
        DPMI 0006h
        ret

; ZF set if CX:DX is our segment's linear base.
is_ours:
        mov ax, [rm_seg]
        mov bx, ax
        shl ax, 4
        shr bx, 12
        cmp cx, bx
        jne .no
        cmp dx, ax
.no:    ret

%include "dpmi16.inc"

; Print "ok" or "FAIL" in either mode.
ok:     mov dx, msg_ok
        jmp say
bad:    inc byte [fails]
        mov dx, msg_bad
say:    cmp byte [in_pm], 0
        jne pm_say
        mov ah, 09h
        int 21h
        ret

msg_title:   db "dpmitest: DPMI 0.9 host conformance, 16-bit client", 13, 10, "$"
msg_1687:    db "1687h: host present, version 0.90, an entry point: $"
msg_cpu:     db "1687h: CL = 02h or 03h, BX bit 0 only on an 80386: $"
msg_enter_failed: db "the mode switch failed (CF set)", 13, 10, "$"
msg_no_host: db "no DPMI host", 13, 10, "$"
msg_no_xms:  db "no XMS memory for the 0800h check", 13, 10, "$"
msg_no_memory: db "no DOS memory for the host's data", 13, 10, "$"
msg_fault:   db "loading an invalid selector into DS:", 13, 10, "$"
msg_survived: db "the load did not fault: FAIL", 13, 10, "$"
msg_switch:  db "entry: CS, DS, SS on our segment, ES = PSP with limit FFh: $"
msg_env:     db "entry: PSP:2Ch is a selector for the environment: $"
msg_1686:    db "1686h in protected mode: AX = 0: $"
msg_0400:    db "0400h: version 0.90, the same processor: $"
msg_0000:    db "0000h: two descriptors, 0003h: increment 8: $"
msg_base:    db "0006h/0007h/0008h: base and limit, bytes read through the selector: $"
msg_limit:   db "0008h: limit over 1 MiB without FFFh low bits is 8021h: $"
msg_rights:  db "0009h: DPL 0 is 8021h, DPL 3 data accepted: $"
msg_free:    db "0001h: freed, freed again is 8022h: $"
msg_0002:    db "0002h: B800h twice gives one selector with base B8000h: $"
msg_reflect: db "Int 21h AH=30h reflected to DOS: AL = 5: $"
msg_0300:    db "0300h: real-mode Int 21h AH=30h: AL = 5: $"
msg_0201:    db "0200h/0201h: a real-mode vector set and read back: $"
msg_0205:    db "0204h/0205h: INT 62h to the client's handler and back: $"
msg_vif:     db "0900h/0901h/0902h: the virtual interrupt flag: $"
msg_0500:    db "0500h: the largest free block is at least 64 KiB: $"
msg_0501:    db "0501h: 64 KiB block written and read through a descriptor: $"
msg_0800:    db "0800h: an XMS block's physical address mapped and read: $"
msg_0604:    db "0604h: 4 KiB pages on the 80386, 8001h on the 80286: $"
msg_0100:    db "0100h/0101h: DOS memory with a selector on its segment: $"
msg_0a00:    db "0A00h: no vendor API (8001h): $"
msg_0502:    db "0502h: freed, freed again is 8023h: $"
msg_0301:    db "0301h: the XMS driver called far in real mode: $"
msg_0203:    db "0202h/0203h: a #GP handler gets error code 1234h and skips the instruction: $"
msg_irq:     db "IRQ 0 in protected mode reflected: the BIOS tick count advances: $"
msg_0303:    db "0303h/0304h: a real-mode callback called far through 0301h, freed, freed again is 8024h: $"
msg_0305:    db "0305h: the state save/restore routine returns when called far: $"
msg_0306:    db "0306h: a raw switch to real mode and back: $"
msg_nest:    db "0303h: callbacks nested eight deep, the ninth refused with a far return: $"
msg_ok:      db "ok", 13, 10, "$"
msg_bad:     db "FAIL", 13, 10, "$"

probe:       db "vx probe"

fails:       db 0
in_pm:       db 0
cpu_type:    db 0
hit:         db 0
gp_hits:     db 0
cb_hits:     db 0
raw_mark:    db 0
nest_hits:   db 0
        align 2
rm_seg:      dw 0
env_seg:     dw 0
entry:       dd 0
xms:         dd 0
host_paras:  dw 0
flags_1687:  dw 0
xms_handle:  dw 0
phys:        dd 0
sel1:        dw 0
sel2:        dw 0
probe_lo:    dw 0
probe_hi:    dw 0
old_seg:     dw 0
old_off:     dw 0
blk_hi:      dw 0
blk_lo:      dw 0
blk_handle_hi: dw 0
blk_handle_lo: dw 0
map_hi:      dw 0
map_lo:      dw 0
dos_seg:     dw 0
dos_sel:     dw 0
gp_code:     dw 0
cb_seen:     dw 0
cb_addr:     dd 0
save_pm:     dd 0
raw_pm:      dd 0
raw_rm:      dd 0
pm_cs:       dw 0
pm_ds:       dw 0
pm_ss:       dw 0
nest_addr:   dd 0
nest_regs:   times 32h db 0
        align 4
cb_regs:     times 32h db 0
save_buf:    times 256 db 0
save_end:

; XMS move structure (0Bh): 256 bytes from pattern to offset 0 of our block.
move:        dd 256
             dw 0                       ; source handle 0: conventional memory
move_src:    dw pattern, 0              ; offset, segment
move_dst:    dw 0                       ; destination handle
             dd 0                       ; offset 0

meminfo:     times 30h db 0
pattern:     times 256 db 0
