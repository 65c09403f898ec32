"""Trains Glia's ResUNet segmenter with DistributedDataParallel, writing files Glia loads unchanged.

    torchrun --nproc_per_node N -m glia_torch.train --data kaggle_3m --split split.json --out run

One process per GPU (NCCL), or per CPU process (gloo) where there is no GPU. The defaults are Glia's
segmenter recipe (glia_torch.recipe.SEGMENTER_DEFAULTS): 40 epochs, batch 16 per process, Adam lr
1e-3, cosine to 1 % per step, Dice + BCE, 128 px (area-averaged from 256), augmentation, half of every
batch tumor slices. The global batch is N x --batch-size; the learning rate is not scaled with it.

The out folder gets, from rank 0:
  split.json          the patients (the one given, else made from the fractions and seed)
  last.pt             model, optimizer, epoch and history: `--resume` continues from it
  last.safetensors    the model after the latest epoch, in Glia's format
  best.safetensors    the epoch with the highest validation per-volume Dice
  model.safetensors   a copy of best: give it to `glia eval --segmenter`, `glia predict`, the workstation
  history.jsonl       one line per epoch
"""
import argparse
import json
import os
import shutil
import sys
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from . import data, recipe
from .checkpoint import save_glia
from .models import ResUNet


def arguments(argv=None):
    d = recipe.SEGMENTER_DEFAULTS
    a = argparse.ArgumentParser(prog="glia_torch.train", description=__doc__.split("\n\n")[0])
    a.add_argument("--data", required=True, help="kaggle_3m folder or seed CSV")
    a.add_argument("--out", required=True, help="run folder (created)")
    a.add_argument("--split", help="Glia split.json to train on (else made from the fractions and seed)")
    a.add_argument("--epochs", type=int, default=d["epochs"])
    a.add_argument("--batch-size", type=int, default=d["batchSize"], help="per process")
    a.add_argument("--lr", type=float, default=d["learningRate"])
    a.add_argument("--weight-decay", type=float, default=d["weightDecay"])
    a.add_argument("--seed", type=int, default=d["seed"])
    a.add_argument("--patience", type=int, default=None, help="epochs without a better validation Dice "
                   "before stopping (default: the epoch count, i.e. off)")
    a.add_argument("--train-fraction", type=float, default=d["trainFraction"])
    a.add_argument("--validation-fraction", type=float, default=d["validationFraction"])
    a.add_argument("--tumor-fraction", type=float, default=d["tumorFraction"])
    a.add_argument("--no-augment", action="store_true")
    a.add_argument("--image-size", type=int, default=d["imageSize"], help="a divisor of 256, multiple of 16")
    a.add_argument("--loss", choices=recipe.LOSSES, default=d["loss"])
    a.add_argument("--schedule", choices=recipe.SCHEDULES, default=d["schedule"])
    a.add_argument("--max-steps-per-epoch", type=int, default=0, help="0 = whole epochs")
    a.add_argument("--workers", type=int, default=2, help="data-loading processes per rank")
    a.add_argument("--sync-bn", action="store_true", help="BatchNorm statistics over the global batch")
    a.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    a.add_argument("--backend", choices=("auto", "nccl", "gloo"), default="auto")
    args = a.parse_args(argv)
    if args.image_size < 16 or 256 % args.image_size or args.image_size % 16:
        a.error(f"--image-size {args.image_size}: must divide 256 and be a multiple of 16 (e.g. 256, 128, 64)")
    if args.patience is None:
        args.patience = args.epochs
    return args


