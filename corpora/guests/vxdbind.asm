; vxdbind.asm - the TSR of Microsoft KB Q74516 (binding a TSR to a VxD) as a .COM program.
;
; KB Q74516 (dos-memory.md 4.3): a TSR names its VxD file in the Win386_Startup_Info_Struc it
; returns from Int 2Fh AX=1605h; when TSR and VxD are one file (the VxD linked with
; "STUB TSR.EXE"), the TSR names its own path, which DOS stores 3 bytes past the
; environment's double NUL. The code, its console lines and the structure are in
; vxdtsr.inc (shared with vxdbnd.asm). The KB notes that the binding itself needs an
; EXE-format TSR: a .COM file cannot be the stub of an LE file. This .COM program exercises
; the DOS and Int 2Fh side of the protocol, which is identical, and names a file Windows
; could not load: under vexed's VMM its startup structure's file check reports "not an MZ
; program" (emu/src/firmware/vmm/vxd.rs). vxdbnd.asm is the bound program.
;
; Assemble: nasm -f bin -i corpora/guests/ vxdbind.asm -o vxdbind.com

        cpu 8086
        bits 16
        org 100h

%define TSR_NAME 'VXDBIND'
%include "vxdtsr.inc"
