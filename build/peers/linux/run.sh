#!/usr/bin/env bash
# run.sh - Linux peer for side-by-side measurements.
#
# Boots a stock Debian kernel (vmlinuz only, fetched with apt-get download,
# never installed) under qemu-system-x86_64 with bench.c as /init in a tiny
# initramfs, and prints the figures bench reports.  Can also run bench
# natively on this machine (--host) for comparison.
#
# Usage: ./run.sh [--kvm|--tcg|--host] [--mitigations off|auto] [--runs N]
#                 [--smp N] [--mem MB] [--scale X] [--cpu MODEL]
#                 [--kernel-pkg linux-image-...-amd64] [--append "..."]
#                 [--boot pvh|bzimage] [--timeout S] [--verbose] [--icount]
#
# --icount (TCG only): -icount shift=0,align=off, so the guest TSC advances one
# tick per executed guest instruction and every "cycles" figure is an exact,
# repeatable guest instruction count.
#
# Everything fetched or built goes to target/linux-peer/ of the repository
# (PEER_WORK moves it): the kernel is downloaded once and kept there.  Per-run
# raw key=value results: results/<label>-<n>.txt there; console logs beside them.
set -euo pipefail
cd "$(dirname "$0")"

W="${PEER_WORK:-../../../target/linux-peer}"   # downloads and builds (the repository's target/); PEER_WORK moves it
MODE=""             # kvm | tcg | host
MIT=auto
RUNS=1
SMP=1
MEM=256
SCALE=""
CPU=""
KPKG="${LINUX_PKG:-}"
APPEND_EXTRA=""
TIMEOUT=""
BOOT=bzimage        # bzimage: -kernel vmlinuz; pvh: -kernel vmlinux (ELF, PVH entry)
VERBOSE=0
ICOUNT=0

die() { echo "run.sh: $*" >&2; exit 1; }
usage() { sed -n '2,15p' "$(basename "$0")" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --kvm) MODE=kvm ;;
        --tcg) MODE=tcg ;;
        --host) MODE=host ;;
        --mitigations) MIT="${2:?}"; shift ;;
        --mitigations=*) MIT="${1#*=}" ;;
        --runs) RUNS="${2:?}"; shift ;;
        --smp) SMP="${2:?}"; shift ;;
        --mem) MEM="${2:?}"; shift ;;
        --scale) SCALE="${2:?}"; shift ;;
        --cpu) CPU="${2:?}"; shift ;;
        --kernel-pkg) KPKG="${2:?}"; shift ;;
        --append) APPEND_EXTRA="${2:?}"; shift ;;
        --timeout) TIMEOUT="${2:?}"; shift ;;
        --boot) BOOT="${2:?}"; shift ;;
        -v|--verbose) VERBOSE=1 ;;
        --icount) ICOUNT=1 ;;
        -h|--help) usage 0 ;;
        *) echo "unknown option: $1" >&2; usage 2 ;;
    esac
    shift
done
[[ "$MIT" == off || "$MIT" == auto ]] || die "--mitigations must be off or auto"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
if [[ -z "$MODE" ]]; then
    # default: KVM when it is real hardware virtualization, else TCG
    if [[ -r /dev/kvm && -w /dev/kvm && ! -d /sys/module/kvm_pvm ]]; then MODE=kvm; else MODE=tcg; fi
fi

mkdir -p "$W/dl" "$W/kernel" "$W/results"
[[ -f "$W/.gitignore" ]] || echo '*' > "$W/.gitignore"

