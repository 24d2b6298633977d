; vxdbnd.asm - KB Q74516's bound program: a VxD file whose MS-DOS stub is the TSR.
;
; KB Q74516 (dos-memory.md 4.3): a TSR and its VxD become one file when the VxD is linked
; with the TSR as its stub ("STUB TSR.EXE" in the .DEF file). DOS runs the stub; the stub
; stays resident and names its own path as the VxD file in the Win386_Startup_Info_Struc it
; returns from Int 2Fh AX=1605h; Windows enhanced mode then opens that same file and loads
; the LE module behind the stub. The TSR is vxdtsr.inc, byte for byte the code of
; vxdbind.asm (only the console prefix differs), so vminfo.asm recognizes its handler too.
;
; Layout of VXDBND.EXE:
;   0000h  MZ header, 40h bytes (RBIL #01594): no relocations; e_lfarlc (18h) = 40h, which
;          marks a new-format executable ("40h or greater for new-format (NE,LE,LX,W3,PE,
;          etc.) executable"), and the DWORD at 3Ch = the file offset of the LE header.
;          Initial CS and SS are FFF0h relative to the load segment (= the PSP, since the
;          load module starts at PSP:0100h), IP = 0100h: the load module is assembled at
;          100h and runs like a .COM program. Minimum allocation: 10h paragraphs for the
;          stack; maximum FFFFh (all memory, as linkers set it; AH=31h shrinks the block).
;   0040h  the load module: the TSR (vxdtsr.inc). The header's page count and last-page
;          size (02h, 04h) cover the header and this module only, as a linker writes them
;          for a stub, so DOS's EXEC loads the TSR and never the LE part behind it.
;   ....   (padding to a 16-byte boundary)
;   LE     a minimal LE header for a Windows 3.x VxD, C4h bytes, and its loader section.
;          Field order and values: the LE layout of Open Watcom's exeflat.h (struct
;          os2_flat_header, "Windows VxD (LE) format structures") and IBM's LX format
;          description for the fields LE shares with LX:
;            +00h 'LE'; +02h byte order 0, +03h word order 0 (little-endian);
;            +04h format level 0; +08h CPU type 2 (80386); +0Ah OS type 4 (Windows 386,
;            exeflat.h OSF_WIN386_LEVEL); +0Ch module version 0;
;            +10h module flags 00008020h (exeflat.h VXD_DEVICE_DRIVER_3x: a library module,
;            8000h, with no external fixups, 0020h);
;            +14h 0 pages, no objects, no entry point (startobj/eip/stackobj/esp 0);
;            +28h page size 1000h; +58h resident name table and the other table offsets
;            are relative to the LE header; +80h data pages offset is from the start of
;            the file; +C0h device ID 0 (Undefined_Device_ID), +C2h DDK version 030Ah.
;          The resident name table's first entry is the module name (LX description: a
;          length byte, the name, and the ordinal word, 0 for the module name): "VXDBND".
;          The table ends with a zero length byte. The entry table is empty (one 00h), the
;          fixup page table has the one terminating DWORD of a module with 0 pages.
;
; The LE image holds no objects and no code: it is what Windows' loader reads to decide
; whether the file is an LE module and what it is called (emu/src/firmware/vmm/vxd.rs
; models that check), not a device driver that could run. Windows 3.1 would go on to look
; for the module's DDB export and fail there; vexed's VMM loads no VxD code.
;
; Assemble: nasm -f bin -i corpora/guests/ vxdbnd.asm -o vxdbnd.exe

        cpu 8086
        bits 16

STACK_PARAS equ 10h             ; minimum allocation: a 256-byte stack above the module

