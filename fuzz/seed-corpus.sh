#!/bin/sh
# Fills fuzz/corpus/<target>/ (not committed) with the seeds the campaigns start from:
#   trace_reader       corpora/golden/*.trace and trace/tests/data/*.trace
#   scenario_manifest  corpora/*.toml
#   dos_calls          a few call sequences built below (format: vexed_tests::fuzzing::
#                      dos_call_program): DOS version, XMS version, EMS version, an XMS
#                      allocate/lock/unlock/free, an EMS allocate/map/release
# plus the committed regressions of each target (fuzz/regressions/<target>/).
# Usage: fuzz/seed-corpus.sh   (from anywhere; copies only, never deletes)
set -eu
fuzz=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$fuzz")
for t in trace_reader scenario_manifest dos_calls; do
    mkdir -p "$fuzz/corpus/$t"
    if [ -d "$fuzz/regressions/$t" ]; then
        cp "$fuzz/regressions/$t"/* "$fuzz/corpus/$t/" 2>/dev/null || true
    fi
done
cp "$repo"/corpora/golden/*.trace "$repo"/trace/tests/data/*.trace "$fuzz/corpus/trace_reader/"
cp "$repo"/corpora/*.toml "$fuzz/corpus/scenario_manifest/"

# One call: service byte (0 DOS, 1 INT 2Fh, 2 EMS, 3 XMS) and AX BX CX DX SI DI, as hex
# words; written little-endian.
call() {
    printf '\\%03o' "$1"
    shift
    for w in "$@"; do
        printf '\\%03o\\%03o' $((0x$w & 0xFF)) $((0x$w >> 8))
    done
}
seed() { # name, then the printf escapes of the input
    name=$1
    shift
    printf "$*" > "$fuzz/corpus/dos_calls/$name"
}
# Each starts with a zero-length data block.
seed dos-version "\\000$(call 0 3000 0 0 0 0 0)"
seed xms-version "\\000$(call 3 0000 0 0 0 0 0)"
seed ems-version "\\000$(call 2 4600 0 0 0 0 0)"
# XMS: allocate 64 KB (09h, DX=64), lock (0Ch), unlock (0Dh), free (0Ah), handle from DX
# after allocation is unknown here, so 1 is guessed (the fuzzer finds the rest).
seed xms-block "\\000$(call 3 0900 0 0 0040 0 0)$(call 3 0C00 0 0 0001 0 0)$(call 3 0D00 0 0 0001 0 0)$(call 3 0A00 0 0 0001 0 0)"
# EMS: allocate 4 pages (43h, BX=4), map page 0 to frame page 0 (44h), release (45h).
seed ems-pages "\\000$(call 2 4300 0004 0 0 0 0)$(call 2 4400 0000 0 0001 0 0)$(call 2 4500 0 0 0001 0 0)"
# DOS: print "$"-terminated text from the data block (09h, DS:DX = 0900h).
seed dos-print "\\004hi\\r\$$(call 0 0900 0 0 0900 0 0)"
echo "seeded: $(ls "$fuzz/corpus/trace_reader" | wc -l) traces, $(ls "$fuzz/corpus/scenario_manifest" | wc -l) manifests, $(ls "$fuzz/corpus/dos_calls" | wc -l) call sequences"
