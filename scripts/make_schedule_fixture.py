#!/usr/bin/env python3
"""Writes tests/data/lr_schedules_torch.json: the learning rate PyTorch's schedulers give
after each scheduler.step(), set up as pix2pix's get_scheduler does (linear = LambdaLR
with 1 - max(0, epoch + epoch_count - n_epochs) / (n_epochs_decay + 1); step = StepLR
gamma 0.1; cosine = CosineAnnealingLR T_max = n_epochs, eta_min 0).

Run from the repository root with PyTorch installed: python3 scripts/make_schedule_fixture.py
"""
import json

import torch
from torch.optim import lr_scheduler


def trace(make, base_lr, steps):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=base_lr)
    sched = make(opt)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


def linear(epoch_count, n_epochs, n_epochs_decay):
    def rule(epoch):
        return 1.0 - max(0, epoch + epoch_count - n_epochs) / float(n_epochs_decay + 1)
    return lambda opt: lr_scheduler.LambdaLR(opt, lr_lambda=rule)


cases = []
for ec, ne, nd in [(1, 100, 100), (1, 3, 4), (7, 5, 6)]:
    cases.append({"policy": "linear", "epoch_count": ec, "n_epochs": ne, "n_epochs_decay": nd, "lr_decay_iters": 50,
                  "base_lr": 2e-4, "lrs": trace(linear(ec, ne, nd), 2e-4, ne + nd)})
for it in [50, 3]:
    cases.append({"policy": "step", "epoch_count": 1, "n_epochs": 100, "n_epochs_decay": 100, "lr_decay_iters": it,
                  "base_lr": 2e-4, "lrs": trace(lambda o: lr_scheduler.StepLR(o, step_size=it, gamma=0.1), 2e-4, 200 if it == 50 else 12)})
for ne in [100, 7]:
    cases.append({"policy": "cosine", "epoch_count": 1, "n_epochs": ne, "n_epochs_decay": ne, "lr_decay_iters": 50,
                  "base_lr": 2e-4, "lrs": trace(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=ne, eta_min=0), 2e-4, 2 * ne + 3)})

with open("tests/data/lr_schedules_torch.json", "w") as f:
    json.dump({"torch_version": torch.__version__, "cases": cases}, f)
    f.write("\n")
print(len(cases), "cases")
