#!/usr/bin/env python3
"""One comparison table from `engine bench ... --json` files and the PyTorch peers' JSON:
for every (work, size) ours and each PyTorch variant, with the ratio ours / PyTorch
(below 1: we are faster). Files may be given in any order; each holds a list of results.

  python3 benches/peers/compare.py ours-*.json torch-*.json [--markdown]
"""

import argparse
import json
import sys


def load(paths):
    ours, peers = [], []
    for p in paths:
        try:
            with open(p) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            print(f"warning: skipping {p}: {e}", file=sys.stderr)
            continue
        for r in data if isinstance(data, list) else [data]:
            (peers if "variant" in r else ours).append(r)
    return ours, peers


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--markdown", action="store_true", help="a markdown table (for docs/PERFORMANCE.md)")
    a = ap.parse_args()
    ours, peers = load(a.files)
    rows = []
    for o in ours:
        key = (o["bench"], o["size"])
        matches = [p for p in peers if (p["bench"], p["size"]) == key]
        if not matches:
            rows.append((o["bench"], o["size"], o["device"], o["stats"]["median_ms"], "(no PyTorch result)", None, None))
        for p in matches:
            if "error" in p:
                rows.append((o["bench"], o["size"], o["device"], o["stats"]["median_ms"], p["variant"], None, "failed: " + p["error"][:60]))
            else:
                t = p["stats"]["median_ms"]
                rows.append((o["bench"], o["size"], o["device"], o["stats"]["median_ms"], p["variant"], t, o["stats"]["median_ms"] / t))
    if not rows:
        sys.exit("error: no results of ours in the files given")
    head = ("work", "size", "ours on", "ours ms", "PyTorch variant", "PyTorch ms", "ours/PyTorch")
    fmt = lambda v, p=1: "-" if v is None else (f"{v:.{p}f}" if isinstance(v, float) else str(v))  # noqa: E731
    cells = [(w, f"{s}x{s}", d, fmt(om), var, fmt(pm), fmt(ratio, 2) if not isinstance(ratio, str) else ratio) for w, s, d, om, var, pm, ratio in rows]
    if a.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join(["---"] * 3 + ["---:", "---", "---:", "---:"]) + "|")
        for c in cells:
            print("| " + " | ".join(c) + " |")
        return
    widths = [max(len(str(x)) for x in col) for col in zip(head, *cells)]
    for c in [head, *cells]:
        print("  ".join(str(x).ljust(w) if i in (0, 2, 4) else str(x).rjust(w) for i, (x, w) in enumerate(zip(c, widths))))


if __name__ == "__main__":
    main()