def run_configuration(args):
    """Glia's RunConfiguration fields for glia.run (Glia reads the input size and recipe from it)."""
    return {**recipe.SEGMENTER_DEFAULTS, "dataPath": os.path.abspath(args.data), "epochs": args.epochs,
            "batchSize": args.batch_size, "learningRate": args.lr, "weightDecay": args.weight_decay,
            "seed": args.seed, "patience": args.patience, "trainFraction": args.train_fraction,
            "validationFraction": args.validation_fraction, "tumorFraction": args.tumor_fraction,
            "augment": not args.no_augment, "imageSize": args.image_size,
            "maxStepsPerEpoch": args.max_steps_per_epoch, "loss": args.loss, "schedule": args.schedule,
            **({"splitPath": os.path.abspath(args.split)} if args.split else {})}


def setup(backend):
    """(rank, world size, device): joins the torchrun group, or runs alone without torchrun."""
    if "RANK" not in os.environ:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return 0, 1, device
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    local = int(os.environ.get("LOCAL_RANK", 0))
    if backend == "nccl":
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    dist.init_process_group(backend)
    return dist.get_rank(), dist.get_world_size(), device


def split_of(args, records):
    path = os.path.join(args.out, "split.json")
    if os.path.exists(path):
        return data.read_split(path)
    if args.split:
        return data.read_split(args.split)
    return data.make_split([r.patient for r in records], args.train_fraction, args.validation_fraction, args.seed)


@torch.no_grad()
def validate(model, records, size, loss_kind, device, batch=16):
    """(mean loss, per-volume Dice mean) on the validation slices at the model's size."""
    model.eval()
    ds = data.SliceDataset(records)
    volumes, loss_sum, n = recipe.VolumeDice(), 0.0, 0
    for x, y, idx in torch.utils.data.DataLoader(ds, batch_size=batch):
        x, y = data.resized(x.to(device), y.to(device), size)
        p = model(x)
        loss_sum += float(recipe.loss(loss_kind, p, y)) * len(idx)
        n += len(idx)
        for k, i in enumerate(idx.tolist()):
            volumes.add(records[i].patient, (p[k] > 0.5).cpu().numpy(), (y[k] > 0.5).cpu().numpy())
    model.train()
    return loss_sum / max(n, 1), volumes.mean()


