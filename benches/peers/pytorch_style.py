#!/usr/bin/env python3
"""PyTorch peer of `engine bench style-iter`: one neural-style iteration.

VGG-19 features up to relu5_1 of the ImageNet-normalised image in [0, 1] (torchvision's
layout: 3x3 convs with bias, ReLU, 2x2 max pooling; random He-normal weights, frozen),
Gram matrices (divided by C*H*W) and MSE against
style targets at relu1_1 .. relu5_1 (weight 100), content MSE at relu4_2 (weight 5), total
variation (weight 1e-3, squared neighbour differences / numel), and the gradient w.r.t.
the image: the same work as ours (99 GFLOP at 256x256, 397 at 512x512).

Variants: eager (cudnn.benchmark on; TF32 off and on), torch.compile where it works.

  PYTHONPATH=/tmp/torchpkg python3 benches/peers/pytorch_style.py --device cpu --size 256
"""

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import environment, line, pick_device, set_tf32, time_calls, variants, write_json

WIDTHS = [64, 128, 256, 512, 512]
CONVS = [2, 2, 4, 4, 1]  # up to conv5_1
STYLE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
CONTENT = "relu4_2"


def vgg19_to_relu5_1():
    layers, names, c = [], [], 3
    for b, (w, n) in enumerate(zip(WIDTHS, CONVS)):
        for j in range(1, n + 1):
            conv = nn.Conv2d(c, w, 3, padding=1)
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)
            layers += [conv, nn.ReLU()]
            names += [f"conv{b + 1}_{j}", f"relu{b + 1}_{j}"]
            c = w
        if b < 4:
            layers.append(nn.MaxPool2d(2, 2))
            names.append(f"pool{b + 1}")
    return nn.ModuleList(layers), names


class StyleLoss(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers, self.names = vgg19_to_relu5_1()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        for p in self.parameters():
            p.requires_grad_(False)

    def taps(self, x):
        x = (x - self.mean) / self.std
        out = {}
        for layer, name in zip(self.layers, self.names):
            x = layer(x)
            out[name] = x
        return out

    @staticmethod
    def gram(f):
        n, c, h, w = f.shape
        f = f.reshape(n, c, h * w)
        return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)

    def forward(self, x, style_targets, content_target):
        t = self.taps(x)
        loss = 5.0 * F.mse_loss(t[CONTENT], content_target)
        for name, target in zip(STYLE, style_targets):
            loss = loss + 100.0 * F.mse_loss(self.gram(t[name]), target)
        tv = ((x[:, :, 1:, :] - x[:, :, :-1, :]) ** 2).sum() + ((x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2).sum()
        return loss + 1e-3 * tv / x.numel()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--size", default="256,512", help="image sides, comma-separated")
    ap.add_argument("--iters", type=int, default=None, help="timed calls (default 20 on CUDA, 5 on the CPU)")
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--variants", default=None, help="eager,eager_tf32,compile (default: all on CUDA, eager on the CPU)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()

    device = pick_device(a.device)
    cuda = device.startswith("cuda")
    iters = a.iters or (20 if cuda else 5)
    names = a.variants or ("eager,eager_tf32,compile" if cuda else "eager")
    torch.backends.cudnn.benchmark = True
    results = []
    for variant, tf32, comp in variants(device, names):
        set_tf32(tf32)
        warmup = a.warmup if a.warmup is not None else (5 if comp else 3)
        for size in [int(s) for s in a.size.split(",")]:
            r = {"bench": "style-iter", "variant": variant, "device": device, "size": size, **environment(device)}
            try:
                torch.manual_seed(0)
                model = StyleLoss().to(device)
                with torch.no_grad():
                    style = model.taps(torch.rand(1, 3, size, size, device=device))
                    style_targets = [model.gram(style[n]) for n in STYLE]
                    content_target = model.taps(torch.rand(1, 3, size, size, device=device))[CONTENT]
                xs = [torch.rand(1, 3, size, size, device=device).requires_grad_(True) for _ in range(3)]
                loss_fn = torch.compile(model) if comp else model

                def call(i):
                    x = xs[i % 3]
                    x.grad = None
                    loss_fn(x, style_targets, content_target).backward()

                stats, peak = time_calls(device, call, warmup, iters)
                r.update(stats=stats, peak_bytes=peak)
            except Exception as e:  # torch.compile may not work everywhere: say why
                r["error"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            print(line(r), flush=True)
            results.append(r)
            if cuda:
                torch.cuda.empty_cache()
    write_json(a.json, results)


if __name__ == "__main__":
    main()
