#!/usr/bin/env bash
# The CUDA checks of issue 3, in two halves.
#
#   scripts/gpu-check.sh bundle   here (Rust machine): builds the release binary and the
#                                 test binaries that touch CUDA into gpu-bundle/ (git-ignored;
#                                 name it in the device tool's `carry`).
#   scripts/gpu-check.sh gpu      on the GPU machine (no Rust there): parity suite on cuda,
#                                 the same under compute-sanitizer memcheck, the emulator's
#                                 selftests on cuda, NVRTC compiles for sm_80/sm_90, a short
#                                 training run and a cpu-vs-cuda loss check; prints a summary
#                                 table last. Fits in 5 minutes. Logs go to $OUT (or
#                                 target/gpu-check).
set -uo pipefail
cd "$(dirname "$0")/.."
BUNDLE=gpu-bundle

bundle() {
    set -e
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
    mkdir -p "$BUNDLE/tests"
    cargo build --release --bin engine
    cp "$CARGO_TARGET_DIR/release/engine" "$BUNDLE/engine"
    # Test executables, from cargo's JSON messages (their file names carry a hash).
    cargo test --release --no-run --message-format=json \
        --test parity --test emulator --test nvrtc --test tensor_core \
        | python3 -c '
import json, shutil, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "test" in m["target"]["kind"]:
        shutil.copy(m["executable"], sys.argv[1] + "/tests/" + m["target"]["name"])
        print("bundled test binary", m["target"]["name"])
' "$BUNDLE"
    ls -la "$BUNDLE" "$BUNDLE/tests"
    du -sh "$BUNDLE"
    echo "carry: [\"$BUNDLE\"]; on the GPU machine: scripts/gpu-check.sh gpu"
}

# NVRTC: ENGINE_NVRTC if set, else the CUDA toolkit's or a pip wheel's libnvrtc.so.13.
find_nvrtc() {
    [ -n "${ENGINE_NVRTC:-}" ] && return
    local roots f
    roots="/usr/local/cuda/ /usr/local/cuda-13*/ $(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null) /opt /usr/lib"
    # shellcheck disable=SC2086
    f=$(find -L $roots -maxdepth 6 -name 'libnvrtc.so.13*' 2>/dev/null | head -1)
    [ -n "$f" ] && export ENGINE_NVRTC="$(dirname "$f")"
}

NAMES=() STATUS=() SECS=() NOTES=()
# step NAME NOTE-ON-FAILURE SECONDS -- command...: runs it (killed after SECONDS) with its
# output in $LOG/NAME.log.
step() {
    local name=$1 note=$2 limit=$3; shift 4
    local t0=$SECONDS rc
    echo "=== $name: $*"
    timeout "$limit" "$@" >"$LOG/$name.log" 2>&1
    rc=$?
    [ $rc -eq 124 ] && note="timed out after $limit s; $note"
    tail -n 12 "$LOG/$name.log"
    NAMES+=("$name"); SECS+=($((SECONDS - t0)))
    if [ $rc -eq 0 ]; then STATUS+=(PASS); NOTES+=(""); else STATUS+=("FAIL($rc)"); NOTES+=("$note"); fi
}

