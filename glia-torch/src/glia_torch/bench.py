"""PyTorch's side of `glia bench models`: the same models, head, losses, optimizer, batch, threads and
memory format as Glia's bench, timed the same way; prints one JSON object.

    python -m glia_torch.bench --models resunet,resnet18 --batch 16 --size 256 --threads 2

Train step = zero_grad + forward (train mode) + loss + backward + Adam(1e-3) step; the ResUNet's
loss is focal Tversky against a centred disc per image, the classifiers' softmax cross-entropy on
labels 0, 1, 0, ...; frozen50 is the ResNet-50 feature pass alone. Inference = eval-mode forward
under no_grad. Each figure is the median of --reps timed runs after --warmup untimed ones; batch-1
latency the median of --latency-reps. Tensors are channels-last (NHWC in memory, as Glia's).
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

from .checkpoint import classifier
from .models import ResUNet
from .recipe import focal_tversky_loss

MODELS = ("resunet", "resnet18", "resnet50", "frozen50")


def timed(body, reps, warmup):
    for _ in range(warmup):
        body()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gemm_rate(n=2048, reps=5):
    """torch.mm GFLOP/s at n^2 (median after one warm-up): the in-run ceiling for convolutions."""
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(n, n, generator=g) * 2 - 1, torch.rand(n, n, generator=g) * 2 - 1
    return 2 * n ** 3 / timed(lambda: torch.mm(a, b), reps, 1) * 1e-9


def bench(kind, batch, size, reps, warmup, latency_reps, train):
    g = torch.Generator().manual_seed(7)
    x = torch.rand(batch, 3, size, size, generator=g).contiguous(memory_format=torch.channels_last)
    single = x[:1].contiguous(memory_format=torch.channels_last)
    if kind == "resunet":
        model = ResUNet()
        r = size / 6
        yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
        disc = (((yy - size / 2) ** 2 + (xx - size / 2) ** 2) <= r * r).float()
        target = disc.expand(batch, 1, size, size).contiguous(memory_format=torch.channels_last)

        def loss(out):
            return focal_tversky_loss(out, target)
    else:
        model = classifier("resnet18" if kind == "resnet18" else "resnet50", image_size=size)
        labels = torch.arange(batch) % 2

        def loss(out):
            return F.cross_entropy(out, labels)
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=False)
        loss(model(x)).backward()
        opt.step()

    forward = model.features if kind == "frozen50" else model

    def infer(t):
        with torch.no_grad():
            forward(t)

    result = {"model": kind, "train": None}
    if train and kind != "frozen50":
        model.train()
        result["train"] = batch / timed(step, reps, warmup)
    model.eval()
    result["inference"] = batch / timed(lambda: infer(x), reps, warmup)
    result["latency_ms"] = timed(lambda: infer(single), latency_reps, warmup) * 1000
    result["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    return result


def main(argv=None):
    a = argparse.ArgumentParser(prog="glia_torch.bench", description=__doc__.split("\n\n")[0])
    a.add_argument("--models", default=",".join(MODELS))
    a.add_argument("--batch", type=int, default=16)
    a.add_argument("--size", type=int, default=256)
    a.add_argument("--reps", type=int, default=3)
    a.add_argument("--warmup", type=int, default=1)
    a.add_argument("--latency-reps", type=int, default=5)
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--no-train", action="store_true")
    args = a.parse_args(argv)
    kinds = [m.strip().lower() for m in args.models.split(",") if m.strip()]
    unknown = [k for k in kinds if k not in MODELS]
    if unknown:
        print(f"glia_torch.bench: unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}",
              file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    gemm = [gemm_rate()]
    rows = []
    for kind in kinds:
        rows.append(bench(kind, args.batch, args.size, args.reps, args.warmup, args.latency_reps, not args.no_train))
        gemm.append(gemm_rate())
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "mkldnn": torch.backends.mkldnn.is_available(), "gemm_gflops": gemm, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
