; xmsvm.asm - the DOS-VM side of Microsoft KB Q74809: one XMS block, the same memory in
; every VM.
;
; KB Q74809 (dos-memory.md 3.4, step 3): a TSR loaded before Windows (xmsshare.asm)
; allocates and locks an extended memory block while the machine is still in real mode and
; hands out its handle through a user interrupt. Such a block is global to all virtual
; machines: a DOS program in any DOS VM reaches it with XMS moves (function 0Bh) on that
; handle, and what one VM writes, another reads. This program is run in two DOS VMs at
; once (command line "1" in one, "2" in the other); each instance owns one 1 KB region of
; the shared 64 KB block (region k at block offset k*1024; offset 0 is xmsclnt's and is
; left alone), writes to it while the other VM runs, and at the end reads the OTHER
; instance's region: it can only hold the other instance's data if the block is the same
; memory in both VMs. Finally it shows the Windows 3.x rule of dos-memory.md 1.3: XMS lock
; (0Ch) works on the block allocated before the VMM started, and fails (AX=0, BL=ADh "lock
; failed") on a block allocated after it.
;
; Steps (one console line each, prefix "XMSVM (VM n): ", or "XMSVM: " without a VMM):
;   1. Int 2Fh AX=1683h with BX=0: BX = the current VM id (dos-memory.md 4.1; never 0
;      under Windows). BX still 0 means no VMM: plain DOS, "VM id 0".
;   2. The command line: a single digit 1 or 2 = k, the region this instance owns; the
;      other instance's region is 3-k. An optional second digit 4 says that a third party
;      shares the block: the DPMI client of xmswin.asm (in the system VM) writing region 4
;      directly through a descriptor; then steps 5, 7 and 8 also look at region 4.
;   3. Int 2Fh AX=4300h/4310h: XMS driver present, its entry point (dos-memory.md 1.1).
;   4. XMSSHARE: the first vector of 60h-66h whose segment holds "XMSSHARE" at offset 0103h
;      (checked before calling anything, exactly as xmsclnt.asm does), then INT n with
;      AX=5853h: CF clear, AX = the shared block's handle (xmsshare.asm's interface).
;      Clears this instance's done word (below).
;   5. 8 rounds r = 0..7: the 1 KB pattern of (k, r) goes to region k with XMS 0Bh
;      (conventional memory -> EMB), then Int 2Fh AX=1680h (release the time slice, so the
;      other VM runs) 3 times, then the region is read back with XMS 0Bh (EMB ->
;      conventional memory) into a cleared buffer and compared. One line per round.
;      With the DPMI client: after every release of the time slice region 4 is read (XMS
;      0Bh) and must be whole: all zero (not written yet) or exactly the pattern of (4, r)
;      for some round r. The client writes its region a byte at a time inside a critical
;      section (Int 2Fh AX=1681h/1682h); were it switched away in the middle, this VM would
;      read a region that is half one round and half another, and fails.
;      Pattern byte i (0-1023) of (k, r): low(i) + 3*high(i) + 40h*k + 7*r + 11h, so
;      different regions differ in every byte and consecutive rounds too.
;   6. The done word 'OK' + 8 (nasm's word 'OK' = 4B4Fh, plus the 8 rounds: 4B57h) goes to
;      block offset 3*1024 + 2*k.
;   7. Waits for the other instance's done word (block offset 3*1024 + 2*(3-k)): reads it
;      with XMS 0Bh; while it is not 4B57h: Int 2Fh AX=1680h, STI, HLT, again; gives up
;      (failure) after 2000 waits. Without a VMM the other instance cannot run at the same
;      time: the word is checked once, and when it is not there (this is the first of two
;      instances run one after the other) the cross check is skipped with a line saying so.
;   8. The other region must hold the pattern of (3-k, 7), the other instance's last round:
;      "the block is the same memory in both VMs" (without a VMM: "the block kept it from
;      the earlier run"). With the DPMI client: it also waits for the client's done word
;      (block offset 3*1024 + 2*4, written after its 8th round) and region 4 must hold the
;      pattern of (4, 7): what the client wrote through its descriptor is what XMS moves
;      read through the handle.
;   9. XMS 0Ch on the shared handle: AX=1 (allocated before the VMM); XMS 0Dh unlocks it
;      again: AX=1.
;  10. XMS 09h allocates a new 1 KB block (AX=1, DX = handle). XMS 0Ch on it: under a VMM
;      (VM id > 0) it must fail with AX=0, BL=ADh; in plain DOS it must succeed (then XMS
;      0Dh unlocks it). XMS 0Ah frees it: AX=1.
; Then "all checks passed" and exit code 0. At the first failure the program prints the
; reason (with BL for a failed XMS call), frees what it allocated and exits with code 1.
; Handles and addresses are compared, never printed: they differ between drivers.
;
; Every console line is built in a buffer and written with one Int 21h AH=09h call, so the
; lines of two VMs printing at the same time never interleave mid-line.
;
; Assemble: nasm -f bin xmsvm.asm -o xmsvm.com

        cpu 8086
        bits 16
        org 100h

SIG_AX    equ 5853h             ; 'XS': XMSSHARE's request value
SIG_OFF   equ 0103h             ; where "XMSSHARE" sits in the TSR's PSP segment
FIRST_INT equ 60h
LAST_INT  equ 66h
REGION    equ 1024              ; bytes per region (even, as XMS 0Bh requires)
ROUNDS    equ 8
YIELDS    equ 3                 ; Int 2Fh AX=1680h calls per round
DONE_BASE equ 3*1024            ; done word of region k at DONE_BASE + 2*k
DONE_WORD equ 'OK' + ROUNDS     ; 4B4Fh + 8 = 4B57h
MAX_WAITS equ 2000
PEER      equ 4                 ; the DPMI client's region (xmswin.asm)

; Calls XMS function %1 through the far entry point.
%macro XMS 1
        mov ah,%1
        call far [xms_entry]
%endmacro

; Console line helpers: LINE starts a line with the prefix, TEXT appends a '$'-string,
; ENDL writes the line.
%macro LINE 0
        mov di,line_buf
        call begin_line
%endmacro
%macro TEXT 1
        mov si,%1
        call add_str
%endmacro
%macro ENDL 0
        mov dx,line_buf
        call end_line
%endmacro

start:
        cld
        ; -- step 1: the VM id (Int 2Fh AX=1683h; BX unchanged = no VMM) --
        xor bx,bx
        mov ax,1683h
        int 2Fh
        mov [vm_id],bx
        LINE
        test bx,bx
        jz .no_vmm
        TEXT s_vm_id
        mov ax,[vm_id]
        call add_dec
        jmp .vm_line
.no_vmm:
        TEXT s_no_vmm
.vm_line:
        ENDL

        ; -- step 2: the command line: one digit, 1 or 2 --
        mov si,81h
.skip:
        lodsb
        cmp al,' '
        je .skip
        cmp al,9
        je .skip
        sub al,'0'
        cmp al,1
        jb .usage
        cmp al,2
        ja .usage
        mov [region_k],al
        mov bl,3
        sub bl,al
        mov [region_other],bl
.trail:
        lodsb
        cmp al,' '
        je .trail
        cmp al,9
        je .trail
        cmp al,0Dh
        je .args_ok
        cmp al,'0'+PEER
        jne .usage
        cmp byte [peer],0
        jne .usage
        mov byte [peer],PEER
        jmp .trail
.usage:
        mov si,s_usage
        jmp fatal
.args_ok:
        LINE
        TEXT s_owns
        mov al,[region_k]
        call add_digit
        TEXT s_owns2
        mov al,[region_k]
        call region_offset
        call add_hex4
        TEXT s_owns3
        mov al,[region_other]
        call add_digit
        ENDL
        cmp byte [peer],0
        je .no_peer_line
        mov si,s_peer
        call say
.no_peer_line:

        ; -- step 3: XMS driver (dos-memory.md 1.1) --
        mov ax,4300h
        int 2Fh
        cmp al,80h
        je .have_xms
        mov si,s_no_xms
        jmp fatal
.have_xms:
        mov ax,4310h
        int 2Fh
        mov [xms_entry],bx
        mov [xms_entry+2],es
        push cs
        pop es
        mov si,s_present
        call say

        ; -- step 4: XMSSHARE behind one of Int 60h-66h, then AX=5853h --
        mov byte [int_no],FIRST_INT
.scan:
        mov al,[int_no]
        mov ah,35h              ; Int 21h AH=35h: ES:BX = vector AL
        int 21h
        mov ax,es
        or ax,bx
        jz .next                ; 0000:0000: unused
        mov si,tsr_signature
        mov di,SIG_OFF
        mov cx,8
        repe cmpsb
        je .found
.next:
        inc byte [int_no]
        cmp byte [int_no],LAST_INT
        jbe .scan
        push cs
        pop es
        mov si,s_no_tsr
        jmp fatal
.found:
        push cs
        pop es
        mov al,[int_no]
        mov [call_tsr.int+1],al ; patch the INT instruction (the CALL below flushes prefetch)
        LINE
        TEXT s_found
        mov al,[int_no]
        call add_hex2
        TEXT s_h
        ENDL
        mov ax,SIG_AX
        call call_tsr
        jnc .answered
        mov si,s_no_answer
        jmp fatal
.answered:
        mov [handle],ax
        ; clear our done word (a previous run may have left it)
        mov word [done_buf],0
        mov al,[region_k]
        call done_offset
        mov di,ax
        mov si,done_buf
        mov cx,2
        call put_block
        cmp ax,1
        je .cleared
        mov si,s_clear_failed
        jmp fatal_bl
.cleared:
        mov si,s_answered
        call say

        ; -- step 5: 8 rounds: write, yield, read back, compare --
        mov byte [round],0
.round:
        call round_seed         ; AL = seed of (k, round)
        mov [seed],al
        call fill_pattern
        mov al,[region_k]
        call region_offset
        mov di,ax
        mov si,buffer
        mov cx,REGION
        call put_block
        cmp ax,1
        je .written
        mov si,s_write_failed
        jmp fatal_bl
.written:
        mov cx,YIELDS
.yield:
        push cx
        mov ax,1680h
        int 2Fh
        cmp byte [peer],0
        je .yielded
        call check_peer
        jnc .yielded
        mov si,s_peer_torn
        jmp fatal
.yielded:
        pop cx
        loop .yield
        call clear_buffer
        mov al,[region_k]
        call region_offset
        mov si,ax
        mov di,buffer
        mov cx,REGION
        call get_block
        cmp ax,1
        je .read
        mov si,s_read_failed
        jmp fatal_bl
.read:
        mov al,[seed]
        call compare_pattern
        je .same
        LINE
        TEXT s_round
        mov al,[round]
        call add_digit
        TEXT s_round_bad
        ENDL
        jmp fail_exit
.same:
        LINE
        TEXT s_round
        mov al,[round]
        call add_digit
        TEXT s_round_ok1
        mov al,[region_k]
        call add_digit
        TEXT s_round_ok2
        mov al,[round]
        call add_digit
        TEXT s_round_ok3
        ENDL
        inc byte [round]
        cmp byte [round],ROUNDS
        jb .round

        ; -- step 6: the done word --
        mov word [done_buf],DONE_WORD
        mov al,[region_k]
        call done_offset
        mov di,ax
        mov si,done_buf
        mov cx,2
        call put_block
        cmp ax,1
        je .done_written
        mov si,s_done_failed
        jmp fatal_bl
.done_written:
        LINE
        TEXT s_done1
        mov al,[region_k]
        call done_offset
        call add_hex4
        TEXT s_h
        ENDL

        cmp byte [peer],0
        je .no_peer_whole
        mov si,s_peer_whole
        call say
.no_peer_whole:

        ; -- step 7: wait for the other instance's done word --
        mov al,[region_other]
        call wait_done
        jnc .other_done
        cmp word [vm_id],0
        jne .timeout
        ; no VMM: the other instance is not running now; skip the cross check
        LINE
        TEXT s_skip1
        mov al,[region_other]
        call add_digit
        TEXT s_skip2
        ENDL
        jmp .locks
.timeout:
        LINE
        TEXT s_region
        mov al,[region_other]
        call add_digit
        TEXT s_timeout
        ENDL
        jmp fail_exit
.other_done:
        LINE
        TEXT s_region
        mov al,[region_other]
        call add_digit
        TEXT s_other_done
        mov al,[region_other]
        call done_offset
        call add_hex4
        TEXT s_h_paren
        ENDL

        ; -- step 8: the other region holds (other, round 7) --
        call clear_buffer
        mov al,[region_other]
        call region_offset
        mov si,ax
        mov di,buffer
        mov cx,REGION
        call get_block
        cmp ax,1
        je .other_read
        mov si,s_read_failed
        jmp fatal_bl
.other_read:
        mov al,[region_other]
        mov ah,ROUNDS-1
        call seed_of
        call compare_pattern
        je .other_ok
        LINE
        TEXT s_region
        mov al,[region_other]
        call add_digit
        TEXT s_other_bad
        ENDL
        jmp fail_exit
.other_ok:
        LINE
        TEXT s_region
        mov al,[region_other]
        call add_digit
        TEXT s_other_ok1
        mov al,[region_other]
        call add_digit
        TEXT s_other_ok2
        cmp word [vm_id],0
        je .other_plain
        TEXT s_other_vmm
        jmp .other_end
.other_plain:
        TEXT s_other_plain
.other_end:
        ENDL

        ; -- step 8 with the DPMI client: its done word, then region 4 holds (4, 7) --
        cmp byte [peer],0
        je .locks
        mov al,PEER
        call wait_done
        jnc .peer_done
        LINE
        TEXT s_region
        mov al,PEER
        call add_digit
        TEXT s_timeout
        ENDL
        jmp fail_exit
.peer_done:
        LINE
        TEXT s_region
        mov al,PEER
        call add_digit
        TEXT s_other_done
        mov al,PEER
        call done_offset
        call add_hex4
        TEXT s_h_paren
        ENDL
        call clear_buffer
        mov si,PEER*REGION
        mov di,buffer
        mov cx,REGION
        call get_block
        cmp ax,1
        je .peer_read
        mov si,s_read_failed
        jmp fatal_bl
.peer_read:
        mov al,PEER
        mov ah,ROUNDS-1
        call seed_of
        call compare_pattern
        je .peer_ok
        mov si,s_peer_bad
        jmp fatal
.peer_ok:
        mov si,s_peer_ok
        call say

        ; -- step 9: lock and unlock the shared block (allocated before the VMM) --
.locks:
        mov dx,[handle]
        XMS 0Ch
        cmp ax,1
        je .shared_locked
        mov si,s_shared_lock_failed
        jmp fatal_bl
.shared_locked:
        mov dx,[handle]
        XMS 0Dh
        cmp ax,1
        je .shared_unlocked
        mov si,s_shared_unlock_failed
        jmp fatal_bl
.shared_unlocked:
        mov si,s_shared_lock
        call say

        ; -- step 10: a new block: lock fails under a VMM (BL=ADh), works without one --
        mov dx,1
        XMS 09h
        cmp ax,1
        je .new_allocated
        mov si,s_alloc_failed
        jmp fatal_bl
.new_allocated:
        mov [new_handle],dx
        mov byte [have_new],1
        mov si,s_allocated
        call say
        mov dx,[new_handle]
        XMS 0Ch
        cmp word [vm_id],0
        je .plain_lock
        ; under a VMM: AX=0, BL=ADh
        cmp ax,1
        jne .vmm_refused
        mov dx,[new_handle]     ; it was locked: undo, then fail
        XMS 0Dh
        mov si,s_vmm_locked
        jmp fatal
.vmm_refused:
        test ax,ax
        jnz .vmm_bad
        cmp bl,0ADh
        je .vmm_ok
.vmm_bad:
        mov si,s_vmm_wrong_error
        jmp fatal_bl
.vmm_ok:
        mov si,s_vmm_lock_failed
        call say
        jmp .free_new
.plain_lock:
        cmp ax,1
        je .plain_locked
        mov si,s_plain_lock_failed
        jmp fatal_bl
.plain_locked:
        mov dx,[new_handle]
        XMS 0Dh
        cmp ax,1
        je .plain_unlocked
        mov si,s_new_unlock_failed
        jmp fatal_bl
.plain_unlocked:
        mov si,s_plain_lock_ok
        call say
.free_new:
        mov dx,[new_handle]
        XMS 0Ah
        cmp ax,1
        je .freed
        mov si,s_free_failed
        jmp fatal_bl
.freed:
        mov byte [have_new],0
        mov si,s_freed
        call say

        mov si,s_all_ok
        call say
        mov ax,4C00h
        int 21h

; ----- failure paths --------------------------------------------------------------------

; Prints the message at SI followed by " (error BL=..h)", then fails.
fatal_bl:
        mov [err_bl],bl
        LINE
        call add_str
        TEXT s_error_bl
        mov al,[err_bl]
        call add_hex2
        TEXT s_h_paren
        ENDL
        jmp fail_exit

; Prints the message at SI, frees the new block if there is one, exits with code 1.
fatal:
        call say
fail_exit:
        cmp byte [have_new],0
        je .exit
        mov dx,[new_handle]
        XMS 0Ah
.exit:
        mov ax,4C01h
        int 21h

; INT n with the number found by the scan (patched into the instruction).
call_tsr:
.int:   int 60h
        ret

; Waits for the done word of region AL: CF clear when it is there; CF set when it did not
; appear within MAX_WAITS waits (Int 2Fh AX=1680h, STI, HLT between reads), or at once
; without a VMM (nothing else can run then). Fatal if an XMS move fails.
wait_done:
        mov [wait_region],al
        mov word [waits],0
.again:
        mov al,[wait_region]
        call done_offset
        mov si,ax
        mov di,done_buf
        mov cx,2
        call get_block
        cmp ax,1
        je .read
        mov si,s_wait_read_failed
        jmp fatal_bl
.read:
        cmp word [done_buf],DONE_WORD
        je .done
        cmp word [vm_id],0
        je .missing
        inc word [waits]
        cmp word [waits],MAX_WAITS
        ja .missing
        mov ax,1680h
        int 2Fh
        sti
        hlt
        jmp .again
.done:
        clc
        ret
.missing:
        stc
        ret

; Reads region PEER into the buffer: CF clear when it is whole, all zero (the DPMI client
; has not written it yet) or exactly the pattern of (PEER, r) for a round r; CF set when
; it is not (half one round and half another). Fatal if the XMS move fails.
check_peer:
        call clear_buffer
        mov si,PEER*REGION
        mov di,buffer
        mov cx,REGION
        call get_block
        cmp ax,1
        je .read
        mov si,s_read_failed
        jmp fatal_bl
.read:
        mov al,[buffer]
        test al,al
        jnz .pattern
        mov si,buffer           ; not written yet: every byte 0
        mov cx,REGION
.zero:
        lodsb
        test al,al
        jnz .torn
        loop .zero
        clc
        ret
.pattern:
        mov bl,al               ; byte 0 of a pattern is its seed: which round?
        xor ah,ah
.round:
        mov al,PEER
        call seed_of
        cmp al,bl
        je .found
        inc ah
        cmp ah,ROUNDS
        jb .round
        jmp .torn
.found:
        call compare_pattern
        jne .torn
        clc
        ret
.torn:
        stc
        ret

; ----- XMS moves (dos-memory.md 1.4) ----------------------------------------------------

; Moves CX bytes from DS:SI to the shared block at offset DI. AX=1 on success, else BL.
put_block:
        mov [mv_len],cx
        mov word [mv_len+2],0
        mov word [mv_src_handle],0
        mov [mv_src_offset],si
        mov [mv_src_offset+2],ds
        mov ax,[handle]
        mov [mv_dst_handle],ax
        mov [mv_dst_offset],di
        mov word [mv_dst_offset+2],0
        jmp do_move

; Moves CX bytes from the shared block at offset SI to DS:DI. AX=1 on success, else BL.
get_block:
        mov [mv_len],cx
        mov word [mv_len+2],0
        mov ax,[handle]
        mov [mv_src_handle],ax
        mov [mv_src_offset],si
        mov word [mv_src_offset+2],0
        mov word [mv_dst_handle],0
        mov [mv_dst_offset],di
        mov [mv_dst_offset+2],ds
do_move:
        mov si,move_struct
        XMS 0Bh
        ret

; AX = block offset of region AL (AL*1024).
region_offset:
        xor ah,ah
        push cx
        mov cl,10
        shl ax,cl
        pop cx
        ret

; AX = block offset of region AL's done word.
done_offset:
        xor ah,ah
        shl ax,1
        add ax,DONE_BASE
        ret

; ----- the pattern ----------------------------------------------------------------------

; AL = seed of (this region, the current round).
round_seed:
        mov al,[region_k]
        mov ah,[round]
        ; falls through
; AL = seed of (region AL, round AH): 40h*region + 7*round + 11h.
seed_of:
        push cx
        mov cl,6
        shl al,cl
        mov cl,ah
        add al,cl
        shl cl,1
        add al,cl
        shl cl,1
        add al,cl               ; + 7*round
        add al,11h
        pop cx
        ret

; AL = pattern byte CX (0-1023) for seed DL: low(CX) + 3*high(CX) + DL.
pattern_byte:
        mov al,ch
        add al,ch
        add al,ch
        add al,cl
        add al,dl
        ret

; Fills the buffer with the pattern of seed [seed].
fill_pattern:
        mov dl,[seed]
        mov di,buffer
        xor cx,cx
.loop:
        call pattern_byte
        mov [di],al
        inc di
        inc cx
        cmp cx,REGION
        jb .loop
        ret

clear_buffer:
        push es
        push cs
        pop es
        mov di,buffer
        mov cx,REGION
        xor al,al
        rep stosb
        pop es
        ret

; ZF=1 when the buffer holds the pattern of seed AL.
compare_pattern:
        mov dl,al
        mov si,buffer
        xor cx,cx
.loop:
        call pattern_byte
        cmp [si],al
        jne .done               ; ZF=0
        inc si
        inc cx
        cmp cx,REGION
        jb .loop
        cmp cx,cx               ; ZF=1
.done:
        ret

%include "vmline.inc"

; Appends the digit AL (0-9).
add_digit:
        push ax
        add al,'0'
        call add_char
        pop ax
        ret

; ----- data -----------------------------------------------------------------------------

xms_entry    dd 0
vm_id        dw 0
handle       dw 0
new_handle   dw 0
waits        dw 0
done_buf     dw 0
int_no       db 0
region_k     db 0
region_other db 0
round        db 0
seed         db 0
have_new     db 0
peer         db 0
wait_region  db 0
err_bl       db 0

; XMS 0Bh move structure (dos-memory.md 1.4), 16 bytes, packed.
move_struct:
mv_len        dd 0
mv_src_handle dw 0
mv_src_offset dd 0
mv_dst_handle dw 0
mv_dst_offset dd 0

tsr_signature db 'XMSSHARE'

s_name        db 'XMSVM$'
s_h           db 'h$'
s_h_paren     db 'h)$'
s_error_bl    db ' (error BL=$'

s_vm_id       db 'Int 2Fh AX=1683h: VM id $'
s_no_vmm      db 'Int 2Fh AX=1683h left BX unchanged: no VMM (VM id 0)$'
s_owns        db 'this instance owns region $'
s_owns2       db ' (block offset $'
s_owns3       db 'h); the other instance owns region $'
s_present     db 'XMS driver present (Int 2Fh AX=4300h/4310h)$'
s_found       db 'found XMSSHARE',27h,'s signature behind Int $'
s_answered    db 'AX=5853h returned the shared block',27h,'s handle; cleared this '
              db 'region',27h,'s done word$'
s_round       db 'round $'
s_round_ok1   db ': wrote the pattern of region $'
s_round_ok2   db ' round $'
s_round_ok3   db ' (XMS 0Bh), released the time slice 3 times (Int 2Fh AX=1680h), '
              db 'read it back: ok$'
s_round_bad   db ': the region read back differs from what this instance wrote: FAIL$'
s_done1       db 'all 8 rounds done; wrote the done word ',27h,'OK',27h,'+8 at block '
              db 'offset $'
s_region      db 'region $'
s_other_done  db ' is done (its done word appeared at block offset $'
s_other_ok1   db ' holds region $'
s_other_ok2   db 27h,'s round 7 pattern: $'
s_other_vmm   db 'the block is the same memory in both VMs: ok$'
s_other_plain db 'the block kept it from the earlier run (no VMM): ok$'
s_other_bad   db ' does not hold the other instance',27h,'s round 7 pattern: FAIL$'
s_timeout     db ' did not finish within 2000 waits (Int 2Fh AX=1680h, HLT): FAIL$'
s_skip1       db 'no VMM, so the other instance cannot run now; region $'
s_skip2       db ' is not done yet: cross check skipped$'
s_shared_lock db 'lock of the shared block (XMS 0Ch, allocated before the VMM) succeeded; '
              db 'unlocked it (XMS 0Dh): ok$'
s_allocated   db 'allocated a new 1 KB block (XMS 09h)$'
s_vmm_lock_failed db 'lock of the new block (XMS 0Ch) failed with AX=0 BL=ADh (lock failed), '
              db 'as under Windows enhanced mode: ok$'
s_plain_lock_ok db 'lock of the new block (XMS 0Ch) succeeded, as it does without a VMM; '
              db 'unlocked it (XMS 0Dh): ok$'
s_freed       db 'freed the new block (XMS 0Ah)$'
s_all_ok      db 'all checks passed$'

s_peer        db 'the DPMI client (xmswin) shares the block through a descriptor and owns '
              db 'region 4: checked after every release of the time slice$'
s_peer_whole  db 'region 4 was whole at every check after a release of the time slice '
              db '(not written yet, or one of the DPMI client',27h,'s patterns): ok$'
s_peer_torn   db 'region 4 is half written: part of it holds one of the DPMI client',27h,'s '
              db 'rounds and part another (the client was switched away while writing it): FAIL$'
s_peer_ok     db 'region 4 holds region 4',27h,'s round 7 pattern: what the DPMI client wrote '
              db 'through its descriptor is what XMS moves read through the handle: ok$'
s_peer_bad    db 'region 4 does not hold the DPMI client',27h,'s round 7 pattern: FAIL$'
s_usage       db 'usage: XMSVM 1 or XMSVM 2 (the region this instance owns), then 4 if the '
              db 'DPMI client shares the block: FAIL$'
s_no_xms      db 'no XMS driver (Int 2Fh AX=4300h did not return AL=80h): FAIL$'
s_no_tsr      db 'XMSSHARE is not resident (no signature behind Int 60h-66h): FAIL$'
s_no_answer   db 'XMSSHARE returned CF set for AX=5853h: FAIL$'
s_clear_failed db 'XMS 0Bh could not clear the done word$'
s_write_failed db 'XMS 0Bh (conventional memory -> block) failed$'
s_read_failed db 'XMS 0Bh (block -> conventional memory) failed$'
s_done_failed db 'XMS 0Bh could not write the done word$'
s_wait_read_failed db 'XMS 0Bh could not read the other region',27h,'s done word$'
s_shared_lock_failed db 'lock of the shared block (XMS 0Ch) failed although it was allocated '
              db 'before the VMM$'
s_shared_unlock_failed db 'unlock of the shared block (XMS 0Dh) failed$'
s_alloc_failed db 'XMS 09h could not allocate 1 KB$'
s_vmm_locked  db 'lock of the new block (XMS 0Ch) succeeded under a VMM; Windows enhanced '
              db 'mode refuses it with BL=ADh: FAIL$'
s_vmm_wrong_error db 'lock of the new block (XMS 0Ch) under a VMM did not fail with AX=0 '
              db 'BL=ADh$'
s_plain_lock_failed db 'lock of the new block (XMS 0Ch) failed without a VMM$'
s_new_unlock_failed db 'unlock of the new block (XMS 0Dh) failed$'
s_free_failed db 'XMS 0Ah could not free the new block$'

line_buf    times 200 db 0
buffer      times REGION db 0
