#!/usr/bin/env bash
# Our benches and the PyTorch peers back to back on one machine, one comparison table last.
#
#   scripts/gpu-bench.sh bundle   here (Rust machine): the release binary into gpu-bundle/engine
#                                 (git-ignored: name gpu-bundle in the device tool's `carry`).
#   scripts/gpu-bench.sh gpu      on the GPU machine (PyTorch, no Rust): kernel table (full
#                                 shapes, validated first), pix2pix step, U-Net forward, style
#                                 iteration at 256 and 512, each next to PyTorch eager (TF32
#                                 off and on) and torch.compile. Fits in 5 minutes; results
#                                 in $OUT (or target/bench/gpu).
#   scripts/gpu-bench.sh cpu      here: the same whole-workload pairs on the CPU against
#                                 PyTorch CPU (PYTHON=python3 with torch importable, e.g.
#                                 PYTHONPATH=/tmp/torchpkg); ENGINE=path/to/engine.
#
# Each of our runs sits right next to its PyTorch run, so a noisy machine drifts less
# between the two; the ratio ours/PyTorch is the number to quote.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PEERS=benches/peers

bundle() {
    set -e
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
    cargo build --release --bin engine
    mkdir -p gpu-bundle
    cp "$CARGO_TARGET_DIR/release/engine" gpu-bundle/engine
    ls -la gpu-bundle/engine
    echo "carry: [\"gpu-bundle\"]; on the GPU machine: scripts/gpu-bench.sh gpu"
}

# NVRTC: ENGINE_NVRTC if set, else the CUDA toolkit's or a pip wheel's libnvrtc.so.13.
find_nvrtc() {
    [ -n "${ENGINE_NVRTC:-}" ] && return
    local roots f
    roots="/usr/local/cuda/ /usr/local/cuda-13*/ $($PY -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null) /opt /usr/lib"
    # shellcheck disable=SC2086
    f=$(find -L $roots -maxdepth 6 -name 'libnvrtc.so.13*' 2>/dev/null | head -1)
    [ -n "$f" ] && export ENGINE_NVRTC="$(dirname "$f")"
}

# left SECONDS: what remains of the budget (at least 1).
left() {
    local l=$((DEADLINE - SECONDS))
    [ $l -gt 1 ] && echo $l || echo 1
}

# pair NAME OURS-ARGS -- PEER-COMMAND...: ours, then PyTorch, each bounded by the budget.
pair() {
    local name=$1 ours=$2; shift 3
    echo "=== $name"
    # shellcheck disable=SC2086
    timeout "$(left)" "$ENGINE" --device "$DEV" bench $ours --json "$W/ours-$name.json" || echo "ours $name: failed or out of time ($?)"
    timeout "$(left)" "$PY" "$@" --json "$W/torch-$name.json" || echo "PyTorch $name: failed or out of time ($?)"
}

merge() { # merge OUT FILES...: concatenates JSON lists
    local out=$1; shift
    "$PY" -c 'import json,sys; print(json.dumps([r for p in sys.argv[1:] for r in json.load(open(p))], indent=1))' "$@" >"$out" 2>/dev/null
}