def main(argv=None):
    args = arguments(argv)
    rank, world, device = setup(args.backend)
    torch.manual_seed(args.seed)
    try:
        records = data.index(args.data)
        os.makedirs(args.out, exist_ok=True)
        split = split_of(args, records)
    except data.DataError as e:
        print(f"glia_torch.train: {e}", file=sys.stderr)
        return 2
    parts = {k: [r for r in records if r.patient in set(split[k])] for k in ("train", "validation")}
    if not parts["train"] or not parts["validation"]:
        print(f"glia_torch.train: {args.data}: the split has no training or no validation slices", file=sys.stderr)
        return 2
    if rank == 0 and not os.path.exists(os.path.join(args.out, "split.json")):
        with open(os.path.join(args.out, "split.json"), "w", encoding="utf-8") as f:
            json.dump(split, f, indent=2, sort_keys=True)

    model = ResUNet().to(device)
    if args.sync_bn and world > 1:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    opt = recipe.optimizer(model, args.lr, args.weight_decay)
    start, history, best = 1, [], -1.0
    last_pt = os.path.join(args.out, "last.pt")
    if args.resume:
        if not os.path.exists(last_pt):
            print(f"glia_torch.train: {last_pt}: nothing to resume", file=sys.stderr)
            return 2
        state = torch.load(last_pt, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start, history, best = state["epoch"] + 1, state["history"], state["best"]
    net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) \
        if world > 1 else model

    train_set = data.SliceDataset(parts["train"], augment=not args.no_augment, seed=args.seed)
    try:
        sampler = data.BalancedDistributedSampler(train_set, args.batch_size, args.tumor_fraction, world, rank,
                                                  args.seed)
    except data.DataError as e:
        print(f"glia_torch.train: {args.data}: {e}", file=sys.stderr)
        return 2
    loader = torch.utils.data.DataLoader(train_set, batch_size=args.batch_size, sampler=sampler,
                                         num_workers=args.workers, pin_memory=device.type == "cuda",
                                         drop_last=True)
    steps = sampler.steps if args.max_steps_per_epoch <= 0 else min(sampler.steps, args.max_steps_per_epoch)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.1, patience=2) \
        if args.schedule == "plateau" else None
    run = run_configuration(args)
    since_best = 0
    for epoch in range(start, args.epochs + 1):
        sampler.set_epoch(epoch)
        train_set.epoch = epoch
        began, loss_sum, seen = time.time(), 0.0, 0
        net.train()
        for step, (x, y, _) in enumerate(loader):
            if step >= steps:
                break
            if plateau is None:
                for group in opt.param_groups:
                    group["lr"] = recipe.cosine_rate(args.lr, (epoch - 1) * steps + step, args.epochs * steps)
            x, y = data.resized(x.to(device, non_blocking=True), y.to(device, non_blocking=True), args.image_size)
            opt.zero_grad(set_to_none=True)
            value = recipe.loss(args.loss, net(x), y)
            value.backward()
            opt.step()
            loss_sum += float(value.detach()) * len(x)
            seen += len(x)
        elapsed = time.time() - began
        totals = torch.tensor([loss_sum, float(seen)], dtype=torch.float64, device=device)
        if world > 1:
            dist.all_reduce(totals)
        record = {"epoch": epoch, "train_loss": float(totals[0] / max(totals[1], 1)), "images": int(totals[1]),
                  "images_per_s": float(totals[1]) / max(elapsed, 1e-9), "lr": opt.param_groups[0]["lr"],
                  "world_size": world}
        verdict = torch.zeros(1, device=device)
        if rank == 0:
            record["val_loss"], record["val_dice"] = validate(model, parts["validation"], args.image_size,
                                                              args.loss, device)
            history.append(record)
            improved = record["val_dice"] > best
            best, since_best = (record["val_dice"], 0) if improved else (best, since_best + 1)
            save_epoch(model, opt, args, run, epoch, history, best, improved, world)
            print(json.dumps(record), flush=True)
            if since_best >= args.patience:
                verdict[0] = 1
        if plateau is not None:
            plateau.step(history[-1]["val_loss"] if rank == 0 else 0.0)
        if world > 1:
            dist.broadcast(verdict, 0)
            if plateau is not None:
                rate = torch.tensor([opt.param_groups[0]["lr"]], device=device)
                dist.broadcast(rate, 0)
                for group in opt.param_groups:
                    group["lr"] = float(rate[0])
        if verdict[0] > 0:
            break
    if rank == 0:
        shutil.copyfile(os.path.join(args.out, "best.safetensors"), os.path.join(args.out, "model.safetensors"))
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return 0


def save_epoch(model, opt, args, run, epoch, history, best, improved, world):
    """last.pt (to resume), last.safetensors and, when the epoch improved, best.safetensors; each
    written to a temporary name and renamed, so a killed run never leaves half a file."""
    plain = ResUNet()
    plain.load_state_dict(model.state_dict())  # a SyncBatchNorm model's names are the same
    meta = {"glia.source": "glia-torch", "glia.torch.worldSize": str(world), "glia.torch.epoch": str(epoch),
            "glia.torch.version": torch.__version__}
    for name in ["last.safetensors"] + (["best.safetensors"] if improved else []):
        path = os.path.join(args.out, name)
        save_glia(plain, path + ".tmp", run=run, metadata=meta)
        os.replace(path + ".tmp", path)
    last_pt = os.path.join(args.out, "last.pt")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch, "history": history,
                "best": best, "run": run}, last_pt + ".tmp")
    os.replace(last_pt + ".tmp", last_pt)
    with open(os.path.join(args.out, "history.jsonl"), "w", encoding="utf-8") as f:
        f.writelines(json.dumps(h) + "\n" for h in history)


if __name__ == "__main__":
    sys.exit(main())
