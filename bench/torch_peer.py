"""PyTorch timings of the bench/cases.ts cases, for ratios against `deno task bench`.

Run by hand (never in tests): /usr/bin/python3 bench/torch_peer.py [--threads 2] [--json]
`--json` prints one object per line (case, median_ms, ...): `deno task bench:peers --torch FILE`
reads such a file and shows these figures beside symgrad, jax-js and TF.js.
Cases (same ids as bench/cases.ts): matmul 256³ and 512³, conv2d 16·64·32² → 64 3×3 padding 1
forward and forward+backward (input and weight gradients), and one AdamW step of the MNIST
example CNN (batch 64); RBN 32·64·32² forward and forward+backward in training mode (cases
`rbn_32x64x32x32_fwd` / `_fwdbwd`, loss sum(Y·G), gradients of the input and the five
parameters), with tools/fixtures/rbn_reference.py's module. The CNN uses torch's BatchNorm2d where symgrad's uses
RepresentativeBatchNorm2d (no PyTorch equivalent): a comparable amount of work per layer.
Timing follows bench/timing.ts: warm-up for at least 5 steps and 1 s, then at least 5 steps
and 1.5 s (at most 50), median / min / max in milliseconds.
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def time_step(step, min_ms=1500.0):
    warm = time.perf_counter()
    i = 0
    while i < 5 or (time.perf_counter() - warm) < 1.0:
        step()
        i += 1
    times = []
    start = time.perf_counter()
    while len(times) < 5 or ((time.perf_counter() - start) * 1000 < min_ms and len(times) < 50):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times), max(times)


def matmul(n):
    g = torch.Generator().manual_seed(1)
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    return f"matmul_{n}", 2 * n**3, lambda: a @ b


def conv(mode):
    n, cin, h, w, cout, k = 16, 64, 32, 32, 64, 3
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, cin, h, w, generator=g, requires_grad=True)
    wt = (torch.randn(cout, cin, k, k, generator=g) * 0.05).requires_grad_(True)
    gy = torch.randn(n, cout, h, w, generator=g)
    forward = 2 * n * cout * h * w * cin * k * k

    def fwd():
        with torch.no_grad():
            return F.conv2d(x, wt, padding=1)

    def fwdbwd():
        y = F.conv2d(x, wt, padding=1)
        return torch.autograd.grad((y * gy).sum(), [x, wt])

    step = fwd if mode == "fwd" else fwdbwd
    flops = forward if mode == "fwd" else 3 * forward
    return f"conv2d_{n}x{cin}x{h}x{w}_{cout}_{k}x{k}_{mode}", flops, step


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.norm1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.norm2 = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.norm1(self.conv1(x))), 2)
        g = F.max_pool2d(F.relu(self.norm2(self.conv2(h))), 2)
        return self.fc(g.reshape(x.shape[0], -1))


def mnist_step(batch=64):
    torch.manual_seed(0)
    model = SmallCnn()
    opt = torch.optim.AdamW(model.parameters(), lr=0.002)
    x = torch.randn(batch, 1, 28, 28)
    y = torch.tensor([(i * 7) % 10 for i in range(batch)])

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return f"mnist_step_b{batch}", None, step


def rbn_forward(x, wm, wv, wb, gamma, beta, eps=1e-5):
    x = x + wm * x.mean((2, 3), keepdim=True)
    z = F.batch_norm(x, None, None, None, None, True, 0.0, eps)
    return gamma * torch.sigmoid(wv * z.mean((2, 3), keepdim=True) + wb) * z + beta


def rbn(mode, shape=(32, 64, 32, 32)):
    n, c, h, w = shape
    g = torch.Generator().manual_seed(1)
    params = [(mean + 0.1 * torch.randn(1, c, 1, 1, generator=g)).requires_grad_(True)
              for mean in (0.0, 0.0, 0.0, 1.0, 0.0)]
    x = torch.randn(n, c, h, w, generator=g, requires_grad=True)
    gy = torch.randn(n, c, h, w, generator=g)

    def fwd():
        with torch.no_grad():
            return rbn_forward(x, *params)

    def fwdbwd():
        y = rbn_forward(x, *params)
        return torch.autograd.grad((y * gy).sum(), [x, *params])

    return f"rbn_{n}x{c}x{h}x{w}_{mode}", None, fwd if mode == "fwd" else fwdbwd


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for case_id, flops, step in [matmul(256), matmul(512), conv("fwd"), conv("fwdbwd"),
                                 mnist_step(), rbn("fwd"), rbn("fwdbwd")]:
        median, lo, hi = time_step(step)
        row = {"case": case_id, "median_ms": median, "min_ms": lo, "max_ms": hi,
               "backend": f"torch {torch.__version__} ({args.threads} threads)"}
        if flops is not None:
            row["gflops"] = flops / median / 1e6
        if args.json:
            print(json.dumps(row))
        else:
            extra = f"  {row['gflops']:.1f} GFLOP/s" if flops is not None else ""
            print(f"{case_id:42s} {median:9.2f} ms (min {lo:.2f}, max {hi:.2f}){extra}")


if __name__ == "__main__":
    main()
