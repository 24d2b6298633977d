#!/usr/bin/env bash
# peers.sh - time vexed against its peers on the same 720.9 M-instruction loop, paired runs on one machine.
#
# Usage: corpora/bench/peers.sh [-h] [ROUNDS]
#
# Each round runs, one after the other (so every system sees the same machine load):
#   vexed run     LOOP.COM (corpora/guests/loop.com, the loop as a DOS program, alone on drive C:)
#   vexed record  LOOP.COM                            (default checkpoints and snapshots: one checkpoint
#                 per 1,000,000 ticks, a paged snapshot at every 16th)
#   vexed replay  of that trace
#   QEMU          qemu-system-i386 -icount shift=0,rr=record (deterministic, recording), booting
#                 corpora/guests/qloop.bin (the same loop as a boot sector; it ends QEMU through the
#                 isa-debug-exit device with DX's low byte, checked)
#   DOSBox        dosbox 0.74 with core=dynamic, cycles=max (not deterministic), running LOOP.COM
# and prints, per system, the median wall-clock time over ROUNDS rounds (default 3) and its ratio to the
# median of `vexed record`; then the size of vexed's trace and of QEMU's replay log. A peer that is not
# installed is left out with a line saying so (apt-get install -y qemu-system-x86 dosbox).
#
# Environment:
#   VEXED   vexed binary (default: target/release/vexed of this workspace, built if missing)
#   QEMU    qemu binary (default: qemu-system-i386 from PATH)
#   DOSBOX  dosbox binary (default: dosbox from PATH)
#   KEEP=1  keep the temporary directory and print where it is
#
# Exit status: 0 when every installed system ran the loop correctly, 2 otherwise.
set -euo pipefail

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then usage; exit 0; fi
rounds=${1:-3}
case "$rounds" in ''|*[!0-9]*|0) echo "peers.sh: ROUNDS must be a positive number, not '$rounds'" >&2; exit 2;; esac

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
VEXED=${VEXED:-$root/target/release/vexed}
QEMU=${QEMU:-qemu-system-i386}
DOSBOX=${DOSBOX:-dosbox}
if [ ! -x "$VEXED" ]; then
    echo "building vexed (cargo build --release -p vexed-replay)" >&2
    cargo build --release -q -p vexed-replay
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/peers.XXXXXX")
if [ "${KEEP:-}" = 1 ]; then echo "keeping $tmp" >&2; else trap 'rm -rf "$tmp"' EXIT; fi

# A 1.44 MB floppy whose boot sector is the loop.
cp corpora/guests/qloop.bin "$tmp/floppy.img"
truncate -s 1474560 "$tmp/floppy.img"
mkdir -p "$tmp/c" "$tmp/v" "$tmp/home"
cp corpora/guests/loop.com "$tmp/c/LOOP.COM"
cp corpora/guests/loop.com "$tmp/v/LOOP.COM"
cat >"$tmp/dosbox.conf" <<EOF
[sdl]
fullscreen=false
output=surface
[dosbox]
memsize=16
[cpu]
core=dynamic
cputype=auto
cycles=max
[mixer]
nosound=true
[sblaster]
sbtype=none
[gus]
gus=false
[speaker]
pcspeaker=false
[autoexec]
mount c $tmp/c
c:
LOOP.COM > OUT.TXT
exit
EOF

systems=("vexed run" "vexed record" "vexed replay")
have_qemu=0; have_dosbox=0
if command -v "$QEMU" >/dev/null 2>&1; then systems+=("QEMU rr=record"); have_qemu=1
else echo "QEMU not installed ($QEMU): left out" >&2; fi
if command -v "$DOSBOX" >/dev/null 2>&1; then systems+=("DOSBox dynamic"); have_dosbox=1
else echo "DOSBox not installed ($DOSBOX): left out" >&2; fi

failed=0
# run NAME: one timed run of system NAME; prints the seconds, or fails.
run() {
    local start end rc=0
    start=$(date +%s.%N)
    case "$1" in
        "vexed run") "$VEXED" run "$tmp/v/LOOP.COM" >"$tmp/run.out" || rc=$?
            grep -q "C8E4 C1D0" "$tmp/run.out" || rc=3 ;;
        "vexed record") rm -f "$tmp/loop.trace"
            "$VEXED" record "$tmp/v/LOOP.COM" -o "$tmp/loop.trace" >/dev/null 2>&1 || rc=$? ;;
        "vexed replay") "$VEXED" replay "$tmp/loop.trace" >/dev/null 2>&1 || rc=$? ;;
        "QEMU rr=record") rm -f "$tmp/qemu.rr"
            "$QEMU" -icount shift=0,rr=record,rrfile="$tmp/qemu.rr" \
                -drive file="$tmp/floppy.img",format=raw,if=floppy,snapshot=on \
                -device isa-debug-exit,iobase=0xf4,iosize=1 -display none -no-reboot -nodefaults \
                -boot a >/dev/null 2>&1 || rc=$?
            # DX = C8E4h after the loop: exit status (E4h << 1 | 1) & FFh = C9h.
            if [ "$rc" -eq 201 ]; then rc=0; fi ;;
        "DOSBox dynamic") rm -f "$tmp/c/OUT.TXT"
            HOME=$tmp/home SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy \
                "$DOSBOX" -conf "$tmp/dosbox.conf" >/dev/null 2>&1 || rc=$?
            grep -q "C8E4 C1D0" "$tmp/c/OUT.TXT" 2>/dev/null || rc=3 ;;
    esac
    end=$(date +%s.%N)
    if [ "$rc" -ne 0 ]; then echo "peers.sh: $1 failed (status $rc)" >&2; return 1; fi
    echo "$end - $start" | bc -l
}

for ((r = 1; r <= rounds; r++)); do
    for s in "${systems[@]}"; do
        if t=$(run "$s"); then echo "$s|$t" >>"$tmp/times"; else failed=1; fi
    done
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
ref=$(grep '^vexed record|' "$tmp/times" | cut -d'|' -f2 | median)
printf '%-16s %10s %s\n' system "median s" "vexed record's time / this system's (>1: this system is faster)"
for s in "${systems[@]}"; do
    m=$(grep "^$s|" "$tmp/times" | cut -d'|' -f2 | median)
    ratio=$(echo "$ref / $m" | bc -l 2>/dev/null || echo nan)
    printf '%-16s %10.2f %.2f\n' "$s" "$m" "$ratio"
done
[ -f "$tmp/loop.trace" ] && echo "vexed trace: $(stat -c %s "$tmp/loop.trace") bytes"
[ "$have_qemu" = 1 ] && [ -f "$tmp/qemu.rr" ] && echo "QEMU replay log: $(stat -c %s "$tmp/qemu.rr") bytes"
[ "$have_dosbox" = 1 ] && true
exit $((failed * 2))
