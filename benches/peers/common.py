"""Shared timing for the PyTorch peers: warm-up excluded, CUDA events on the GPU (wall
clock on the CPU), the median and 10th/90th percentiles of the timed calls, as
`engine bench` measures ours."""

import json
import os
import platform
import statistics
import sys
import time

import torch


def pick_device(spec):
    if spec == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda") and not torch.cuda.is_available():
        sys.exit(f"error: --device {spec}: PyTorch sees no CUDA device")
    return spec


def percentile(sorted_v, q):
    x = q * (len(sorted_v) - 1)
    lo, hi = int(x), min(int(x) + 1, len(sorted_v) - 1)
    return sorted_v[lo] + (sorted_v[hi] - sorted_v[lo]) * (x - lo)


def time_calls(device, call, warmup, iters):
    """Times call(i) `iters` times after `warmup` untimed calls; returns stats in ms
    and the peak CUDA memory of the timed calls (None on the CPU)."""
    k = 0
    for _ in range(max(warmup, 1)):
        call(k)
        k += 1
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    samples = []
    for _ in range(max(iters, 1)):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            call(k)
            end.record()
            end.synchronize()
            samples.append(start.elapsed_time(end))
        else:
            t = time.perf_counter()
            call(k)
            samples.append((time.perf_counter() - t) * 1e3)
        k += 1
    peak = torch.cuda.max_memory_allocated() if cuda else None
    s = sorted(samples)
    return {
        "median_ms": statistics.median(s),
        "p10_ms": percentile(s, 0.1),
        "p90_ms": percentile(s, 0.9),
        "samples": len(s),
    }, peak


def set_tf32(on):
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on


def variants(device, names):
    """(name, tf32, compile) for each requested variant that applies to the device."""
    table = {
        "eager": ("eager" + (" (cudnn.benchmark, TF32 off)" if device.startswith("cuda") else ""), False, False),
        "eager_tf32": ("eager (cudnn.benchmark, TF32 on)", True, False),
        "compile": ("torch.compile" + (" (TF32 off)" if device.startswith("cuda") else ""), False, True),
    }
    out = []
    for n in names.split(","):
        n = n.strip()
        if n not in table:
            sys.exit(f"error: unknown variant {n!r} (expected {', '.join(table)})")
        if n == "eager_tf32" and not device.startswith("cuda"):
            continue
        out.append(table[n])
    return out


def environment(device):
    env = {"torch": torch.__version__, "python": platform.python_version(), "threads": torch.get_num_threads()}
    if device.startswith("cuda"):
        env["gpu"] = torch.cuda.get_device_name(torch.device(device))
    else:
        env["cpu"] = platform.processor() or platform.machine()
    return env


def write_json(path, results):
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    print(f"wrote {path}", file=sys.stderr)


def line(r):
    if "error" in r:
        return f"{r['bench']} [{r['variant']}] {r['size']}x{r['size']} on {r['device']}: failed: {r['error']}"
    peak = f", peak {r['peak_bytes'] / 2**20:.1f} MiB" if r.get("peak_bytes") else ""
    s = r["stats"]
    return (f"{r['bench']} [{r['variant']}] {r['size']}x{r['size']} on {r['device']}: {s['median_ms']:.3f} ms median "
            f"(p10 {s['p10_ms']:.3f} .. p90 {s['p90_ms']:.3f}, {s['samples']} samples){peak}")