# ---------------------------------------------------------------- tools
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }
APT_UPDATED=0
apt_update_once() { [[ $APT_UPDATED == 1 ]] || { as_root apt-get update -qq; APT_UPDATED=1; }; }
need() { # need CMD DEBIAN-PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    echo "run.sh: installing $2 (for $1)" >&2
    apt_update_once
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need gcc gcc
[[ -f /usr/lib/x86_64-linux-gnu/libc.a ]] || { apt_update_once; as_root apt-get install -y -qq libc6-dev >/dev/null; }

# ---------------------------------------------------------------- bench
if [[ ! -x "$W/bench" || bench.c -nt "$W/bench" ]]; then
    gcc -static -O2 -Wall -o "$W/bench" bench.c
fi

# ---------------------------------------------------------------- results
now() { echo "${EPOCHREALTIME:-$(date +%s.%N)}"; }

summarize() { # summarize LABEL FILE...
    local label=$1; shift
    echo "# linux peer: $label, runs=$#"
    # descriptive (non-numeric) keys from the first run
    grep -E '^(sys\.(kernel|cmdline|clocksource)|cpu\.brand|vuln\.(spectre_v2|spec_rstack_overflow|meltdown)|host\.kernel_pkg)=' "$1" \
        | cut -c1-110 | sed 's/^/#   /' || true
    printf '%-26s %12s %12s %12s\n' key min median max
    grep -hE '^[A-Za-z0-9_.]+=-?[0-9.]+$' "$@" | sed 's/=/ /' | sort -k1,1 -k2,2g |
    awk -v order="$(grep -E '^[A-Za-z0-9_.]+=-?[0-9.]+$' "$1" | cut -d= -f1 | tr '\n' ' ')" '
        function flush() {
            if (k == "") return;
            lo[k] = v[1]; hi[k] = v[n];
            md[k] = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2;
        }
        $1 != k { flush(); k = $1; n = 0 }
        { v[++n] = $2 }
        END {
            flush();
            m = split(order, ks, " ");
            for (i = 1; i <= m; i++) {
                key = ks[i];
                if (key !~ /(\.cycles|\.ns|\.mbps|^tsc\.mhz|^clock_gettime\.ns|^boot\.|^host\.|read_pair_cycles)$/ &&
                    key !~ /^(boot|host)\./) continue;
                printf "%-26s %12s %12s %12s\n", key, lo[key], md[key], hi[key];
            }
        }'
}

LABEL="$MODE"
[[ "$MODE" == host ]] || LABEL="$MODE-mit$MIT"
[[ -z "$SCALE" ]] || LABEL="$LABEL-scale${SCALE//[^A-Za-z0-9]/_}"
[[ "$SMP" == 1 || "$MODE" == host ]] || LABEL="$LABEL-smp$SMP"
[[ -z "$CPU" || "$MODE" == host ]] || LABEL="$LABEL-cpu_${CPU//[^A-Za-z0-9]/_}"
[[ "$BOOT" == bzimage || "$MODE" == host ]] || LABEL="$LABEL-$BOOT"
[[ "$ICOUNT" == 0 ]] || LABEL="$LABEL-icount"
FILES=()

# ---------------------------------------------------------------- host-native
if [[ "$MODE" == host ]]; then
    for ((i = 1; i <= RUNS; i++)); do
        out="$W/results/$LABEL-$i.txt"
        load=$(cut -d' ' -f1 /proc/loadavg)
        BENCH_SCALE="${SCALE:-1}" "$W/bench" > "$out"
        echo "host.loadavg_before=$load" >> "$out"
        [[ $VERBOSE == 1 ]] && cat "$out"
        grep -q '^bench.status=done' "$out" || die "bench failed, see $out"
        FILES+=("$out")
    done
    summarize "$LABEL" "${FILES[@]}"
    exit 0
fi

# ---------------------------------------------------------------- kernel
need qemu-system-x86_64 qemu-system-x86
need dpkg-deb dpkg
if [[ -z "$KPKG" ]]; then
    if [[ -f "$W/kernel/default-pkg" ]]; then
        KPKG=$(cat "$W/kernel/default-pkg")
    else
        # the package that the linux-image-amd64 meta-package points at now
        apt-cache show linux-image-amd64 >/dev/null 2>&1 || apt_update_once
        KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null |
               awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
        [[ -n "$KPKG" ]] || die "cannot resolve linux-image-amd64; pass --kernel-pkg"
        echo "$KPKG" > "$W/kernel/default-pkg"
    fi
fi
KDIR="$W/kernel/$KPKG"
if [[ ! -f "$KDIR/vmlinuz" ]]; then
    echo "run.sh: fetching $KPKG (vmlinuz only, not installed)" >&2
    apt-cache show "$KPKG" >/dev/null 2>&1 || apt_update_once
    rm -f "$W/dl/${KPKG}"_*.deb
    (cd "$W/dl" && apt-get download -q "$KPKG" 2>&1 | grep -v 'unsandboxed' >&2 || true)
    deb=$(ls "$W/dl/${KPKG}"_*.deb 2>/dev/null | head -n1)
    [[ -n "$deb" ]] || die "apt-get download $KPKG failed"
    rm -rf "$KDIR" && mkdir -p "$KDIR/x"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$KDIR/x" --wildcards './boot/vmlinuz-*' './boot/config-*'
    mv "$KDIR"/x/boot/vmlinuz-* "$KDIR/vmlinuz"
    mv "$KDIR"/x/boot/config-* "$KDIR/config"
    rm -rf "$KDIR/x"
    basename "$deb" > "$KDIR/deb"
fi

# ---------------------------------------------------------------- initramfs
# cpio "newc" written by hand (no cpio tool needed): dirs /dev /proc /sys, /init
pad() { (( $1 > 0 )) && head -c "$1" /dev/zero || true; }
cpio_entry() { # NAME MODE(decimal) INO [FILE]
    local name=$1 mode=$2 ino=$3 file=${4:-} size=0 nlink=1 nsz
    [[ -n "$file" ]] && size=$(stat -c %s "$file")
    (( (mode & 8#170000) == 8#040000 )) && nlink=2
    nsz=$(( ${#name} + 1 ))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        "$ino" "$mode" 0 0 "$nlink" 0 "$size" 0 0 0 0 "$nsz" 0
    printf '%s\0' "$name"
    pad $(( (4 - (110 + nsz) % 4) % 4 ))
    if [[ -n "$file" ]]; then cat "$file"; pad $(( (4 - size % 4) % 4 )); fi
}
INITRD="$W/initramfs.cpio"
if [[ ! -f "$INITRD" || "$W/bench" -nt "$INITRD" ]]; then
    {
        cpio_entry dev  $((8#040755)) 1
        cpio_entry proc $((8#040555)) 2
        cpio_entry sys  $((8#040555)) 3
        cpio_entry init $((8#100755)) 4 "$W/bench"
        cpio_entry 'TRAILER!!!' 0 0
    } > "$INITRD.tmp"
    mv "$INITRD.tmp" "$INITRD"
fi

# ---------------------------------------------------------------- vmlinux
# Uncompressed ELF vmlinux, cut out of the bzImage (payload_offset/length in
# the setup header).  QEMU boots it through its PVH entry note, which skips
# the in-kernel decompressor and the real-mode setup code.
extract_vmlinux() { # BZIMAGE OUT
    local bz=$1 out=$2 ss off len start magic
    ss=$(od -An -tu1 -j $((0x1f1)) -N1 "$bz" | tr -d ' '); [[ $ss == 0 ]] && ss=4
    off=$(od -An -tu4 -j $((0x248)) -N4 "$bz" | tr -d ' ')
    len=$(od -An -tu4 -j $((0x24c)) -N4 "$bz" | tr -d ' ')
    start=$(( (ss + 1) * 512 + off ))
    magic=$(od -An -tx1 -j "$start" -N4 "$bz" | tr -d ' ')
    payload() { { tail -c +$((start + 1)) "$bz" 2>/dev/null || true; } | head -c "$1"; }
    case "$magic" in
        fd377a58) need xz xz-utils; payload "$len" | xz -dc --single-stream > "$out.tmp" ;;
        1f8b08*)  payload "$len" | { gzip -dc 2>/dev/null || true; } > "$out.tmp" ;;
        28b52ffd) need zstd zstd; payload $((len - 4)) | zstd -dcq > "$out.tmp" ;;
        *) die "unknown kernel payload compression (magic $magic)" ;;
    esac
    [[ "$(od -An -tx1 -N4 "$out.tmp" | tr -d ' ')" == 7f454c46 ]] || die "vmlinux extraction failed"
    mv "$out.tmp" "$out"
}

# ---------------------------------------------------------------- boot
if [[ "$MODE" == kvm ]]; then
    ACCEL=(-accel kvm -cpu "${CPU:-host,-arch-capabilities}")
    : "${TIMEOUT:=120}"
    if [[ -d /sys/module/kvm_pvm ]]; then
        echo "run.sh: warning: /dev/kvm is served by kvm_pvm (PVM, no hardware virtualization);" \
             "a stock Linux guest does not get through boot under it (use --tcg)" >&2
    fi
else
    ACCEL=(-accel tcg)
    [[ -n "$CPU" ]] && ACCEL+=(-cpu "$CPU")
    [[ "$ICOUNT" == 1 ]] && ACCEL+=(-icount shift=0,align=off)
    : "${TIMEOUT:=240}"
fi
case "$BOOT" in
    bzimage) KERNEL="$KDIR/vmlinuz" ;;
    pvh) KERNEL="$KDIR/vmlinux"
         [[ -f "$KERNEL" ]] || extract_vmlinux "$KDIR/vmlinuz" "$KERNEL" ;;
    *) die "--boot must be pvh or bzimage" ;;
esac
CMDLINE="console=ttyS0 quiet panic=-1 mitigations=$MIT"
[[ -n "$SCALE" ]] && CMDLINE+=" BENCH_SCALE=$SCALE"
[[ -n "$APPEND_EXTRA" ]] && CMDLINE+=" $APPEND_EXTRA"
QEMU=(qemu-system-x86_64 "${ACCEL[@]}" -m "$MEM" -smp "$SMP" -nographic -no-reboot
      -kernel "$KERNEL" -initrd "$INITRD" -append "$CMDLINE")
echo "# ${QEMU[*]}" >&2

others=$(ps -eo comm= | grep -c '^qemu-system' || true)
[[ "$others" == 0 ]] || echo "run.sh: warning: $others other qemu-system process(es) running; figures will be noisy" >&2

for ((i = 1; i <= RUNS; i++)); do
    out="$W/results/$LABEL-$i.txt"
    log="$W/results/$LABEL-$i.console.log"
    : > "$log"
    load=$(cut -d' ' -f1 /proc/loadavg)
    t0=$(now)
    # Console lines are stamped with the host wall clock as they arrive.
    exec {QFD}< <(exec timeout "$TIMEOUT" "${QEMU[@]}" < /dev/null 2>&1)
    qpid=$!
    fatal=""
    while IFS= read -r -u "$QFD" line; do
        line=${line%$'\r'}
        printf '%s %s\n' "${EPOCHREALTIME:-$(date +%s.%N)}" "$line" >> "$log"
        # QEMU stops the VM but does not exit on these; end it once the dump is out
        if [[ -z "$fatal" && "$line" == *"KVM internal error"* ]]; then
            fatal="KVM internal error (instruction emulation failure)"
            (sleep 2; kill "$qpid" 2>/dev/null) &
        fi
    done
    exec {QFD}<&-
    rc=0; wait "$qpid" 2>/dev/null || rc=$?
    t_end=$(now)
    # drop the timestamps and terminal escapes (SeaBIOS/console resets)
    sed -E 's/^[0-9.]+ //; s/\x1b(\[[0-9;?]*[A-Za-z]|c)//g' "$log" | grep -aE '^[A-Za-z0-9_.]+=' > "$out" || true
    t_init=$(awk '/bench\.status=begin/ { print $1; exit }' "$log")
    {
        echo "host.kernel_pkg=$(cat "$KDIR/deb")"
        echo "host.boot=$BOOT"
        echo "host.loadavg_before=$load"
        [[ -n "$t_init" ]] && awk -v a="$t0" -v b="$t_init" 'BEGIN { printf "host.qemu_start_to_init_s=%.3f\n", b - a }'
        awk -v a="$t0" -v b="$t_end" 'BEGIN { printf "host.qemu_wall_s=%.3f\n", b - a }'
    } >> "$out"
    [[ $VERBOSE == 1 ]] && cat "$out"
    if ! grep -q '^bench.status=done' "$out"; then
        [[ $rc == 124 ]] && fatal="${fatal:-timed out after ${TIMEOUT}s}"
        die "guest run failed${fatal:+: $fatal} (qemu rc=$rc); console log: $log"
    fi
    FILES+=("$out")
done
summarize "$LABEL" "${FILES[@]}"
