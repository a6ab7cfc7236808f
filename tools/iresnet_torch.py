#!/usr/bin/env python3
"""PyTorch mirror of gpu-worker's ResNetModel (PLSC/insightface IR ResNet), the yardstick of
issue 12. Same layers and parameter count: BN-conv3x3-BN-PReLU(1 alpha)-conv3x3(stride)-BN plus a
shortcut (1x1 conv(stride)+BN when the shape changes), stem conv3x3 s1 64 + BN + PReLU, head
BN-dropout0.4-FC(emb)-BN1d; BN eps 2e-5, momentum 0.9 (Paddle) = 0.1 (PyTorch).

usage: OMP_NUM_THREADS=2 python3 tools/iresnet_torch.py --mode train|infer --batch 16 --steps 5
prints one JSON line: median/min/max step seconds, images/s, peak RSS MiB, parameter count.
"""
import argparse, json, resource, statistics, time
import torch
import torch.nn as nn

DEPTHS = {"ResNet50": [3, 4, 14, 3], "ResNet100": [3, 13, 30, 3],
          "ResNet101": [3, 4, 23, 3], "ResNet152": [3, 8, 36, 3]}


def bn2d(c):
    return nn.BatchNorm2d(c, eps=2e-5, momentum=0.1)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.body = nn.Sequential(bn2d(cin), nn.Conv2d(cin, cout, 3, 1, 1, bias=False), bn2d(cout),
                                  nn.PReLU(1), nn.Conv2d(cout, cout, 3, stride, 1, bias=False), bn2d(cout))
        self.short = None
        if cin != cout or stride != 1:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), bn2d(cout))

    def forward(self, x):
        s = x if self.short is None else self.short(x)
        return s + self.body(x)


class IResNet(nn.Module):
    def __init__(self, depth, emb=512, size=112):
        super().__init__()
        layers = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), bn2d(64), nn.PReLU(1)]
        cin, h = 64, size
        for s, (f, d) in enumerate(zip([64, 128, 256, 512], depth)):
            for i in range(d):
                layers.append(Block(cin, f, 2 if i == 0 else 1))
                cin = f
            h = (h - 1) // 2 + 1
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(bn2d(cin), nn.Dropout(0.4), nn.Flatten(), nn.Linear(cin * h * h, emb),
                                  nn.BatchNorm1d(emb, eps=2e-5, momentum=0.1))

    def forward(self, x):
        return self.head(self.features(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="ResNet50")
    ap.add_argument("--mode", default="train")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = IResNet(DEPTHS[a.model], size=a.size)
    nparams = sum(p.numel() for p in net.parameters())
    x = torch.randn(a.batch, 3, a.size, a.size)
    g = torch.randn(a.batch, 512)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    times = []
    for step in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        if a.mode == "train":
            net.train()
            opt.zero_grad(set_to_none=False)
            emb = net(x)
            emb.backward(g)
            opt.step()
        else:
            net.eval()
            with torch.no_grad():
                net(x)
        dt = time.perf_counter() - t0
        if step >= a.warmup:
            times.append(dt)
    med = statistics.median(times)
    print(json.dumps({"engine": "pytorch", "model": a.model, "mode": a.mode, "batch": a.batch, "size": a.size,
                      "median_s": round(med, 4), "min_s": round(min(times), 4), "max_s": round(max(times), 4),
                      "img_per_s": round(a.batch / med, 3), "params": nparams,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
