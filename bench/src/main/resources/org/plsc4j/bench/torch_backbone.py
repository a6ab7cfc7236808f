"""PyTorch twin of plsc4j's built-in backbones for `plsc4j bench backbone` (same run, alternated).

Mirrors org.plsc4j.worker.internal.ResNetModel / SmallCnnModel / MlpModel layer for layer: convs
without bias, BatchNorm eps 2e-5 (momentum 0.9 in Paddle's convention = 0.1 here), PReLU with ONE
alpha per layer (Paddle mode "all"), head BN -> dropout 0.4 -> FC -> BN1d. Prints one JSON line:
parameter count, per-iteration train and inference milliseconds, peak RSS (VmHWM).

Train step = forward + backward from an upstream embedding gradient + SGD momentum 0.9 (weight decay
5e-4), as the JVM side does. Usage: python3 torch_backbone.py MODEL IMAGE BATCH EMB WARMUP ITERS SEED
"""
import json
import sys

import torch
import torch.nn as nn

EPS = 2e-5
BN_MOMENTUM = 0.1


def bn2d(c):
    return nn.BatchNorm2d(c, eps=EPS, momentum=BN_MOMENTUM)


def halve(s):
    return (s - 1) // 2 + 1


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = bn2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
        self.bn2 = bn2d(cout)
        self.prelu1 = nn.PReLU(1)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride, 1, bias=False)
        self.bn3 = bn2d(cout)
        self.short = None
        if cin != cout or stride != 1:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), bn2d(cout))

    def forward(self, x):
        y = self.bn3(self.conv2(self.prelu1(self.bn2(self.conv1(self.bn1(x))))))
        return (x if self.short is None else self.short(x)) + y


class ResNet(nn.Module):
    FILTERS = [64, 128, 256, 512]

    def __init__(self, depth, size, emb):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), bn2d(64), nn.PReLU(1))
        blocks, cin, h = [], 64, size
        for s, d in enumerate(depth):
            for i in range(d):
                blocks.append(Block(cin, self.FILTERS[s], 2 if i == 0 else 1))
                cin = self.FILTERS[s]
            h = halve(h)
        self.blocks = nn.Sequential(*blocks)
        self.head_bn = bn2d(cin)
        self.dropout = nn.Dropout(0.4)
        self.fc = nn.Linear(cin * h * h, emb)
        self.bn_emb = nn.BatchNorm1d(emb, eps=EPS, momentum=BN_MOMENTUM)

    def forward(self, x):
        x = self.head_bn(self.blocks(self.stem(x)))
        return self.bn_emb(self.fc(torch.flatten(self.dropout(x), 1)))


class Small(nn.Module):
    CHANNELS = [16, 32, 64, 128]

    def __init__(self, size, emb):
        super().__init__()
        layers, cin = [], 3
        for c in self.CHANNELS:
            layers += [nn.Conv2d(cin, c, 3, 2, 1, bias=False), bn2d(c), nn.ReLU()]
            cin = c
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, emb)
        self.bn_emb = nn.BatchNorm1d(emb, eps=EPS, momentum=BN_MOMENTUM)

    def forward(self, x):
        return self.bn_emb(self.fc(self.features(x).mean((2, 3))))


class Mlp(nn.Module):
    def __init__(self, size, emb):
        super().__init__()
        self.fc1 = nn.Linear(3 * size * size, 128)
        self.fc2 = nn.Linear(128, emb)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(torch.flatten(x, 1))))


DEPTHS = {"ResNet50": [3, 4, 14, 3], "ResNet100": [3, 13, 30, 3], "ResNet101": [3, 4, 23, 3],
          "ResNet152": [3, 8, 36, 3]}


def build(name, size, emb):
    if name in DEPTHS:
        return ResNet(DEPTHS[name], size, emb)
    if name == "small":
        return Small(size, emb)
    if name == "mlp":
        return Mlp(size, emb)
    raise SystemExit("model : %s (expected one of %s, small, mlp)" % (name, ", ".join(DEPTHS)))


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return None


def main():
    name, size, batch, emb, warmup, iters, seed = sys.argv[1], *map(int, sys.argv[2:8])
    torch.manual_seed(seed)
    model = build(name, size, emb)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=5e-4)
    x = torch.rand(batch, 3, size, size) - 0.5
    g = (torch.rand(batch, emb) - 0.5) * 1e-3
    import time

    def train_step():
        model.train()
        opt.zero_grad(set_to_none=False)
        model(x).backward(g)
        opt.step()

    def infer_step():
        model.eval()
        with torch.no_grad():
            model(x)

    train_ms, infer_ms = [], []
    for i in range(warmup + iters):
        t0 = time.perf_counter()
        train_step()
        if i >= warmup:
            train_ms.append((time.perf_counter() - t0) * 1e3)
    for i in range(warmup + iters):
        t0 = time.perf_counter()
        infer_step()
        if i >= warmup:
            infer_ms.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"params": params, "train_ms": train_ms, "infer_ms": infer_ms, "peak_rss_mb": peak_rss_mb(),
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
