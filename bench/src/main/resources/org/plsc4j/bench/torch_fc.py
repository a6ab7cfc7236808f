"""PyTorch baseline of `plsc4j bench fc --baseline torch`: a Partial FC step written the way
insightface's arcface_torch writes it, driven step by step by the JVM so that the two sides alternate.

The step (arcface_torch's PartialFC, sampling as its `sample()`, update as its SGD on the activated
rows): sample the class centers (every positive kept, the rest drawn at random, num_sample =
max(positives, floor(r * C)); r = 1 uses the whole weight), normalise the features and the sampled
weight rows, linear, ArcFace margin cos(theta + m2) on the target logit (insightface's fallback
cos - m2 * sin(pi - m2) past theta > pi - m2), scale s, cross entropy (mean over the batch), autograd,
then torch.optim.SGD(lr, momentum, weight_decay) on the sampled rows (v = mu * v + g + wd * w;
w -= lr * v), the rows and their momentum written back. The features come from the backbone and
require grad, so dL/dx is computed as plsc4j's step computes it.

Same inputs as plsc4j: features [B, D] float32, labels [B] int32 and the initial weights [C, D]
float32 are read from raw little-endian files the JVM wrote.

Usage: python3 torch_fc.py FEATURES LABELS WEIGHTS C D B RATIO S M2 LR MOMENTUM WD THREADS SEED
Protocol: prints {"ready": ...}; then per stdin line "step" prints {"ms", "loss", "sampled"}; "quit"
prints {"peak_rss_mb"} and exits. One JSON object per line on stdout.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F


def peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class PartialFC:
    def __init__(self, weight, ratio, s, m2, lr, momentum, wd):
        self.weight = weight
        self.weight_mom = torch.zeros_like(weight)
        self.num_local = weight.shape[0]
        self.num_sample = max(1, int(math.floor(ratio * self.num_local)))
        self.full = ratio == 1.0
        self.s = s
        self.cos_m = math.cos(m2)
        self.sin_m = math.sin(m2)
        self.th = math.cos(math.pi - m2)
        self.mm = math.sin(math.pi - m2) * m2
        self.lr, self.momentum, self.wd = lr, momentum, wd
        if self.full:
            self.weight.requires_grad_(True)
            self.opt = torch.optim.SGD([self.weight], lr=lr, momentum=momentum, weight_decay=wd)

    def sample(self, labels):
        positive = torch.unique(labels, sorted=True)
        if self.num_sample - positive.size(0) >= 0:
            perm = torch.rand(size=[self.num_local])
            perm[positive] = 2.0
            index = torch.topk(perm, k=self.num_sample)[1]
            index = index.sort()[0]
        else:
            index = positive
        return index, torch.searchsorted(index, labels)

    def margin(self, logits, labels):
        """ArcFace on the target logit, the derivative through cos(theta + m2) kept (as plsc4j's step)."""
        rows = torch.arange(logits.size(0))
        target = logits[rows, labels]
        sin = (1.0 - target * target).clamp_min(1e-12).sqrt()
        phi = target * self.cos_m - sin * self.sin_m
        phi = torch.where(target > self.th, phi, target - self.mm)
        logits = logits.index_put((rows, labels), phi)
        return logits * self.s

    def step(self, features, labels):
        x = features.detach().clone().requires_grad_(True)
        if self.full:
            w, y = self.weight, labels
            self.opt.zero_grad(set_to_none=True)
        else:
            index, y = self.sample(labels)
            w = self.weight.detach()[index].requires_grad_(True)
        norm_x = F.normalize(x)
        norm_w = F.normalize(w)
        logits = F.linear(norm_x, norm_w).clamp(-1, 1)
        loss = F.cross_entropy(self.margin(logits, y), y)
        loss.backward()
        if self.full:
            self.opt.step()
            sampled = self.num_local
        else:
            opt = torch.optim.SGD([w], lr=self.lr, momentum=self.momentum, weight_decay=self.wd)
            opt.state[w]["momentum_buffer"] = self.weight_mom[index]
            opt.step()
            with torch.no_grad():
                self.weight[index] = w
                self.weight_mom[index] = opt.state[w]["momentum_buffer"]
            sampled = int(index.numel())
        return float(loss.item()), x.grad, sampled


def main():
    a = sys.argv[1:]
    features_path, labels_path, weights_path = a[0], a[1], a[2]
    c, d, b = int(a[3]), int(a[4]), int(a[5])
    ratio, s, m2, lr, momentum, wd = map(float, a[6:12])
    threads, seed = int(a[12]), int(a[13])
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    features = torch.from_file(features_path, shared=False, size=b * d, dtype=torch.float32).view(b, d)
    labels = torch.from_file(labels_path, shared=False, size=b, dtype=torch.int32).long()
    weight = torch.from_file(weights_path, shared=False, size=c * d, dtype=torch.float32).view(c, d)
    fc = PartialFC(weight, ratio, s, m2, lr, momentum, wd)
    say({"ready": True, "version": torch.__version__, "threads": torch.get_num_threads(),
         "load_ms": (time.perf_counter() - t0) * 1e3})
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "step":
            t = time.perf_counter()
            loss, _, sampled = fc.step(features, labels)
            say({"ms": (time.perf_counter() - t) * 1e3, "loss": loss, "sampled": sampled})
        elif cmd == "quit":
            break
        else:
            raise SystemExit("command : %r (expected: step or quit)" % cmd)
    say({"peak_rss_mb": peak_rss_mb()})


if __name__ == "__main__":
    main()
