"""Average the weights of checkpoints fine-tuned from one starting point (a "model soup").

  python3 models/train/average_weights.py OUT.pt A.pt:0.85 B.pt:0.15

Each input is CKPT:SHARE (shares must sum to 1). Floating-point tensors are averaged element-wise,
integer ones (BatchNorm's num_batches_tracked) are taken from the first checkpoint, and so are its
training args and phase history. crackunet-v3 3.3.1 is 0.85 x K1 (3.3.0) + 0.15 x K2 (models/README.md).
"""
import sys

import torch


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    out, parts = sys.argv[1], [a.rsplit(":", 1) for a in sys.argv[2:]]
    shares = [float(s) for _, s in parts]
    if abs(sum(shares) - 1) > 1e-6:
        raise SystemExit(f"shares sum to {sum(shares)}, not 1")
    cks = [torch.load(p, map_location="cpu", weights_only=False) for p, _ in parts]
    first = cks[0]["model"]
    for (p, _), ck in zip(parts, cks):
        if ck["model"].keys() != first.keys() or any(ck["model"][k].shape != first[k].shape for k in first):
            raise SystemExit(f"{p}: not the same network as {parts[0][0]}")
    avg = {}
    for k, t in first.items():
        avg[k] = sum(s * ck["model"][k].float() for s, ck in zip(shares, cks)).to(t.dtype) if t.is_floating_point() else t
    torch.save({**cks[0], "model": avg}, out)
    print(f"{out}: " + " + ".join(f"{s} x {p}" for (p, _), s in zip(parts, shares)))


if __name__ == "__main__":
    main()
