#!/usr/bin/env bash
# compare-dosbox.sh - run DOS guest programs under vexed and under DOSBox 0.74 and diff their output.
#
# Usage: corpora/compare-dosbox.sh [-h] [GUEST.COM[+NEXT.COM...] ...]
#
# Without arguments it compares the guests listed in GUESTS below (corpora/guests/NAME.com). A guest written
# A.COM+B.COM is a sequence run on one machine, in order (a TSR, then its client): vexed runs it as a scenario
# with those programs, DOSBox runs the programs one after another from one batch file, and the exit code
# compared is the last program's. For each guest it runs `vexed run` (stdout captured) and DOSBox 0.74
# headless with `GUEST.COM > OUT.TXT`,
# normalises both outputs (CR LF and lone CR to LF, ^Z EOF markers removed, trailing blanks and trailing empty
# lines stripped), prints a unified diff (`-` = vexed, `+` = DOSBox) and one line per guest: "same" or
# "differs (N lines ...)". It also reports both exit codes (DOSBox's is read back through IF ERRORLEVEL).
#
# Exit status: 0 when every guest ran under both (differences are reported, not failures: DOSBox deviates
# from the XMS/EMS specifications in known places, see ../shared/reference/dos-memory.md section 6);
# 2 when a tool is missing, an argument is unusable, or a run failed (no output, timeout, vexed crash/hang).
#
# Caveats:
# - DOSBox's `>` redirection captures only what goes through DOS (Int 21h output to stdout, e.g. AH=09h/02h/40h).
#   Text written with Int 10h (teletype AH=0Eh, direct video memory) lands on the DOSBox screen, not in
#   OUT.TXT, while vexed prints it too, so such lines show up as "only in vexed". The guests listed here print
#   with Int 21h AH=09h only.
# - Both get a temporary drive C: holding only copies of the programs, named in capitals (GUESTn.COM/.EXE when
#   a name is not 8.3), so nothing is written into the repository. Guests that open other files are not
#   suitable here. DOSBox's output and exit code go to a second drive D: (RUN.BAT, OUTn.TXT, RC.TXT).
# - DOSBox 0.74's built-in XMS/EMS (xms=true, ems=true, umb=false here) is older than the DOSBox Staging code
#   that dos-memory.md section 6 describes and deviates further: no HMA (00h DX=0, 01h/02h BL=90h), no A20
#   counting (03h/05h on, 04h/06h off, always AX=1), no odd-length/overlap/1 MB checks on 0Bh, lock counts
#   saturate at 255, 0Ah frees locked blocks, 10h-12h give BL=80h without UMBs; EMS 57h checks none of
#   92h-98h/A2h (8Ah for a region past the handle), 5301h reads the name from ES:DI and allows duplicates.
#
# Environment:
#   VEXED          vexed binary (default: target/debug/vexed of this workspace; build: cargo build -p vexed-replay)
#   DOSBOX         dosbox binary (default: dosbox from PATH; Debian: apt-get install -y dosbox)
#   TIMEOUT        seconds each run may take (default 60)
#   DOSBOX_CYCLES  [cpu] cycles= setting (default "fixed 100000": emulated time advances with instructions
#                  rather than with host speed, so timer-dependent guests behave the same on every run)
#   KEEP=1         keep the temporary directory and print where it is

set -euo pipefail

# ----- the default guests: standalone DOS programs that need no VMM and no other files -----
GUESTS=(
    xmstest
    hma
    emstest
    xmsshare+xmsclnt
    vxdbind+winstart
)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
prog=${0##*/}

VEXED=${VEXED:-$root/target/debug/vexed}
DOSBOX=${DOSBOX:-dosbox}
TIMEOUT=${TIMEOUT:-60}
DOSBOX_CYCLES=${DOSBOX_CYCLES:-fixed 100000}

die() {
    printf '%s: %s\n' "$prog" "$*" >&2
    exit 2
}

usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

case "${1:-}" in
    -h | --help)
        usage
        exit 0
        ;;
    -*) die "unknown option $1 (try --help)" ;;
esac

# ----- tools -----
[[ -x $VEXED ]] || die "vexed not found at $VEXED: build it with 'cargo build -p vexed-replay' (or set VEXED)"
command -v "$DOSBOX" >/dev/null 2>&1 ||
    die "dosbox not found: install DOSBox 0.74 with 'apt-get install -y dosbox' (or set DOSBOX)"
command -v timeout >/dev/null 2>&1 || die "timeout (coreutils) not found"
command -v diff >/dev/null 2>&1 || die "diff (diffutils) not found"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "TIMEOUT must be a number of seconds, not '$TIMEOUT'"

