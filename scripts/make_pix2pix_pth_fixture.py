"""Makes tests/data/unet_32_ngf2.pth: a tiny pix2pix U-Net generator saved by real PyTorch
with the state_dict layout of junyanz/pytorch-CycleGAN-and-pix2pix (UnetSkipConnectionBlock
nesting, batch norm), plus the generator's eval-mode output on a fixed input, so the test
checks both the names and the computation. Run: PYTHONPATH=/path/to/torch python3 this.py
"""
import json
import torch
import torch.nn as nn


class Block(nn.Module):
    # The reference's UnetSkipConnectionBlock, written out for this fixture.
    def __init__(self, outer, inner, input_nc=None, sub=None, outermost=False, innermost=False, dropout=False):
        super().__init__()
        self.outermost = outermost
        input_nc = outer if input_nc is None else input_nc
        down = [nn.LeakyReLU(0.2, True), nn.Conv2d(input_nc, inner, 4, 2, 1, bias=False), nn.BatchNorm2d(inner)]
        if outermost:
            model = [down[1], sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
        elif innermost:
            model = [down[0], down[1], nn.ReLU(True), nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False), nn.BatchNorm2d(outer)]
        else:
            model = down + [sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False), nn.BatchNorm2d(outer)]
            if dropout:
                model.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*model)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class Unet(nn.Module):
    def __init__(self, input_nc, output_nc, num_downs, ngf):
        super().__init__()
        b = Block(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            b = Block(ngf * 8, ngf * 8, sub=b, dropout=True)
        b = Block(ngf * 4, ngf * 8, sub=b)
        b = Block(ngf * 2, ngf * 4, sub=b)
        b = Block(ngf, ngf * 2, sub=b)
        self.model = Block(output_nc, ngf, input_nc=input_nc, sub=b, outermost=True)

    def forward(self, x):
        return self.model(x)


torch.manual_seed(0)
net = Unet(3, 3, 5, 2)
for m in net.modules():
    if isinstance(m, nn.BatchNorm2d):
        m.running_mean.uniform_(-0.5, 0.5)
        m.running_var.uniform_(0.5, 1.5)
        m.weight.data.normal_(1.0, 0.2)
        m.bias.data.normal_(0.0, 0.2)
    elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        m.weight.data.normal_(0.0, 0.2)
        if m.bias is not None:
            m.bias.data.normal_(0.0, 0.2)
net.eval()
x = torch.linspace(-1, 1, 3 * 32 * 32).reshape(1, 3, 32, 32).sin()
with torch.no_grad():
    y = net(x)
torch.save(net.state_dict(), "tests/data/unet_32_ngf2.pth")
json.dump({"input": "sin(linspace(-1, 1, 3*32*32)) as [1,3,32,32]", "output": y.flatten().tolist()}, open("tests/data/unet_32_ngf2_output.json", "w"))
print("keys", len(net.state_dict()), "output mean", y.mean().item())
