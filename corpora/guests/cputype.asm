; cputype.com - tells the processor it runs on by its exit code: 86 on an 8086/8088, 28 on
; an 80286, 38 on an 80386 or later. The test is the FLAGS one of Intel's application note
; AP-485 ("Intel Processor Identification and the CPUID Instruction", section on
; identifying processors without CPUID): on the 8086 FLAGS bits 12-15 are always 1; on the
; 80286 in real mode they are always 0; on the 80386 bits 12-14 (IOPL, NT) can be set.
; Used by `vexed run/record --cpu` tests (replay/tests/cli.rs).
;
; Assemble: nasm -f bin -o cputype.com cputype.asm

        bits 16
        cpu 8086
        org 0x100

start:
        pushf
        pop cx                  ; CX = FLAGS as the loader left them
        mov ax, cx
        and ax, 0x0FFF          ; try to clear bits 12-15
        push ax
        popf
        pushf
        pop ax
        and ax, 0xF000
        mov bl, 86
        cmp ax, 0xF000          ; still all set: an 8086
        je done
        mov ax, cx
        or ax, 0xF000           ; try to set bits 12-15
        push ax
        popf
        pushf
        pop ax
        mov bl, 28
        test ax, 0xF000         ; still all clear: an 80286 in real mode
        jz done
        mov bl, 38              ; some could be set: an 80386
done:
        push cx
        popf                    ; FLAGS as they were
        mov al, bl
        mov ah, 0x4C
        int 0x21                ; exit with the code in AL
