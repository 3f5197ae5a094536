"""CrackUNet: a compact U-Net for thin structures, and the deploy wrapper exported to ONNX."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN = (0.5 * 255, 0.5 * 255, 0.5 * 255)
STD = (0.25 * 255, 0.25 * 255, 0.25 * 255)


def cbr(cin, cout, k=3, d=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=d * (k // 2), dilation=d, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Up(nn.Module):
    """1x1 reduce at low resolution, bilinear x2, add the skip, 3x3 refine (LinkNet-style, cheap)."""

    def __init__(self, cin, cskip, n=1):
        super().__init__()
        self.reduce = cbr(cin, cskip, 1)
        self.refine = nn.Sequential(*[cbr(cskip, cskip) for _ in range(n)])

    def forward(self, x, skip):
        x = F.interpolate(self.reduce(x), scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.refine(x + skip)


class CrackUNet(nn.Module):
    """Input: float NCHW RGB in 0..255. Output: crack logits N1HW."""

    def __init__(self, ch=(12, 20, 40, 80, 160)):
        super().__init__()
        c0, c1, c2, c3, c4 = ch
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("istd", 1.0 / torch.tensor(STD).view(1, 3, 1, 1))
        self.e0 = nn.Sequential(cbr(3, c0), cbr(c0, c0))                # 1/1
        self.e1 = nn.Sequential(cbr(c0, c1), cbr(c1, c1))               # 1/2
        self.e2 = nn.Sequential(cbr(c1, c2), cbr(c2, c2))               # 1/4
        self.e3 = nn.Sequential(cbr(c2, c3), cbr(c3, c3))               # 1/8
        self.e4 = nn.Sequential(cbr(c3, c4), cbr(c4, c4, d=2), cbr(c4, c4, d=4))  # 1/16, context
        self.d3 = Up(c4, c3)
        self.d2 = Up(c3, c2)
        self.d1 = Up(c2, c1)
        self.d0 = Up(c1, c0, n=2)
        self.head = nn.Conv2d(c0, 1, 1)

    def forward(self, x):
        x = (x - self.mean) * self.istd
        s0 = self.e0(x)
        s1 = self.e1(F.max_pool2d(s0, 2))
        s2 = self.e2(F.max_pool2d(s1, 2))
        s3 = self.e3(F.max_pool2d(s2, 2))
        s4 = self.e4(F.max_pool2d(s3, 2))
        y = self.d3(s4, s3)
        y = self.d2(y, s2)
        y = self.d1(y, s1)
        y = self.d0(y, s0)
        return self.head(y)


class Deploy(nn.Module):
    """uint8 RGB NHWC [N,H,W,3] -> uint8 [N,H,W] = round(sigmoid(logit) * 255)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, image):
        # Cast first: TensorRT's ONNX parser takes a uint8 input only straight into a Cast
        x = image.float().permute(0, 3, 1, 2)
        p = torch.sigmoid(self.net(x))[:, 0]
        return torch.clamp(torch.round(p * 255.0), 0, 255).to(torch.uint8)


# Channel widths per level (1/1 .. 1/16). v1 is the shipped 1.x network; w125 is 1.25x wider
# (about 1.56x the GFLOPs) and can start from v1 weights through widen_from.
ARCHS = {"v1": (12, 20, 40, 80, 160), "w125": (15, 25, 50, 100, 200)}


@torch.no_grad()
def widen_from(net, old_state):
    """Load a narrower CrackUNet's weights into `net` so that it computes exactly the same function:
    old channels are copied, new output channels keep their random init, and every weight that reads
    a new channel is zero (so new channels start silent and learn from the gradient)."""
    new_state = net.state_dict()
    for k, v in new_state.items():
        if k not in old_state:
            continue
        o = old_state[k]
        if o.shape == v.shape:
            v.copy_(o)
            continue
        if v.dim() == 4:  # conv weight [out, in, kh, kw]
            v[:, o.shape[1]:] = 0
            v[:o.shape[0], :o.shape[1]] = o
        elif v.dim() == 1:  # BN weight/bias/running stats
            v[:o.shape[0]] = o
        else:
            raise ValueError(f"cannot widen {k}: {tuple(o.shape)} -> {tuple(v.shape)}")
    net.load_state_dict(new_state)


def load_weights(path):
    """A CrackUNet of the checkpoint's own width (its training args' arch; v1 when absent), on the CPU."""
    ck = torch.load(path, map_location="cpu")
    net = CrackUNet(ARCHS[ck.get("args", {}).get("arch", "v1")])
    net.load_state_dict(ck["model"])
    return net


def count_params(m):
    return sum(p.numel() for p in m.parameters())


def count_gflops(m, h=384, w=640):
    """2 x MACs of every Conv2d (bias, BN, ReLU, resize and pooling not counted: they are small)."""
    macs = [0]

    def hook(mod, inp, out):
        k = mod.kernel_size[0] * mod.kernel_size[1]
        macs[0] += out.numel() * (mod.in_channels // mod.groups) * k

    hs = [mod.register_forward_hook(hook) for mod in m.modules() if isinstance(mod, nn.Conv2d)]
    dev = next(m.parameters()).device
    was = m.training
    m.eval()
    with torch.no_grad():
        m(torch.zeros(1, 3, h, w, device=dev))
    m.train(was)
    for x in hs:
        x.remove()
    return 2 * macs[0] / 1e9


if __name__ == "__main__":
    for name, ch in ARCHS.items():
        n = CrackUNet(ch)
        print(name, ch, "params", count_params(n), "gflops@384x640", round(count_gflops(n), 3))