gpu() {
    OUTDIR="${OUT:-target/gpu-check}"
    LOG=/tmp/gpu-check-logs
    rm -rf "$LOG" && mkdir -p "$LOG" "$OUTDIR"
    [ -x "$BUNDLE/engine" ] || { echo "error: $BUNDLE/engine missing: run 'scripts/gpu-check.sh bundle' here and carry $BUNDLE"; exit 1; }
    find_nvrtc
    export ENGINE_CACHE=/tmp/engine-cache RUST_BACKTRACE=1
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv || true
    echo "ENGINE_NVRTC=${ENGINE_NVRTC:-unset}"
    local E=$BUNDLE/engine T=$BUNDLE/tests

    # A test that finds no GPU or no NVRTC skips with a printed line: here that is a failure.
    skipped() { # skipped PATTERN: marks the last step FAIL when its log has PATTERN
        if grep -q "$1" "$LOG/${NAMES[-1]}.log"; then STATUS[-1]="FAIL"; NOTES[-1]="$(grep -m1 "$1" "$LOG/${NAMES[-1]}.log" | cut -c1-120)"; fi
    }
    step info "engine info failed" 60 -- $E info
    grep -q "^cuda:0" "$LOG/info.log" || { STATUS[-1]="FAIL"; NOTES[-1]="no cuda:0 in engine info"; }
    step kernel-report "NVRTC report failed" 90 -- $E kernels --report --arch sm_90
    [ -x "$T/nvrtc" ] && step nvrtc "compile for sm_80/sm_90 failed" 90 -- "$T/nvrtc" --test-threads=1 --nocapture && skipped "skipped:"
    [ -x "$T/emulator" ] && step selftest "emulator selftests failed (they run on cuda too)" 60 -- "$T/emulator" --nocapture && skipped "skipped on cuda"
    # Tensor-core instructions: the ISA-layout tests on cuda too, and the raw lane-by-register
    # output of the emulator and of the GPU compared file by file (integer inputs: exact).
    if [ -x "$T/tensor_core" ]; then
        mkdir -p "$LOG/tc"
        step tensor-core "mma/ldmatrix/cp.async layout tests failed on cuda" 60 -- \
            env ENGINE_TC_DUMP="$LOG/tc" "$T/tensor_core" --test-threads=1 --nocapture && skipped "skipped on cuda"
        step tc-dump "emulator and GPU fragments differ (see tc/*.txt)" 10 -- \
            sh -c 'n=0; for f in "$1"/*.emu.txt; do c="${f%.emu.txt}.cuda.txt"; [ -f "$c" ] || exit 3; cmp "$f" "$c" || exit 4; n=$((n+1)); done; echo "$n dumps identical"; [ "$n" -gt 0 ]' _ "$LOG/tc"
    fi
    # Parity runs every kernel on emu and on cuda (fresh device memory poisoned with NaN),
    # the convolutions also in tf32 and bf16 (tensor cores, conv2d_on_tensor_cores).
    step parity "parity vs CPU failed (see parity.log)" 90 -- env ENGINE_POISON=1 "$T/parity" --nocapture
    skipped "skipped: no CUDA device"
    if command -v compute-sanitizer >/dev/null; then
        step memcheck "compute-sanitizer found errors (see memcheck.log)" 150 -- \
            env ENGINE_POISON=1 compute-sanitizer --tool memcheck --error-exitcode 9 --print-limit 20 "$T/parity" --test-threads=1
        NOTES[-1]="${NOTES[-1]:-$(grep -m1 'ERROR SUMMARY' "$LOG/memcheck.log")}"
    else
        NAMES+=(memcheck); STATUS+=(SKIP); SECS+=(0); NOTES+=("compute-sanitizer not found")
    fi

    # A short training run of the paper's configuration (built-in dataset, unet_256, 256x256).
    local ck=/tmp/gpu-check-ck
    rm -rf "$ck"
    step train "training on cuda failed" 120 -- $E --device cuda train-pix2pix --checkpoints-dir "$ck" --name gpu --max-iters 100 --print-freq 10
    local last
    last=$(python3 -c 'import json,sys; d=[json.loads(l) for l in open(sys.argv[1])][-1]; print("iter %d: G_GAN %.3f G_L1 %.3f D_real %.3f D_fake %.3f, %.1f s" % (d["iter"], d["G_GAN"], d["G_L1"], d["D_real"], d["D_fake"], d["seconds"]))' "$ck/gpu/loss_log.jsonl" 2>/dev/null)
    NOTES[-1]="${NOTES[-1]:-$last}"
    # The same tiny run on cpu and cuda on the same data: the losses must agree (same
    # seeds, same dropout masks, f32 on both).
    local tiny=(train-pix2pix --netg unet_32 --ngf 8 --ndf 8 --load-size 36 --crop-size 32 --n-epochs 10 --n-epochs-decay 10
        --max-iters 8 --print-freq 2 --seed 5 --checkpoints-dir "$ck")
    step tiny-cpu "tiny training on cpu failed" 60 -- $E --device cpu "${tiny[@]}" --name tiny_cpu
    step tiny-cuda "tiny training on cuda failed" 60 -- $E --device cuda "${tiny[@]}" --name tiny_cuda --dataroot datasets/builtin_shapes_64
    step loss-match "cpu and cuda losses differ" 30 -- python3 - "$ck/tiny_cpu/loss_log.jsonl" "$ck/tiny_cuda/loss_log.jsonl" <<'PY'
import json, math, sys
a, b = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
assert a and len(a) == len(b), f"{len(a)} vs {len(b)} loss lines"
# After one update the runs differ by rounding only; later Adam steps may amplify it a little
# (tiny gradients normalised by their own size), so the bound loosens.
worst = []
for x, y in zip(a, b):
    for k in ("G_GAN", "G_L1", "D_real", "D_fake"):
        assert math.isfinite(y[k]), f"iter {y['iter']}: {k} = {y[k]}"
    worst.append(max(abs(x[k] - y[k]) / max(abs(x[k]), 1e-3) for k in ("G_GAN", "G_L1", "D_real", "D_fake")))
print(f"{len(a)} loss lines; relative difference cpu vs cuda: first {worst[0]:.1e}, worst {max(worst):.1e}")
assert worst[0] < 1e-3 and max(worst) < 5e-2, "losses diverge"
PY
    NOTES[-1]="${NOTES[-1]:-$(tail -n 1 "$LOG/loss-match.log")}"

    {
        echo "== gpu-check summary ($(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1), $(date -u +%F))"
        printf '%-14s %-8s %5s  %s\n' check status secs note
        local i
        for i in "${!NAMES[@]}"; do
            printf '%-14s %-8s %5s  %s\n' "${NAMES[$i]}" "${STATUS[$i]}" "${SECS[$i]}" "${NOTES[$i]}"
        done
    } >"$LOG/summary.txt"
    # At most 8 files come back from $OUT: the summary, the two long logs, all logs packed.
    cp "$LOG/summary.txt" "$LOG/parity.log" "$OUTDIR/"
    [ -f "$LOG/memcheck.log" ] && cp "$LOG/memcheck.log" "$OUTDIR/"
    tar czf "$OUTDIR/logs.tgz" -C "$LOG" .
    echo
    cat "$LOG/summary.txt"
    ! grep -q " FAIL" "$LOG/summary.txt"
}

case "${1:-}" in
    bundle) bundle ;;
    gpu) gpu ;;
    *) echo "usage: $0 bundle|gpu"; exit 2 ;;
esac
