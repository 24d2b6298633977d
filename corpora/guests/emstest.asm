; emstest.asm - LIM EMS 4.0 driver test (a DOS .COM program).
;
; Exercises an expanded memory manager through Int 67h the way DOS programs do and prints
; one line per check with Int 21h AH=09h:
;
;     ok   <what was checked> [-> AH=xxh]
;     FAIL <what was checked> -> AH=xxh, expected yyh
;
; then exits with Int 21h AH=4Ch: code 0 if every check passed, 1 otherwise.
;
; Every expected value is defined by the LIM EMS 4.0 specification (status codes and register
; conventions: ../../shared/reference/dos-memory.md sections 2.2-2.4). Values that
; legitimately differ between EMS drivers - handle numbers, total and free page counts, the
; frame segment, the 4Eh array's size and layout - are never printed or compared with
; constants: the program compares them only with themselves (for example "free pages after
; 43h = free pages before - 4"). On success lines the status shown is the expected one, so
; the output of a passing run is the same on every conforming driver.
;
; Where drivers disagree (dos-memory.md 6.2), the checks use the cases all spec-following
; drivers agree on: the 57h overlap case is source < destination < source + length (Jemm
; and the spec both say 92h for a move, 97h for an exchange; DOSBox does not check, so it
; fails those lines), and the 8Bh check uses physical page FFh (Jemm has up to 56 mappable
; pages, so page 4 may be valid there).
;
; Assemble: nasm -f bin emstest.asm -o emstest.com

        bits 16
        cpu 8086
        org 100h

PAGES   equ 4                   ; pages of the main test handle

; SETMOVE length, src type, src handle, src offset, src segment/page,
;         dst type, dst handle, dst offset, dst segment/page
; fills the 57h structure at mv (RBIL #03653).
%macro SETMOVE 9
        mov word [mv + 00h], (%1) & 0FFFFh
        mov word [mv + 02h], (%1) >> 16
        mov byte [mv + 04h], %2
        mov ax, %3
        mov [mv + 05h], ax
        mov word [mv + 07h], %4
        mov ax, %5
        mov [mv + 09h], ax
        mov byte [mv + 0Bh], %6
        mov ax, %7
        mov [mv + 0Ch], ax
        mov word [mv + 0Eh], %8
        mov ax, %9
        mov [mv + 10h], ax
%endmacro

start:
        cld

; ---------------------------------------------------------------------------------------
; Detection (dos-memory.md 2.1; LIM 4.0 "testing for the presence of the EMM", the
; "get interrupt vector" method): the Int 67h vector's segment holds the driver's device
; header, whose name field at offset 000Ah reads "EMMXXXX0". Only after this may Int 67h be
; called.
; ---------------------------------------------------------------------------------------
        mov ax, 3567h
        int 21h                         ; ES:BX = Int 67h vector
        mov di, 000Ah
        mov si, emm_name
        mov cx, 8
        repe cmpsb
        mov dx, m_detect
        call check_z
        jz detected
        jmp finish                      ; no EMS: nothing else can be tested
detected:
        push cs
        pop es

; 40h Get Status (LIM function 1): 00h = manager and hardware working.
        mov ah, 40h
        int 67h
        mov bl, 00h
        mov dx, m_40
        call expect

; 46h Get Version (function 7): AL = version in BCD, 40h for EMS 4.0; everything below
; uses 4.0 functions.
        mov ah, 46h
        int 67h
        mov [version], al
        mov bl, 00h
        mov dx, m_46
        call expect
        cmp byte [version], 40h
        mov dx, m_46v
        call check_z

; 41h Get Page Frame Address (function 2): BX = frame segment (physical page 0).
        mov ah, 41h
        int 67h
        mov [frame], bx
        mov bl, 00h
        mov dx, m_41
        call expect

; 42h Get Unallocated Page Count (function 3): BX = free, DX = total; free <= total.
        mov ah, 42h
        int 67h
        mov [free0], bx
        mov [total], dx
        mov bl, 00h
        mov dx, m_42
        call expect
        mov ax, [free0]
        cmp ax, [total]
        mov dx, m_42le
        call check_be
        cmp word [free0], PAGES + 1     ; the test needs PAGES + 1 pages
        mov dx, m_42need
        call check_ae
        jae enough
        jmp finish
enough:

; 43h Allocate Pages (function 4) with BX = 0: EMS 4.0 returns 89h (use 5Ah for empty
; handles).
        mov ah, 43h
        xor bx, bx
        int 67h
        mov bl, 89h
        mov dx, m_43zero
        call expect

; 43h with BX = PAGES: DX = handle (never printed: the number is the driver's choice).
        mov ah, 43h
        mov bx, PAGES
        int 67h
        mov [handle], dx
        mov bl, 00h
        mov dx, m_43
        call expect
        cmp ah, 0
        je allocated
        jmp finish
allocated:

; 42h again: exactly PAGES fewer free pages.
        mov ah, 42h
        int 67h
        mov ax, [free0]
        sub ax, PAGES
        cmp ax, bx
        mov dx, m_42after
        call check_z

; 4Ch Get Handle Pages (function 13): BX = PAGES.
        mov ah, 4Ch
        mov dx, [handle]
        int 67h
        mov [count], bx
        mov bl, 00h
        mov dx, m_4c
        call expect
        cmp word [count], PAGES
        mov dx, m_4cv
        call check_z

; ---------------------------------------------------------------------------------------
; Mapping (44h, function 5): a logical page mapped at a physical page is visible at that
; page's addresses. Write pattern A through physical page 0 with logical page 0, map
; logical page 1 in the same window and write pattern B, map logical page 0 again: pattern
; A must be back (the window shows whichever page is mapped; the pages are distinct memory).
; ---------------------------------------------------------------------------------------
        mov al, 0
        mov bx, 0
        call map
        mov bl, 00h
        mov dx, m_44
        call expect
        mov es, [frame]
        xor di, di
        mov al, 01h                     ; pattern A: 01h, 02h, 03h, ...
        call fill256
        mov al, 0
        mov bx, 1
        call map
        mov es, [frame]
        xor di, di
        mov al, 80h                     ; pattern B: 80h, 81h, ...
        call fill256
        mov al, 0
        mov bx, 0
        call map
        mov es, [frame]
        xor di, di
        mov al, 01h
        call cmp256
        mov dx, m_44back
        call check_z
        mov al, 0                       ; and logical page 1 still holds pattern B
        mov bx, 1
        call map
        mov es, [frame]
        xor di, di
        mov al, 80h
        call cmp256
        mov dx, m_44b
        call check_z

; 44h errors: logical page outside the handle (8Ah), physical page that does not exist
; (8Bh), handle that is not open (83h).
        mov al, 0
        mov bx, PAGES
        call map
        mov bl, 8Ah
        mov dx, m_44_8a
        call expect
        mov al, 0FFh
        mov bx, 0
        call map
        mov bl, 8Bh
        mov dx, m_44_8b
        call expect
        mov ax, 4400h
        mov bx, 0
        mov dx, 0FFFFh
        int 67h
        mov bl, 83h
        mov dx, m_44_83
        call expect

; Leave logical 0 at physical 0 and logical 1 at physical 1 for what follows.
        mov al, 0
        mov bx, 0
        call map
        mov al, 1
        mov bx, 1
        call map

; ---------------------------------------------------------------------------------------
; Save/restore (47h/48h, functions 8/9): 47h saves the frame's mapping in the handle's save
; area; a second 47h for the same handle is 8Dh; 48h restores it (the remap in between is
; undone) and frees the area, so a second 48h is 8Eh.
; ---------------------------------------------------------------------------------------
        mov ah, 47h
        mov dx, [handle]
        int 67h
        mov bl, 00h
        mov dx, m_47
        call expect
        mov ah, 47h
        mov dx, [handle]
        int 67h
        mov bl, 8Dh
        mov dx, m_47twice
        call expect
        mov al, 0
        mov bx, 2
        call map                        ; physical 0 now shows logical 2
        mov ah, 48h
        mov dx, [handle]
        int 67h
        mov bl, 00h
        mov dx, m_48
        call expect
        mov es, [frame]
        xor di, di
        mov al, 01h
        call cmp256
        mov dx, m_48back
        call check_z
        mov ah, 48h
        mov dx, [handle]
        int 67h
        mov bl, 8Eh
        mov dx, m_48twice
        call expect

; ---------------------------------------------------------------------------------------
; Get/set page map (4Eh, function 15): 4E03h gives the array size (driver-defined), 4E00h
; copies the mapping to ES:DI, 4E01h sets it back from DS:SI.
; ---------------------------------------------------------------------------------------
        mov ax, 4E03h
        int 67h
        mov [mapsize], al
        mov bl, 00h
        mov dx, m_4e03
        call expect
        cmp byte [mapsize], MAPBUF_SIZE
        mov dx, m_4e03fit
        call check_be
        jbe do_4e
        jmp skip_4e
do_4e:
        push cs
        pop es
        mov di, mapbuf
        mov ax, 4E00h
        int 67h
        mov bl, 00h
        mov dx, m_4e00
        call expect
        mov al, 0
        mov bx, 3
        call map                        ; physical 0 now shows logical 3
        mov si, mapbuf
        mov ax, 4E01h
        int 67h
        mov bl, 00h
        mov dx, m_4e01
        call expect
        mov es, [frame]
        xor di, di
        mov al, 01h
        call cmp256
        mov dx, m_4eback
        call check_z
skip_4e:

; 4Fh partial page map (4.0 function 16): save just physical page 0 (by segment), remap it,
; restore it.
        mov ax, [frame]
        mov [partial_list + 2], ax
        mov si, partial_list
        push cs
        pop es
        mov di, partial_buf
        mov ax, 4F00h
        int 67h
        mov bl, 00h
        mov dx, m_4f00
        call expect
        mov al, 0
        mov bx, 2
        call map
        mov si, partial_buf
        mov ax, 4F01h
        int 67h
        mov bl, 00h
        mov dx, m_4f01
        call expect
        mov es, [frame]
        xor di, di
        mov al, 01h
        call cmp256
        mov dx, m_4fback
        call check_z

; 58h Get Mappable Physical Address Array (function 25): the frame segment is in the list
; as physical page 0.
        mov ax, 5801h
        int 67h
        mov [count], cx
        mov bl, 00h
        mov dx, m_5801
        call expect
        cmp word [count], 4
        mov dx, m_5801v
        call check_ae
        push cs
        pop es
        mov di, bigbuf
        mov ax, 5800h
        int 67h
        mov bl, 00h
        mov dx, m_5800
        call expect
        mov cx, [count]
        mov si, bigbuf
        mov ax, [frame]
        xor bl, bl                      ; BL = 1 once {frame, 0} is seen
        cmp cx, 64                      ; bigbuf holds 64 entries
        jbe .scan
        mov cx, 64
.scan:  jcxz .done
        cmp [si], ax
        jne .next
        cmp word [si + 2], 0
        jne .next
        mov bl, 1
.next:  add si, 4
        loop .scan
.done:  cmp bl, 1
        mov dx, m_5800v
        call check_z

; ---------------------------------------------------------------------------------------
; Move/exchange memory region (57h, function 24), RBIL #03653 structure at DS:SI. EMS
; addresses are logical page x 16 KiB + offset within the handle.
; ---------------------------------------------------------------------------------------
        push cs
        pop es
        mov di, src_data                ; source data: 07h, 0Ah, 0Dh, ... (3i + 7)
        xor cx, cx
.mk:    mov al, cl
        add al, cl
        add al, cl
        add al, 7
        stosb
        inc cl
        jnz .mk

; Conventional -> expanded: 256 bytes to logical page 2 offset 0; visible through the
; frame once logical 2 is mapped.
        SETMOVE 100h, 0, 0, src_data, cs, 1, [handle], 0, 2
        call move
        mov bl, 00h
        mov dx, m_57c2e
        call expect
        mov al, 1
        mov bx, 2
        call map                        ; physical 1 shows logical 2
        mov es, [frame]
        mov ax, es
        add ax, 400h
        mov es, ax
        xor di, di
        mov si, src_data
        mov cx, 256
        repe cmpsb
        mov dx, m_57c2ev
        call check_z

; Expanded -> conventional: logical page 0 offset 0 (pattern A) to dst_data.
        SETMOVE 100h, 1, [handle], 0, 0, 0, 0, dst_data, cs
        call move
        mov bl, 00h
        mov dx, m_57e2c
        call expect
        push cs
        pop es
        mov di, dst_data
        mov al, 01h
        call cmp256
        mov dx, m_57e2cv
        call check_z

; Expanded -> expanded, same handle, no overlap: 256 bytes from logical 0 offset 0
; (pattern A) to logical 2 offset 3F80h. The destination crosses into logical page 3, whose
; first 80h bytes must then hold pattern A's bytes 80h-FFh (81h, 82h, ...): EMS regions are
; contiguous in the handle's pages (RBIL #03653).
        SETMOVE 100h, 1, [handle], 0, 0, 1, [handle], 3F80h, 2
        call move
        mov bl, 00h
        mov dx, m_57e2e
        call expect
        mov al, 2
        mov bx, 3
        call map                        ; physical 2 shows logical 3
        mov es, [frame]
        mov ax, es
        add ax, 800h
        mov es, ax
        xor di, di                      ; logical 3 offset 0 = byte 80h of the copy
        mov al, 81h
        mov cx, 80h
        call cmpn
        mov dx, m_57e2ev
        call check_z

; Exchange conventional <-> expanded: 16 bytes of 'X' at xchg_data with logical 2 offset
; 0 (src_data's first bytes, see above).
        push cs
        pop es
        mov di, xchg_data
        mov al, 'X'
        mov cx, 16
        rep stosb
        SETMOVE 10h, 0, 0, xchg_data, cs, 1, [handle], 0, 2
        mov ax, 5701h
        call move_ax
        mov bl, 00h
        mov dx, m_57x
        call expect
        mov si, src_data                ; conventional side now holds the EMS bytes
        mov di, xchg_data
        push cs
        pop es
        mov cx, 16
        repe cmpsb
        mov dx, m_57xc
        call check_z
        mov es, [frame]                 ; EMS side (physical 1 = logical 2) holds 'X'
        mov ax, es
        add ax, 400h
        mov es, ax
        xor di, di
        mov al, 'X'
        mov cx, 16
        repe scasb
        mov dx, m_57xe
        call check_z
        SETMOVE 10h, 0, 0, src_data, cs, 1, [handle], 0, 2
        call move                       ; put src_data's bytes back

; Same handle, overlapping, source < destination < source + length (logical 2 offset 0
; -> offset 10h, 256 bytes): the move is done - the destination is a full copy of the
; source - and AH = 92h says the source was partly overwritten.
        SETMOVE 100h, 1, [handle], 0, 2, 1, [handle], 10h, 2
        call move
        mov bl, 92h
        mov dx, m_57ov
        call expect
        mov es, [frame]
        mov ax, es
        add ax, 400h
        mov es, ax
        mov di, 10h
        mov si, src_data
        mov cx, 256
        repe cmpsb
        mov dx, m_57ovv
        call check_z

; The same regions exchanged: 97h (overlapping exchange is invalid), nothing changes.
        mov ax, 5701h
        call move_ax
        mov bl, 97h
        mov dx, m_57xov
        call expect

; 57h errors, one field wrong at a time.
        SETMOVE 100001h, 0, 0, src_data, cs, 1, [handle], 0, 0
        call move
        mov bl, 96h
        mov dx, m_57_96
        call expect
        SETMOVE 10h, 0, 0, src_data, cs, 1, [handle], 4000h, 0
        call move
        mov bl, 95h
        mov dx, m_57_95
        call expect
        SETMOVE 20h, 0, 0, 0FFF0h, 0FFFFh, 1, [handle], 0, 0
        call move
        mov bl, 0A2h
        mov dx, m_57_a2
        call expect
        SETMOVE 10h, 2, 0, src_data, cs, 1, [handle], 0, 0
        call move
        mov bl, 98h
        mov dx, m_57_98
        call expect
        SETMOVE 4001h, 1, [handle], 0, PAGES - 1, 0, 0, 0, 2000h
        call move
        mov bl, 93h
        mov dx, m_57_93
        call expect

; ---------------------------------------------------------------------------------------
; Handle names (53h/54h, functions 20/21): name the handle, find it by name, read the name
; back; a second handle may not take the same name (A1h).
; ---------------------------------------------------------------------------------------
        mov ax, 5301h
        mov dx, [handle]
        mov si, hname
        int 67h
        mov bl, 00h
        mov dx, m_5301
        call expect
        mov ax, 5401h
        mov si, hname
        xor dx, dx
        int 67h
        mov [found], dx
        mov bl, 00h
        mov dx, m_5401
        call expect
        mov ax, [found]
        cmp ax, [handle]
        mov dx, m_5401v
        call check_z
        push cs
        pop es
        mov di, xchg_data
        mov ax, 5300h
        mov dx, [handle]
        int 67h
        mov bl, 00h
        mov dx, m_5300
        call expect
        mov si, hname
        mov di, xchg_data
        mov cx, 8
        repe cmpsb
        mov dx, m_5300v
        call check_z
        mov ah, 43h
        mov bx, 1
        int 67h
        mov [handle2], dx
        mov bl, 00h
        mov dx, m_43b
        call expect
        mov ax, 5301h
        mov dx, [handle2]
        mov si, hname
        int 67h
        mov bl, 0A1h
        mov dx, m_5301dup
        call expect

; ---------------------------------------------------------------------------------------
; Release (45h, function 6): both handles; releasing a closed handle is 83h; every page
; is free again.
; ---------------------------------------------------------------------------------------
        mov ah, 45h
        mov dx, [handle2]
        int 67h
        mov bl, 00h
        mov dx, m_45b
        call expect
        mov ah, 45h
        mov dx, [handle]
        int 67h
        mov bl, 00h
        mov dx, m_45
        call expect
        mov ah, 45h
        mov dx, [handle]
        int 67h
        mov bl, 83h
        mov dx, m_45twice
        call expect
        mov ah, 42h
        int 67h
        cmp bx, [free0]
        mov dx, m_42end
        call check_z

finish:
        mov al, [failed]
        mov ah, 4Ch
        int 21h

; ---------------------------------------------------------------------------------------
; Helpers
; ---------------------------------------------------------------------------------------


; 44h: map logical page BX of [handle] at physical page AL. Returns AH.
map:
        mov ah, 44h
        mov dx, [handle]
        int 67h
        ret

; 57h with AL = 00h (move) or AX as given (move_ax) on the structure at mv.
move:
        mov ax, 5700h
move_ax:
        mov si, mv
        int 67h
        ret

; Fill 256 bytes at ES:DI with AL, AL+1, ...
fill256:
        mov cx, 256
.l:     stosb
        inc al
        loop .l
        ret

; Compare 256 bytes at ES:DI with AL, AL+1, ...: ZF = 1 if equal.
cmp256:
        mov cx, 256
; Same for CX bytes.
cmpn:
.l:     scasb
        jne .done
        inc al
        loop .l
        cmp al, al                      ; ZF = 1
.done:  ret

; Check that AH (the status) equals BL; DX = message. Prints the line, records failure.
expect:
        push ax
        cmp ah, bl
        jne .bad
        push dx
        mov dx, s_ok
        call print
        pop dx
        call print
        mov dx, s_ah
        call print
        mov al, bl
        call hex8
        mov dx, s_h
        call print
        jmp .end
.bad:
        mov byte [failed], 1
        push dx
        mov dx, s_fail
        call print
        pop dx
        call print
        mov dx, s_ah
        call print
        mov al, ah
        call hex8
        mov dx, s_want
        call print
        mov al, bl
        call hex8
        mov dx, s_h
        call print
.end:   pop ax
        ret

; Print "ok" or "FAIL" for a condition: check_z passes on ZF = 1, check_be on CF = 1 or
; ZF = 1, check_ae on CF = 0. DX = message. Flags are preserved for the caller.
check_z:
        pushf
        jz pass
        jmp fail
check_be:
        pushf
        jbe pass
        jmp fail
check_ae:
        pushf
        jae pass
fail:
        mov byte [failed], 1
        push dx
        mov dx, s_fail
        jmp line
pass:
        push dx
        mov dx, s_ok
line:
        call print
        pop dx
        call print
        mov dx, s_crlf
        call print
        popf
        ret

; Int 21h AH=09h: print the $-terminated string at DS:DX (keeps AX).
print:
        push ax
        mov ah, 09h
        int 21h
        pop ax
        ret

; Print AL as two hex digits (keeps AX).
hex8:
        push ax
        push dx
        push ax
        mov cl, 4
        shr al, cl
        call .digit
        pop ax
        and al, 0Fh
        call .digit
        pop dx
        pop ax
        ret
.digit: add al, '0'
        cmp al, '9'
        jbe .out
        add al, 'A' - '9' - 1
.out:   mov dl, al
        mov ah, 02h
        int 21h
        ret

; ---------------------------------------------------------------------------------------
; Data
; ---------------------------------------------------------------------------------------
emm_name    db 'EMMXXXX0'
hname       db 'EMSTEST1'

s_ok        db 'ok   $'
s_fail      db 'FAIL $'
s_ah        db ' -> AH=$'
s_h         db 'h', 13, 10, '$'
s_want      db 'h, expected $'
s_crlf      db 13, 10, '$'

m_detect    db 'EMS detected: EMMXXXX0 at Int67-segment:000Ah (2.1)$'
m_40        db '40h get status$'
m_46        db '46h get version$'
m_46v       db '46h version is 4.0 (AL=40h)$'
m_41        db '41h get page frame segment$'
m_42        db '42h get page counts$'
m_42le      db '42h free pages <= total pages$'
m_42need    db '42h enough free pages for the test$'
m_43zero    db '43h allocate 0 pages is an error in 4.0$'
m_43        db '43h allocate 4 pages$'
m_42after   db '42h free pages dropped by 4$'
m_4c        db '4Ch get handle pages$'
m_4cv       db '4Ch handle has 4 pages$'
m_44        db '44h map logical 0 at physical 0$'
m_44back    db '44h remapped logical 0 shows its data again$'
m_44b       db '44h logical 1 kept its own data$'
m_44_8a     db '44h logical page outside the handle$'
m_44_8b     db '44h physical page FFh$'
m_44_83     db '44h invalid handle$'
m_47        db '47h save page map$'
m_47twice   db '47h second save for the same handle$'
m_48        db '48h restore page map$'
m_48back    db '48h restored the saved mapping$'
m_48twice   db '48h restore with nothing saved$'
m_4e03      db '4E03h get page map size$'
m_4e03fit   db '4E03h size fits the buffer$'
m_4e00      db '4E00h get page map$'
m_4e01      db '4E01h set page map$'
m_4eback    db '4E01h restored the mapping$'
m_4f00      db '4F00h get partial page map$'
m_4f01      db '4F01h set partial page map$'
m_4fback    db '4F01h restored physical page 0$'
m_5801      db '5801h number of mappable pages$'
m_5801v     db '5801h at least the 4 frame pages$'
m_5800      db '5800h mappable address array$'
m_5800v     db '5800h lists the frame as physical page 0$'
m_57c2e     db '57h move conventional -> expanded$'
m_57c2ev    db '57h data arrived in expanded memory$'
m_57e2c     db '57h move expanded -> conventional$'
m_57e2cv    db '57h data arrived in conventional memory$'
m_57e2e     db '57h move expanded -> expanded across a page$'
m_57e2ev    db '57h data arrived in the next logical page$'
m_57x       db '57h exchange conventional <-> expanded$'
m_57xc      db '57h exchange: conventional side$'
m_57xe      db '57h exchange: expanded side$'
m_57ov      db '57h move, same handle, overlapping$'
m_57ovv     db '57h overlapping move left a full copy$'
m_57xov     db '57h exchange, same handle, overlapping$'
m_57_96     db '57h length over 1 MB$'
m_57_95     db '57h offset 4000h$'
m_57_a2     db '57h conventional region past 1 MB$'
m_57_98     db '57h memory type 2$'
m_57_93     db '57h region longer than the handle$'
m_5301      db '5301h set handle name$'
m_5401      db '5401h search handle by name$'
m_5401v     db '5401h found the named handle$'
m_5300      db '5300h get handle name$'
m_5300v     db '5300h name reads back$'
m_43b       db '43h allocate a second handle$'
m_5301dup   db '5301h duplicate name$'
m_45b       db '45h release the second handle$'
m_45        db '45h release the first handle$'
m_45twice   db '45h release a closed handle$'
m_42end     db '42h all pages free again$'

failed      db 0
version     db 0
mapsize     db 0
frame       dw 0
free0       dw 0
total       dw 0
handle      dw 0
handle2     dw 0
found       dw 0
count       dw 0
partial_list dw 1, 0                    ; 4F00h: 1 segment (filled in: the frame)

mv          times 18 db 0               ; the 57h structure
MAPBUF_SIZE equ 128
mapbuf      times MAPBUF_SIZE db 0      ; 4E00h array (size from 4E03h)
partial_buf times 64 db 0               ; 4F00h array (1 segment)
xchg_data   times 16 db 0
src_data    times 256 db 0
dst_data    times 256 db 0
bigbuf      times 256 db 0              ; 5800h array (64 entries)