run() {
    local mode=$1
    W=/tmp/engine-bench-$mode
    rm -rf "$W" && mkdir -p "$W"
    export ENGINE_CACHE=/tmp/engine-cache PYTHONUNBUFFERED=1
    if [ "$mode" = gpu ]; then
        OUTDIR="${OUT:-target/bench/gpu}"
        ENGINE=${ENGINE:-gpu-bundle/engine}
        DEV=cuda
        DEADLINE=$((SECONDS + ${BENCH_SECONDS:-285}))
        find_nvrtc
        nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv || true
        echo "ENGINE_NVRTC=${ENGINE_NVRTC:-unset}"
        local style_sizes=256,512 eager=eager,eager_tf32
    else
        OUTDIR="${OUT:-target/bench/cpu}"
        ENGINE=${ENGINE:-target/release/engine}
        DEV=cpu
        DEADLINE=$((SECONDS + ${BENCH_SECONDS:-1800}))
        local style_sizes=${STYLE_SIZES:-256} eager=eager
    fi
    mkdir -p "$OUTDIR"
    [ -x "$ENGINE" ] || { echo "error: $ENGINE missing (scripts/gpu-bench.sh bundle, or ENGINE=...)"; exit 1; }
    "$ENGINE" info || { echo "error: $ENGINE does not run here"; exit 1; }
    "$PY" -c 'import torch; print("torch", torch.__version__, "threads", torch.get_num_threads(), "cuda", torch.cuda.is_available())' \
        || echo "warning: PyTorch not importable: no peer results"

    # Whole workloads, ours next to PyTorch eager.
    pair step "pix2pix-step" -- $PEERS/pytorch_pix2pix.py --device $DEV --workloads step --variants $eager
    pair forward "unet-forward" -- $PEERS/pytorch_pix2pix.py --device $DEV --workloads forward --variants $eager
    pair style "style-iter --size $style_sizes" -- $PEERS/pytorch_style.py --device $DEV --size $style_sizes --variants $eager

    if [ "$mode" = gpu ]; then
        # Every kernel on the full shapes, validated against the CPU in f64 first.
        echo "=== kernels"
        timeout "$(( $(left) > 150 ? 150 : $(left) ))" "$ENGINE" --device cuda bench kernels --json "$W/kernels.json" --out-dir "$W" \
            >"$W/kernels.txt" 2>&1
        echo "kernels: exit $?"; head -n 4 "$W/kernels.txt"; tail -n 3 "$W/kernels.txt"
        cp "$W"/kernels*.md "$W/kernels.json" "$OUTDIR/" 2>/dev/null
        # torch.compile with what is left of the budget (compilation takes minutes).
        echo "=== torch.compile ($(left) s left)"
        timeout "$(left)" "$PY" $PEERS/pytorch_pix2pix.py --device cuda --variants compile --json "$W/torch-compile-p2p.json" \
            || echo "torch.compile pix2pix: failed or out of time"
        timeout "$(left)" "$PY" $PEERS/pytorch_style.py --device cuda --size $style_sizes --variants compile --json "$W/torch-compile-style.json" \
            || echo "torch.compile style: failed or out of time"
        "$PY" - "$W/kernels.json" <<'PY' || true
import json, statistics, sys
rep = json.load(open(sys.argv[1]))
rows = [r for r in rep["rows"] if r["status"] == "ok"]
print(f"\nkernels on {rep['limits']['device']}: {len(rep['rows'])} cases, {len(rep['rows']) - len(rows)} FAILED; "
      f"limits {rep['limits']['bandwidth_gbs']:.0f} GB/s, {rep['limits']['fp32_gflops'] or 0:.0f} GFLOP/s FP32")
fams = {}
for r in rows:
    fams.setdefault(r["op"].split(".")[0], []).append(r)
print(f"{'family':<22} {'cases':>5} {'median %limit':>13} {'worst':>7} {'best':>7}   ms total")
for f, rs in sorted(fams.items(), key=lambda kv: -sum(r['stats']['median_ms'] for r in kv[1])):
    p = [r["pct_of_limit"] for r in rs]
    print(f"{f:<22} {len(rs):>5} {statistics.median(p):>12.1f}% {min(p):>6.1f}% {max(p):>6.1f}%   {sum(r['stats']['median_ms'] for r in rs):.3f}")
PY
    fi

    merge "$OUTDIR/ours.json" "$W"/ours-*.json
    merge "$OUTDIR/torch.json" "$W"/torch-*.json
    echo
    echo "== ours / PyTorch on $DEV ($(date -u +%F)); below 1: ours is faster"
    "$PY" $PEERS/compare.py "$OUTDIR/ours.json" "$OUTDIR/torch.json" | tee "$OUTDIR/compare.txt"
    "$PY" $PEERS/compare.py "$OUTDIR/ours.json" "$OUTDIR/torch.json" --markdown >"$OUTDIR/compare.md"
}

case "${1:-}" in
    bundle) bundle ;;
    gpu) run gpu 2>&1 | tee /tmp/engine-bench-log.txt; cp /tmp/engine-bench-log.txt "${OUT:-target/bench/gpu}/log.txt" 2>/dev/null ;;
    cpu) run cpu ;;
    *) echo "usage: $0 bundle|gpu|cpu"; exit 2 ;;
esac