# ----- guests -----
guests=()
if (($# > 0)); then
    guests=("$@")
else
    for g in "${GUESTS[@]}"; do
        path=""
        IFS=+ read -r -a parts <<<"$g"
        for p in "${parts[@]}"; do
            path+="${path:++}$here/guests/$p.com"
        done
        guests+=("$path")
    done
fi
for g in "${guests[@]}"; do
    IFS=+ read -r -a parts <<<"$g"
    for p in "${parts[@]}"; do
        case "${p,,}" in
            *.com | *.exe) ;;
            *) die "guest $p is not a .COM or .EXE program" ;;
        esac
    done
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/compare-dosbox.XXXXXX")
# shellcheck disable=SC2317 # called through the trap
cleanup() {
    if [[ ${KEEP:-0} == 1 ]]; then
        printf '%s: kept %s\n' "$prog" "$tmp" >&2
    else
        rm -rf -- "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

dosbox_version=$(HOME=$tmp SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy timeout 20 "$DOSBOX" -version 2>&1 |
    grep -o 'version [0-9][0-9.a-z-]*' | head -n 1 || true)
case "$dosbox_version" in
    "version 0.74"*) ;;
    "") printf '%s: warning: could not read the DOSBox version (expected 0.74)\n' "$prog" >&2 ;;
    *) printf '%s: warning: DOSBox %s, not 0.74: results may differ from the recorded ones\n' \
        "$prog" "${dosbox_version#version }" >&2 ;;
esac

# normalise FILE: CR LF and lone CR to LF, drop ^Z, strip trailing blanks and trailing empty lines.
normalise() {
    tr -d '\032' <"$1" | sed -e 's/\r$//' -e 's/\r/\n/g' -e 's/[[:blank:]]*$//' |
        sed -e ':a' -e '/^\n*$/{$d;N;ba' -e '}'
}

# dosbox_conf DIR: the configuration for one headless DOSBox run of DIR/d/RUN.BAT (C: = DIR/c, D: = DIR/d).
dosbox_conf() {
    local dir=$1
    cat <<EOF
[sdl]
fullscreen=false
output=surface
autolock=false
waitonerror=false
usescancodes=false

[dosbox]
machine=svga_s3
memsize=16
captures=$dir/capture

[render]
frameskip=0
scaler=none

[cpu]
core=normal
cputype=386
cycles=$DOSBOX_CYCLES

[mixer]
nosound=true

[midi]
mpu401=none
mididevice=none

[sblaster]
sbtype=none

[gus]
gus=false

[speaker]
pcspeaker=false
tandy=off
disney=false

[joystick]
joysticktype=none

[serial]
serial1=disabled
serial2=disabled
serial3=disabled
serial4=disabled

[dos]
xms=true
ems=true
umb=false
keyboardlayout=none

[ipx]
ipx=false

[autoexec]
@echo off
mount c "$dir/c"
mount d "$dir/d"
c:
D:\\RUN.BAT
EOF
}

# run_bat DOSNAME...: D:\RUN.BAT runs C:\DOSNAME (each in turn) with the output in D:\OUTn.TXT and the last exit
# code in D:\RC.TXT, then leaves DOSBox. (DOSBox 0.74 aborts when [autoexec] exceeds 4 KB, hence a batch file
# on a second drive: C: holds only the guests.)
run_bat() {
    local name i
    printf '@echo off\r\n'
    # One output file per program: a TSR keeps its redirected stdout open, and DOSBox 0.74 then loses part of
    # what the next program appends to the same file.
    i=0
    for name in "$@"; do
        i=$((i + 1))
        printf '%s > D:\\OUT%d.TXT\r\n' "$name" "$i"
    done
    # Errorlevel is only testable as ">= n", so one line per value appends the exact one. The shell applies a
    # line's redirection even when its IF is false, hence >> and not >.
    for ((i = 255; i >= 0; i--)); do
        printf 'if errorlevel %d if not errorlevel %d echo %d >> D:\\RC.TXT\r\n' "$i" $((i + 1)) "$i"
    done
    printf 'exit\r\n'
}

failed=0
summary=()

