#!/usr/bin/env python3
"""PyTorch peer of `engine bench pix2pix-step` and `engine bench unet-forward`.

The generator and discriminator are written here as junyanz/pytorch-CycleGAN-and-pix2pix
builds them (models/networks.py: UnetSkipConnectionBlock with in-place LeakyReLU, batch
norm, no conv bias except the outermost up-convolution, dropout 0.5 in the num_downs - 5
intermediate blocks; NLayerDiscriminator n_layers 3), initialised N(0, 0.02), and one
training step is the reference's optimize_parameters: vanilla GAN (BCE with logits),
lambda_L1 100, Adam lr 2e-4, betas (0.5, 0.999), batch 1, D frozen during the G update.

Variants: eager (cudnn.benchmark on; TF32 off and on), torch.compile where it works.
Timed as ours: warm-up excluded, CUDA events (wall clock on the CPU), median and spread.

  PYTHONPATH=/tmp/torchpkg python3 benches/peers/pytorch_pix2pix.py --device cpu --json out.json
"""

import argparse
import sys

import torch
import torch.nn as nn

from common import environment, line, pick_device, set_tf32, time_calls, variants, write_json


class UnetSkipConnectionBlock(nn.Module):
    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False, innermost=False, use_dropout=False):
        super().__init__()
        self.outermost = outermost
        use_bias = False  # batch norm
        if input_nc is None:
            input_nc = outer_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        downrelu = nn.LeakyReLU(0.2, True)
        downnorm = nn.BatchNorm2d(inner_nc)
        uprelu = nn.ReLU(True)
        upnorm = nn.BatchNorm2d(outer_nc)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            model = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, uprelu, upconv, upnorm]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, downnorm, submodule, uprelu, upconv, upnorm]
            if use_dropout:
                model += [nn.Dropout(0.5)]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, num_downs, ngf=64, use_dropout=True):
        super().__init__()
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, use_dropout=use_dropout)
        block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=block)
        block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=block)
        block = UnetSkipConnectionBlock(ngf, ngf * 2, submodule=block)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True)

    def forward(self, x):
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    def __init__(self, input_nc, ndf=64, n_layers=3):
        super().__init__()
        use_bias = False  # batch norm
        seq = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2**n, 8)
            seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=use_bias), nn.BatchNorm2d(ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2**n_layers, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=use_bias), nn.BatchNorm2d(ndf * mult), nn.LeakyReLU(0.2, True)]
        seq += [nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x)


def init_weights(net, gain=0.02):
    """The reference's init_weights(net, 'normal', 0.02)."""

    def init(m):
        name = m.__class__.__name__
        if hasattr(m, "weight") and ("Conv" in name or "Linear" in name):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0.0)
        elif "BatchNorm2d" in name:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.constant_(m.bias, 0.0)

    net.apply(init)
    return net


def set_requires_grad(net, on):
    for p in net.parameters():
        p.requires_grad = on


class Pix2Pix:
    def __init__(self, device, num_downs, compile_nets):
        self.net_g = init_weights(UnetGenerator(3, 3, num_downs)).to(device)
        self.net_d = init_weights(NLayerDiscriminator(6)).to(device)
        self.g = torch.compile(self.net_g) if compile_nets else self.net_g
        self.d = torch.compile(self.net_d) if compile_nets else self.net_d
        self.opt_g = torch.optim.Adam(self.net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.bce = nn.BCEWithLogitsLoss()
        self.l1 = nn.L1Loss()

    def gan_loss(self, pred, real):
        return self.bce(pred, torch.full_like(pred, 1.0 if real else 0.0))

    def step(self, real_a, real_b):
        fake_b = self.g(real_a)
        set_requires_grad(self.net_d, True)
        self.opt_d.zero_grad()
        loss_d_fake = self.gan_loss(self.d(torch.cat((real_a, fake_b), 1).detach()), False)
        loss_d_real = self.gan_loss(self.d(torch.cat((real_a, real_b), 1)), True)
        ((loss_d_fake + loss_d_real) * 0.5).backward()
        self.opt_d.step()
        set_requires_grad(self.net_d, False)
        self.opt_g.zero_grad()
        loss_g = self.gan_loss(self.d(torch.cat((real_a, fake_b), 1)), True) + self.l1(fake_b, real_b) * 100.0
        loss_g.backward()
        self.opt_g.step()


def images(device, size, count, seed):
    g = torch.Generator().manual_seed(seed)
    return [(torch.rand(1, 3, size, size, generator=g) * 2 - 1).to(device) for _ in range(count)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--netg", default="unet_256")
    ap.add_argument("--iters", type=int, default=None, help="timed calls (default 20 on CUDA, 5 on the CPU)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed calls (default 3; 5 for torch.compile)")
    ap.add_argument("--variants", default=None, help="eager,eager_tf32,compile (default: all on CUDA, eager on the CPU)")
    ap.add_argument("--workloads", default="step,forward", help="step (training step), forward (U-Net eval forward)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()

    device = pick_device(a.device)
    cuda = device.startswith("cuda")
    num_downs = int(a.netg.removeprefix("unet_")).bit_length() - 1
    if a.size % (1 << num_downs):
        sys.exit(f"error: --size {a.size} must be a multiple of {1 << num_downs} for {a.netg}")
    iters = a.iters or (20 if cuda else 5)
    names = a.variants or ("eager,eager_tf32,compile" if cuda else "eager")
    torch.backends.cudnn.benchmark = True
    results = []
    for variant, tf32, comp in variants(device, names):
        set_tf32(tf32)
        warmup = a.warmup if a.warmup is not None else (5 if comp else 3)
        for work in a.workloads.split(","):
            bench = {"step": "pix2pix-step", "forward": "unet-forward"}[work.strip()]
            r = {"bench": bench, "variant": variant, "device": device, "size": a.size, "netg": a.netg, **environment(device)}
            try:
                torch.manual_seed(0)
                model = Pix2Pix(device, num_downs, comp)
                xa, xb = images(device, a.size, 3, 1), images(device, a.size, 3, 2)
                if work.strip() == "step":
                    call = lambda i: model.step(xa[i % 3], xb[i % 3])  # noqa: E731
                    stats, peak = time_calls(device, call, warmup, iters)
                else:
                    model.net_g.eval()
                    with torch.no_grad():
                        stats, peak = time_calls(device, lambda i: model.g(xa[i % 3]), warmup, iters)
                r.update(stats=stats, peak_bytes=peak)
            except Exception as e:  # torch.compile may not work everywhere: say why
                r["error"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            print(line(r), flush=True)
            results.append(r)
            del r
            if cuda:
                torch.cuda.empty_cache()
    write_json(a.json, results)


if __name__ == "__main__":
    main()