; ----- MZ header (RBIL #01594) ------------------------------------------------------------
        section header progbits start=0 vstart=0
        db 'MZ'
        dw stub_bytes % 512             ; bytes in the last 512-byte page
        dw (stub_bytes + 511) / 512     ; pages, header included
        dw 0                            ; relocation entries
        dw header_bytes / 16            ; header size in paragraphs (4)
        dw STACK_PARAS                  ; minimum extra paragraphs
        dw 0FFFFh                       ; maximum extra paragraphs
        dw 0FFF0h                       ; SS relative to the load segment: the PSP
        dw stack_top                    ; SP, relative to the PSP
        dw 0                            ; checksum (unused)
        dw start                        ; IP (0100h)
        dw 0FFF0h                       ; CS relative to the load segment: the PSP
        dw 40h                          ; e_lfarlc: 40h or more = new-format executable
        dw 0                            ; overlay number
        times 3Ch - ($ - $$) db 0       ; reserved
        dd section.le.start             ; e_lfanew: file offset of the LE header
header_bytes equ $ - $$

; ----- load module: the TSR, run at PSP:0100h ---------------------------------------------
        section stub follows=header vstart=100h
%define TSR_NAME 'VXDBND'
%include "vxdtsr.inc"
stub_end:
stub_len equ stub_end - $$

; Bytes of the file DOS loads: the header and the load module (not the LE part).
stub_bytes equ header_bytes + stub_len
; SP: the top of the stack paragraphs above the module (offsets relative to the PSP).
stack_top equ 100h + ((stub_len + 15) / 16 + STACK_PARAS) * 16

; ----- the LE header and loader section (offsets relative to the LE header) -------------
        section le follows=stub align=16 vstart=0
le_header:
        db 'LE'                 ; +00h signature
        db 0                    ; +02h byte order: little-endian
        db 0                    ; +03h word order: little-endian
        dd 0                    ; +04h format level
        dw 2                    ; +08h CPU type: 80386
        dw 4                    ; +0Ah OS type: Windows 386 (VxD)
        dd 0                    ; +0Ch module version
        dd 00008020h            ; +10h module flags: Windows 3.x VxD
        dd 0                    ; +14h number of memory pages
        dd 0                    ; +18h object number of the initial CS:EIP (none)
        dd 0                    ; +1Ch EIP
        dd 0                    ; +20h object number of the initial SS:ESP (none)
        dd 0                    ; +24h ESP
        dd 1000h                ; +28h page size
        dd 0                    ; +2Ch bytes in the last page
        dd fixup_end - fixup_pages ; +30h fixup section size
        dd 0                    ; +34h fixup section checksum
        dd loader_end - loader  ; +38h loader section size
        dd 0                    ; +3Ch loader section checksum
        dd object_table         ; +40h object table
        dd 0                    ; +44h number of objects
        dd object_page_map      ; +48h object page map
        dd 0                    ; +4Ch object iterated data map (none)
        dd resource_table       ; +50h resource table
        dd 0                    ; +54h number of resources
        dd resident_names       ; +58h resident name table
        dd entry_table          ; +5Ch entry table
        dd 0                    ; +60h module directives table (none)
        dd 0                    ; +64h number of module directives
        dd fixup_pages          ; +68h fixup page table
        dd fixup_records        ; +6Ch fixup record table
        dd import_modules       ; +70h import module name table
        dd 0                    ; +74h number of import modules
        dd import_procs         ; +78h import procedure name table
        dd 0                    ; +7Ch per-page checksum table (none)
        dd section.le.start + (le_end - le_header) ; +80h data pages, from the file start (none)
        dd 0                    ; +84h preload pages
        dd 0                    ; +88h non-resident name table (none)
        dd 0                    ; +8Ch its length
        dd 0                    ; +90h its checksum
        dd 0                    ; +94h automatic data object (none)
        dd 0                    ; +98h debug information (none)
        dd 0                    ; +9Ch its length
        dd 0                    ; +A0h instance pages in the preload section
        dd 0                    ; +A4h instance pages in the demand section
        dd 0                    ; +A8h heap size
        dd 0                    ; +ACh stack size
        times 8 db 0            ; +B0h reserved
        dd 0                    ; +B8h Windows VxD version resource offset (none)
        dd 0                    ; +BCh its length
        dw 0                    ; +C0h device ID: Undefined_Device_ID
        dw 030Ah                ; +C2h DDK version 3.10
LE_HEADER_BYTES equ $ - le_header
%if LE_HEADER_BYTES != 0C4h
%error "the LE header of a VxD is C4h bytes"
%endif

; Loader section: object table and page map (empty), resource table (empty), resident
; name table, entry table.
loader:
object_table:
object_page_map:
resource_table:
resident_names:
        db 6, 'VXDBND'          ; the module name
        dw 0                    ; its ordinal
        db 0                    ; end of the table
entry_table:
        db 0                    ; end of the entry table
loader_end:

; Fixup section: the fixup page table (pages + 1 DWORDs), no records, no imports.
fixup_pages:
        dd 0
fixup_records:
import_modules:
import_procs:
fixup_end:
le_end:
