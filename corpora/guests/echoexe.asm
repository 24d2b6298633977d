; echoexe.asm - the ECHODEV driver (echodev.inc) as an MZ .EXE-format device driver,
; ECHOEXE.EXE, loaded by CONFIG.SYS's DEVICE= line: DOS loads the load module (the part
; after the header), applies its relocations with the load segment, and finds the device
; header at the start of the load module (MS-DOS 5 loads .EXE-format drivers this way;
; the entry point in the header is not used). The EXE header (RBIL #01594) has one
; relocation, for the word `loadseg`, which INIT compares with CS and reports. The device
; is named "ECHOEXE$".
;
; Assemble: nasm -f bin echoexe.asm -o echoexe.exe

        cpu 8086
        bits 16

HEADER_PARAS equ 2

        section mz start=0 vstart=0
        db 'MZ'
        dw FILE_LEN % 512               ; bytes in the last page
        dw (FILE_LEN + 511) / 512       ; pages
        dw 1                            ; relocations
        dw HEADER_PARAS                 ; header size in paragraphs
        dw 0, 0                         ; min/max extra paragraphs
        dw 0, 0                         ; SS, SP
        dw 0                            ; checksum
        dw 0, 0                         ; IP, CS (unused for a driver)
        dw 1Ch                          ; relocation table offset
        dw 0                            ; overlay
        dw loadseg, 0                   ; relocation: the word at load module 0000:loadseg
        times HEADER_PARAS * 16 - ($ - $$) db 0

        section module vstart=0 follows=mz
%define DEVNAME 'ECHOEXE$'
%define DEVTAG 'ECHOEXE'
%define EXE
%include "echodev.inc"
FILE_LEN equ HEADER_PARAS * 16 + ($ - $$)