for g in "${guests[@]}"; do
    IFS=+ read -r -a parts <<<"$g"
    label=""
    for p in "${parts[@]}"; do
        label+="${label:++}${p##*/}"
    done
    work=$tmp/${#summary[@]}
    printf '== %s ==\n' "$label"
    problems=()
    missing=""
    for p in "${parts[@]}"; do
        [[ -f $p ]] || missing+=" $p"
    done
    if [[ -n $missing ]]; then
        failed=1
        result="RUN FAILED: missing$missing"
        printf '%s: %s\n\n' "$label" "$result"
        summary+=("$label: $result")
        continue
    fi
    mkdir -p "$work/c" "$work/d" "$work/home" "$work/vexed"
    # 8.3 names in capitals for both emulators; anything else runs as GUESTn.COM/.EXE. Both get the same
    # drive C: holding only the guests (vexed's C: is the programs' directory).
    dosnames=()
    for p in "${parts[@]}"; do
        base=${p##*/}
        if [[ $base =~ ^[A-Za-z0-9_-]{1,8}\.([Cc][Oo][Mm]|[Ee][Xx][Ee])$ ]]; then
            dosname=${base^^}
        else
            ext=${base##*.}
            dosname=GUEST${#dosnames[@]}.${ext^^}
        fi
        dosnames+=("$dosname")
        cp -- "$p" "$work/vexed/$dosname"
        cp -- "$p" "$work/c/$dosname"
    done

    # --- vexed: one program directly, a sequence as a scenario ---
    target=$work/vexed/${dosnames[0]}
    if ((${#dosnames[@]} > 1)); then
        target=$work/vexed/SEQUENCE.toml
        {
            printf 'drive = "."\n'
            printf '[[program]]\nname = "%s"\n' "${dosnames[@]}"
        } >"$target"
    fi
    vrc=0
    timeout "$TIMEOUT" "$VEXED" run "$target" >"$work/vexed.raw" 2>"$work/vexed.err" || vrc=$?
    vexit=$vrc
    if ((${#dosnames[@]} > 1)) && ((vrc == 0)); then
        # A scenario exits 0 when it ran; the last program's code is in its closing line.
        vexit=$(grep -o 'exit code [0-9]*' "$work/vexed.err" | head -n 1 | tr -dc '0-9')
        [[ -n $vexit ]] || vexit='?'
    fi
    if ((vrc == 124)); then
        vexit=timeout
        problems+=("vexed timed out after ${TIMEOUT}s")
    elif grep -v '^vexed: note:' "$work/vexed.err" | grep -v '; every expectation met$' | grep -q '^vexed: '; then
        problems+=("vexed: $(grep -v '^vexed: note:' "$work/vexed.err" | grep '^vexed: ' | head -n 1 | cut -c8-)")
    fi
    [[ -s $work/vexed.raw ]] || problems+=("vexed printed nothing")

    # --- DOSBox ---
    dosbox_conf "$work" >"$work/dosbox.conf"
    run_bat "${dosnames[@]}" >"$work/d/RUN.BAT"
    drc=0
    HOME=$work/home SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy \
        timeout "$TIMEOUT" "$DOSBOX" -conf "$work/dosbox.conf" >"$work/dosbox.log" 2>&1 || drc=$?
    out=$work/dosbox.raw
    : >"$out"
    for ((k = 1; k <= ${#dosnames[@]}; k++)); do
        f=$(find "$work/d" -maxdepth 1 -iname "OUT$k.TXT" -print -quit)
        [[ -z $f ]] || cat -- "$f" >>"$out"
    done
    rcfile=$(find "$work/d" -maxdepth 1 -iname RC.TXT -print -quit)
    dexit='?'
    if [[ -n $rcfile ]]; then
        dexit=$(tr -dc '0-9' <"$rcfile")
        [[ -n $dexit ]] || dexit='?'
    fi
    if ((drc == 124)); then
        dexit=timeout
        problems+=("DOSBox timed out after ${TIMEOUT}s")
    elif ((drc != 0)); then
        problems+=("DOSBox exited with status $drc (log: $(tail -n 1 "$work/dosbox.log"))")
    fi
    if [[ ! -s $out ]]; then
        problems+=("DOSBox produced no output")
        out=/dev/null
    fi

    normalise "$work/vexed.raw" >"$work/vexed.txt"
    normalise "$out" >"$work/dosbox.txt"
    printf 'exit code: vexed %s, DOSBox %s; lines: vexed %d, DOSBox %d\n' \
        "$vexit" "$dexit" "$(wc -l <"$work/vexed.txt")" "$(wc -l <"$work/dosbox.txt")"

    if diff -u --label vexed --label DOSBox "$work/vexed.txt" "$work/dosbox.txt" >"$work/diff"; then
        result=same
    else
        cat "$work/diff"
        minus=$(grep -c '^-' "$work/diff" || true)
        plus=$(grep -c '^+' "$work/diff" || true)
        minus=$((minus - 1)) # the --- vexed header
        plus=$((plus - 1))   # the +++ DOSBox header
        n=$((minus + plus))
        result="differs ($n line$( ((n == 1)) || echo s): $minus only in vexed, $plus only in DOSBox)"
    fi
    if [[ $vexit != "$dexit" ]]; then
        result="$result; exit codes differ (vexed $vexit, DOSBox $dexit)"
    fi
    if ((${#problems[@]} > 0)); then
        failed=1
        result="RUN FAILED: $(printf '%s; ' "${problems[@]}")"
        result=${result%; }
    fi
    printf '%s: %s\n\n' "$label" "$result"
    summary+=("$label: $result")
done

printf '== summary (DOSBox %s) ==\n' "${dosbox_version#version }"
printf '%s\n' "${summary[@]}"
if ((failed)); then
    exit 2
fi
exit 0
