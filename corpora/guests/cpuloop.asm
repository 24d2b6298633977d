; cpuloop.asm - the CPU benchmark workload (a raw real-mode binary, not a DOS program).
;
; Loaded at 1000:0000 with DS = ES = SS = 1000h by `vexed bench-cpu` and the criterion
; benchmark in emu/benches. The inner loop body is the one the CPU issue specifies:
;   mov ax,[data]; add ax,cx; xor bx,ax; mov [data],bx; shl ax,1; adc dx,ax; inc si;
;   and si,0FFh; mov al,[si+data]; sub di,ax; loop
; It runs 65,536 times (CX = 0 counts 65,536) inside an outer loop of 1,000, then halts.
; Total: 11 x 65,536 x 1,000 = 720,896,000 loop instructions + 2,001 outer/setup + HLT.
;
; Assemble: nasm -f bin -o cpuloop.bin cpuloop.asm

%include "cpuloop.inc"

        bits 16
        org 0

start:
        xor si, si
        CPULOOP_BODY
        hlt

        CPULOOP_DATA
