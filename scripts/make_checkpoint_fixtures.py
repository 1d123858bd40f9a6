#!/usr/bin/env python3
"""Writes the checkpoint fixtures of tests/checkpoint.rs and tests/pth.rs into tests/data/:

- tiny_conv_bn.pth / tiny_conv_bn_legacy.pth: state_dict of Conv2d(3,4,3) + BatchNorm2d(4)
  after one training-mode forward (running stats moved, num_batches_tracked = 1), saved
  by torch.save in the zip format and in the legacy (pre-1.6) format.
- views.pth / views_legacy.pth: tensors that share a storage (a transpose, a slice with
  an offset), float16 / bfloat16 / float64 / int64 tensors, a 0-d tensor, a nested dict.
- mixed.safetensors: written by the reference `safetensors` library, F32/F16/BF16/F64/I64
  tensors and metadata.
- checkpoints_expected.json: name, shape, dtype and values (as float) of each file.

Run from the repository root with `pip install torch safetensors`:
    python3 scripts/make_checkpoint_fixtures.py
"""
import json
from collections import OrderedDict

import torch
from safetensors.torch import save_file

OUT = "tests/data/"


def describe(d, prefix=""):
    out = []
    for k, v in d.items():
        name = prefix + k
        if isinstance(v, dict):
            out += describe(v, name + ".")
        else:
            out.append({"name": name, "shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", ""),
                        "values": [float(x) for x in v.detach().reshape(-1).tolist()]})
    return out


torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
net.train()
net(torch.randn(2, 3, 5, 5))
sd = net.state_dict()
torch.save(sd, OUT + "tiny_conv_bn.pth")
torch.save(sd, OUT + "tiny_conv_bn_legacy.pth", _use_new_zipfile_serialization=False)

base = torch.arange(24, dtype=torch.float32).reshape(4, 6) * 0.5 - 3.0
views = OrderedDict()
views["base"] = base
views["transposed"] = base.t()
views["slice"] = base[1:3, 2:5]
views["strided"] = base[::2, ::3]
views["half"] = torch.tensor([[1.5, -2.25], [65504.0, 0.0009765625]], dtype=torch.float16)
views["bf16"] = torch.tensor([3.140625, -0.5, 1e30], dtype=torch.bfloat16)
views["double"] = torch.tensor([1.0 / 3.0, -2.5e-8], dtype=torch.float64)
views["count"] = torch.tensor(7, dtype=torch.int64)
views["nested"] = {"w": torch.full((2, 1), 0.25)}
torch.save(views, OUT + "views.pth")
torch.save(views, OUT + "views_legacy.pth", _use_new_zipfile_serialization=False)

mixed = {
    "a.weight": torch.randn(2, 3),
    "a.half": torch.randn(4).to(torch.float16),
    "a.bf16": torch.randn(3).to(torch.bfloat16),
    "b.double": torch.randn(2, 2, dtype=torch.float64),
    "b.steps": torch.tensor(12, dtype=torch.int64),
}
save_file(mixed, OUT + "mixed.safetensors", metadata={"model": "tiny", "epoch": "3"})

expected = {
    "torch_version": torch.__version__,
    "tiny_conv_bn": describe(sd),
    "views": describe(views),
    "mixed": describe(mixed),
    "mixed_metadata": {"model": "tiny", "epoch": "3"},
}
with open(OUT + "checkpoints_expected.json", "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
for k in ["tiny_conv_bn.pth", "tiny_conv_bn_legacy.pth", "views.pth", "views_legacy.pth", "mixed.safetensors"]:
    print(k)
