#!/usr/bin/env python3
"""Writes tests/data/lbfgs_torch.json: every point torch.optim.LBFGS evaluates on small
problems, so tests/lbfgs.rs can check that our port takes the same path.

Run from the repository root with PyTorch installed (`pip install torch numpy`):
    python3 scripts/make_lbfgs_fixture.py
CI does not run this; it compares against the committed JSON.

Everything is float64 and gradients are written by hand (the same formulas as the Rust
test), so the two sides differ only by rounding in dot products.
"""
import json

import torch

torch.set_default_dtype(torch.float64)


def rosenbrock(x):
    # sum_i 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, with its gradient.
    a, b = x[:-1], x[1:]
    f = (100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2).sum()
    g = torch.zeros_like(x)
    g[:-1] += -400.0 * a * (b - a * a) - 2.0 * (1.0 - a)
    g[1:] += 200.0 * (b - a * a)
    return f, g


# Least squares 0.5 |A x - b|^2 with a fixed 5x3 matrix.
LS_A = torch.tensor([[1.0, 2.0, 0.5], [0.0, 1.0, -1.0], [3.0, -1.0, 2.0], [1.0, 1.0, 1.0], [-2.0, 0.5, 4.0]])
LS_B = torch.tensor([1.0, -2.0, 0.5, 3.0, 1.5])


def least_squares(x):
    r = LS_A @ x - LS_B
    return 0.5 * (r * r).sum(), LS_A.T @ r


PROBLEMS = {"rosenbrock": rosenbrock, "least_squares": least_squares}


def run(name, problem, x0, steps, **cfg):
    x = torch.tensor(x0, requires_grad=True)
    opt = torch.optim.LBFGS([x], **cfg)
    evals = []

    def closure():
        with torch.no_grad():
            f, g = PROBLEMS[problem](x.detach())
        x.grad = g.clone()
        evals.append({"x": x.detach().tolist(), "f": float(f)})
        return f

    after = []
    for _ in range(steps):
        loss = opt.step(closure)
        st = opt.state[x]
        after.append({
            "x": x.detach().tolist(),
            "loss": float(loss),
            "func_evals": st["func_evals"],
            "n_iter": st["n_iter"],
        })
    return {
        "name": name,
        "problem": problem,
        "x0": x0,
        "steps": steps,
        "config": {
            "lr": cfg.get("lr", 1.0),
            "max_iter": cfg.get("max_iter", 20),
            "max_eval": cfg.get("max_eval"),
            "tolerance_grad": cfg.get("tolerance_grad", 1e-7),
            "tolerance_change": cfg.get("tolerance_change", 1e-9),
            "history_size": cfg.get("history_size", 100),
            "line_search_fn": cfg.get("line_search_fn"),
        },
        "evals": evals,
        "after_step": after,
    }


def main():
    cases = [
        # The brief's problem: Rosenbrock from (-1.5, 2), history 5.
        run("rosen2d_wolfe", "rosenbrock", [-1.5, 2.0], 3, history_size=5, max_iter=15, line_search_fn="strong_wolfe"),
        run("rosen2d_fixed_lr", "rosenbrock", [-1.5, 2.0], 3, history_size=5, max_iter=10, lr=0.1),
        # One iteration per step(), as in a stochastic loop: state carries over.
        run("rosen2d_one_iter_steps", "rosenbrock", [-1.5, 2.0], 8, history_size=5, max_iter=1, lr=0.05),
        # Wolfe with a tight evaluation budget: the line search runs out of evaluations.
        run("rosen2d_wolfe_tight_eval", "rosenbrock", [-1.5, 2.0], 4, history_size=5, max_iter=6, max_eval=7, line_search_fn="strong_wolfe"),
        run("rosen5d_wolfe", "rosenbrock", [-1.2, 1.0, -0.5, 0.3, 1.5], 2, history_size=3, max_iter=12, line_search_fn="strong_wolfe"),
        # History 2 wraps around; run to convergence.
        run("least_squares_wolfe", "least_squares", [0.0, 0.0, 0.0], 2, history_size=2, max_iter=30, line_search_fn="strong_wolfe"),
        run("least_squares_fixed_lr", "least_squares", [0.5, -0.5, 1.0], 2, history_size=2, max_iter=25, lr=0.5),
    ]
    out = {"torch_version": torch.__version__, "least_squares": {"A": LS_A.tolist(), "b": LS_B.tolist()}, "cases": cases}
    with open("tests/data/lbfgs_torch.json", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    for c in cases:
        print(c["name"], len(c["evals"]), "evals; final x", c["after_step"][-1]["x"])


if __name__ == "__main__":
    main()
