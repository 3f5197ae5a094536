"""PyTorch reference for crackunet-v1 on the lent GPU: FP32 (TF32 off), TF32, FP16, each eager and
as a replayed CUDA graph, batch 1 at the live size. Weights come from the shipped ONNX file (its
Conv initializers: BatchNorm is folded into them at export), loaded into models/train/net.py's
CrackUNet with BatchNorm replaced by the identity. Checked against onnxruntime (CPU) first.
Prints one JSON line per result."""
import json, os, sys, time
import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "models", "train"))
from net import CrackUNet, Deploy  # noqa: E402

ONNX = os.path.join(ROOT, "models", "crackunet-v1.onnx")
man = json.load(open(os.path.join(ROOT, "models", "crackunet-v1.json")))
H, W = man["input"]["height"], man["input"]["width"]
THR = int(np.ceil(man["threshold"] * 255))


def out(**kw):
    print(json.dumps(kw), flush=True)


m = onnx.load(ONNX)
inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
convs = [n for n in m.graph.node if n.op_type == "Conv"]
ch = tuple(int(inits[convs[i].input[1]].shape[0]) for i in (0, 2, 4, 6, 8))
net = CrackUNet(ch)


def fold(mod):
    for name, child in mod.named_children():
        if isinstance(child, nn.Sequential) and len(child) >= 2 and isinstance(child[0], nn.Conv2d) and isinstance(child[1], nn.BatchNorm2d):
            c = child[0]
            child[0] = nn.Conv2d(c.in_channels, c.out_channels, c.kernel_size, padding=c.padding, dilation=c.dilation, bias=True)
            child[1] = nn.Identity()
        else:
            fold(child)


fold(net)
mods = [x for x in net.modules() if isinstance(x, nn.Conv2d)]
assert len(mods) == len(convs), (len(mods), len(convs))
with torch.no_grad():
    for mod, node in zip(mods, convs):
        w = torch.from_numpy(inits[node.input[1]].copy())
        assert tuple(w.shape) == tuple(mod.weight.shape), (node.name, w.shape, mod.weight.shape)
        attrs = {a.name: list(a.ints) for a in node.attribute}
        assert attrs.get("dilations", [1, 1]) == list(mod.dilation), node.name
        mod.weight.copy_(w)
        mod.bias.copy_(torch.from_numpy(inits[node.input[2]].copy()) if len(node.input) > 2 else torch.zeros(mod.out_channels))
    net.mean.copy_(torch.from_numpy(inits["net.mean"]))
    net.istd.copy_(torch.from_numpy(inits["net.istd"]))

demo = os.path.join(ROOT, "models", "demo")
files = sorted(f for f in os.listdir(demo) if f.endswith((".jpg", ".png")))
imgs = np.stack([np.asarray(Image.open(os.path.join(demo, f)).convert("RGB").resize((W, H), Image.BILINEAR)) for f in files])

import onnxruntime as ort  # noqa: E402

sess = ort.InferenceSession(ONNX, providers=["CPUExecutionProvider"])
ref = np.concatenate([sess.run(None, {man["input"]["name"]: imgs[i : i + 1]})[0] for i in range(len(imgs))])

dev = torch.device("cuda")
gpu = torch.cuda.get_device_name(0)


class DeployHalf(nn.Module):
    def __init__(self, net, channels_last):
        super().__init__()
        self.net = net
        self.fmt = torch.channels_last if channels_last else torch.contiguous_format

    def forward(self, image):
        x = image.permute(0, 3, 1, 2).half().contiguous(memory_format=self.fmt)
        p = torch.sigmoid(self.net(x).float())[:, 0]
        return torch.clamp(torch.round(p * 255.0), 0, 255).to(torch.uint8)


def agreement(a, b):
    ca, cb = a >= THR, b >= THR
    inter, union = np.logical_and(ca, cb).sum(), np.logical_or(ca, cb).sum()
    return dict(pixel_agreement=round(float((ca == cb).mean()), 7), iou=round(float(inter / max(union, 1)), 5),
                max_abs_diff_u8=int(np.abs(a.astype(int) - b.astype(int)).max()))


def run_all(model):
    with torch.no_grad():
        return np.concatenate([model(torch.from_numpy(imgs[i : i + 1]).to(dev)).cpu().numpy() for i in range(len(imgs))])


def timed(model, graph, reps=300):
    x = torch.from_numpy(imgs[3:4]).to(dev).contiguous()
    with torch.no_grad():
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            for _ in range(20):
                model(x)
        torch.cuda.current_stream().wait_stream(s)
        torch.cuda.synchronize()
        if graph:
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                y = model(x)
            fn = g.replay
        else:
            fn = lambda: model(x)  # noqa: E731
        for _ in range(20):
            fn()
        torch.cuda.synchronize()
        ts = []
        for _ in range(reps):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record(); fn(); b.record(); b.synchronize()
            ts.append(a.elapsed_time(b))
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        torch.cuda.synchronize()
        thr = reps / (time.perf_counter() - t0)
    ts.sort()
    return dict(ms_p50=round(ts[len(ts) // 2], 4), ms_p95=round(ts[int(len(ts) * 0.95)], 4), ms_min=round(ts[0], 4), fps_back_to_back=round(thr, 1))


torch.backends.cudnn.benchmark = True
fp32 = Deploy(net).to(dev).eval()
torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False
m32 = run_all(fp32)
out(check="torch_fp32_vs_onnxruntime_cpu", gpu=gpu, torch=torch.__version__, frames=len(imgs), **agreement(m32, ref))
out(bench="torch", precision="fp32 (TF32 off)", layout="as Deploy (NHWC input permuted)", cuda_graph=False, gpu=gpu, **timed(fp32, False))
out(bench="torch", precision="fp32 (TF32 off)", layout="as Deploy (NHWC input permuted)", cuda_graph=True, gpu=gpu, **timed(fp32, True))
torch.backends.cudnn.allow_tf32 = True
out(bench="torch", precision="tf32", layout="as Deploy (NHWC input permuted)", cuda_graph=True, gpu=gpu, **timed(fp32, True))
net16 = CrackUNet(ch)
fold(net16)
net16.load_state_dict(net.state_dict())
for cl in (False, True):
    n16 = DeployHalf(net16.half(), cl).to(dev).eval()
    if cl:
        n16 = n16.to(memory_format=torch.channels_last)
    m16 = run_all(n16)
    lay = "channels_last" if cl else "NCHW"
    out(check="torch_fp16_vs_fp32", layout=lay, **agreement(m16, m32))
    out(bench="torch", precision="fp16", layout=lay, cuda_graph=False, gpu=gpu, **timed(n16, False))
    out(bench="torch", precision="fp16", layout=lay, cuda_graph=True, gpu=gpu, **timed(n16, True))
