; cpuloop32.asm - the CPU benchmark workload in protected mode with paging (a raw binary,
; not a DOS program).
;
; Loaded at 1000:0000 (linear 10000h) and started in real mode by `vexed bench-cpu
; --protected`, like cpuloop.asm. It builds a GDT with flat 4 GiB 32-bit code and data
; segments, a page directory at 20000h and one page table at 21000h identity-mapping the
; first 4 MiB, turns on PE and PG, and runs the same loop as cpuloop.asm with 32-bit
; registers in the flat segments:
;   mov eax,[data]; add eax,ecx; xor ebx,eax; mov [data],ebx; shl eax,1; adc edx,eax;
;   inc esi; and esi,0FFh; mov al,[esi+data]; sub edi,eax; loop
; 65,536 times (ECX = 10000h) inside an outer loop of 1,000, then halts: 720,896,000 loop
; instructions, as in real mode; 720,906,195 instructions in all, the HLT included.
;
; Assemble: nasm -f bin -o cpuloop32.bin cpuloop32.asm

        cpu 386
%include "cpuloop.inc"

        bits 16
        org 0

LOAD    equ 10000h              ; where the image lies (linear = physical)
PDIR    equ 20000h
PTAB    equ 21000h

start:
        cli
        ; The page table: 1024 entries mapping 4 MiB one to one (present, writable, user).
        mov ax, PTAB >> 4
        mov es, ax
        xor di, di
        mov eax, 7
        mov cx, 1024
.pte:   mov [es:di], eax
        add eax, 1000h
        add di, 4
        loop .pte
        ; The page directory: entry 0 -> the table, the rest not present.
        mov ax, PDIR >> 4
        mov es, ax
        xor di, di
        xor eax, eax
        mov cx, 1024
.pde:   mov [es:di], eax
        add di, 4
        loop .pde
        mov dword [es:0], PTAB | 7
        ; GDTR, CR3, then PE and PG together, and a far jump into the 32-bit code segment.
        lgdt [cs:gdtr]
        mov eax, PDIR
        mov cr3, eax
        mov eax, cr0
        or eax, 80000001h
        mov cr0, eax
        jmp dword 08h:(pm32 + LOAD)

        bits 32
pm32:
        mov ax, 10h
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, 9FFF0h
        xor esi, esi
        mov ebp, 1000           ; outer iterations
outer:
        mov ecx, 10000h         ; 65,536 inner iterations
inner:
        mov eax, [data + LOAD]
        add eax, ecx
        xor ebx, eax
        mov [data + LOAD], ebx
        shl eax, 1
        adc edx, eax
        inc esi
        and esi, 0FFh
        mov al, [esi + data + LOAD]
        sub edi, eax
        loop inner
        dec ebp
        jnz outer
        hlt

        align 8
gdt:    dq 0
        dq 00CF9A000000FFFFh    ; 08h: flat 4 GiB 32-bit code, DPL 0
        dq 00CF92000000FFFFh    ; 10h: flat 4 GiB 32-bit data, DPL 0
gdtr:   dw 23
        dd gdt + LOAD

        CPULOOP_DATA
