"""Trains Glia's segmenter or classifier with DistributedDataParallel, writing files Glia loads unchanged.

    torchrun --nproc_per_node N -m glia_torch.train [segmenter] --data kaggle_3m --split split.json --out run
    torchrun --nproc_per_node N -m glia_torch.train classifier --data kaggle_3m --segmenter seg.safetensors --out run

One process per GPU (NCCL), or per CPU process (gloo) where there is no GPU. The defaults are Glia's
(glia_torch.recipe): the segmenter 40 epochs, batch 16 per process, Adam 1e-3 with a per-step cosine
to 1 %, Dice + BCE, 128 px (area-averaged from 256), augmentation, half of every batch tumor slices,
and, with --weight-average DECAY, a moving average of the weights that validation and the files use; the classifier
a ResNet-18 with the seed's head at 256 px, softmax cross-entropy, Adam 1e-3, ReduceLROnPlateau,
10 epochs stopping after 3 without a lower validation loss. With --segmenter the classifier is the
MaskGate on that segmenter file (Glia's `glia train classifier --segmenter`): its input size, the
split.json beside it, no augmentation, lr 0.05, reading the masks of 2 slices on either side. The
global batch is N x --batch-size; the learning rate is not scaled with it.

The out folder gets, from rank 0:
  split.json          the patients (the one given, else made from the fractions and seed)
  last.pt             model, optimizer, schedule, weight average, epoch and history: `--resume` continues
  last.safetensors    the model after the latest epoch, in Glia's format
  best.safetensors    the best epoch: highest validation per-volume Dice (segmenter), lowest
                      validation loss (classifier); a classifier's files hold the thresholds chosen
                      on validation (glia.threshold, and with a segmenter glia.gateThreshold)
  model.safetensors   a copy of best: give it to `glia eval`, `glia predict`, the workstation
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

from . import data, recipe, sessions
from .checkpoint import GliaFileError, classifier, read_metadata, run_image_size, save_glia


def arguments(argv=None):
    a = argparse.ArgumentParser(prog="glia_torch.train", description=__doc__.split("\n\n")[0])
    a.add_argument("recipe", nargs="?", choices=tuple(recipe.DEFAULTS), default="segmenter")
    a.add_argument("--data", required=True, help="kaggle_3m folder or seed CSV")
    a.add_argument("--out", required=True, help="run folder (created)")
    a.add_argument("--split", help="Glia split.json to train on (else made from the fractions and seed)")
    a.add_argument("--epochs", type=int)
    a.add_argument("--batch-size", type=int, help="per process")
    a.add_argument("--lr", type=float)
    a.add_argument("--weight-decay", type=float)
    a.add_argument("--seed", type=int)
    a.add_argument("--patience", type=int, help="epochs without a better validation figure before stopping "
                   "(classifier 3; segmenter: the epoch count, i.e. off)")
    a.add_argument("--train-fraction", type=float)
    a.add_argument("--validation-fraction", type=float)
    a.add_argument("--tumor-fraction", type=float, help="of each batch (segmenter 0.5, classifier 0 = natural)")
    a.add_argument("--no-augment", action="store_true")
    a.add_argument("--image-size", type=int, help="a divisor of 256 (segmenter 128, a multiple of 16; classifier 256)")
    a.add_argument("--loss", choices=recipe.LOSSES, help="segmenter loss")
    a.add_argument("--schedule", choices=recipe.SCHEDULES)
    a.add_argument("--weight-average", type=float, help="segmenter: decay of the weights' moving average, e.g. 0.998, 0 = off (0)")
    a.add_argument("--segmenter", help="classifier: a trained Glia segmenter file to gate on (the 'segmenter' backbone) "
                   "and to choose the pipeline's gate threshold with")
    a.add_argument("--neighbour-reach", type=int, help="classifier gate: slices on either side whose masks it reads (2)")
    a.add_argument("--backbone", choices=recipe.BACKBONES, help="classifier (resnet18; 'segmenter' with --segmenter)")
    a.add_argument("--freeze-backbone", action="store_true", help="classifier: train the head only")
    a.add_argument("--weights", help="classifier: torchvision-named backbone weights (.safetensors)")
    a.add_argument("--max-steps-per-epoch", type=int, default=0, help="0 = whole epochs")
    a.add_argument("--workers", type=int, default=2, help="data-loading processes per rank")
    a.add_argument("--sync-bn", action="store_true", help="segmenter: BatchNorm statistics over the global batch")
    a.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    a.add_argument("--backend", choices=("auto", "nccl", "gloo"), default="auto")
    args = a.parse_args(argv)
    try:
        _complete(args)
    except (ValueError, GliaFileError) as e:
        a.error(str(e))
    return args


def _complete(args):
    """Fills what was not given from the recipe's defaults and Glia's rules for a gated classifier."""
    d = recipe.DEFAULTS[args.recipe]
    given = {k: getattr(args, k) for k in ("lr", "image_size", "split", "backbone")}
    for name, key in (("epochs", "epochs"), ("batch_size", "batchSize"), ("lr", "learningRate"),
                      ("weight_decay", "weightDecay"), ("seed", "seed"), ("train_fraction", "trainFraction"),
                      ("validation_fraction", "validationFraction"), ("tumor_fraction", "tumorFraction"),
                      ("image_size", "imageSize"), ("loss", "loss"), ("schedule", "schedule"),
                      ("backbone", "backbone"), ("neighbour_reach", "neighbourReach"),
                      ("weight_average", "weightAverage")):
        if getattr(args, name) is None:
            setattr(args, name, d[key])
    if args.patience is None:
        args.patience = args.epochs if args.recipe == "segmenter" else d["patience"]
    args.augment = not args.no_augment
    if args.recipe == "segmenter":
        for option in ("segmenter", "weights"):
            if getattr(args, option):
                raise ValueError(f"--{option} is a classifier option")
        if args.image_size < 16 or 256 % args.image_size or args.image_size % 16:
            raise ValueError(f"--image-size {args.image_size}: must divide 256 and be a multiple of 16 (e.g. 256, 128, 64)")
        if not (args.weight_average == 0 or 0.5 <= args.weight_average < 1):
            raise ValueError(f"--weight-average must be 0 (off) or a decay in [0.5, 1), got {args.weight_average}")
        return
    if args.weight_average:
        raise ValueError("--weight-average is a segmenter option")
    if not 0 <= args.neighbour_reach <= 8:
        raise ValueError(f"--neighbour-reach must be in 0...8, got {args.neighbour_reach}")
    if args.segmenter:
        _gate_on(args, given)
    elif args.backbone == "segmenter":
        raise ValueError("the 'segmenter' backbone needs a trained segmenter (--segmenter FILE)")
    if args.freeze_backbone:
        args.augment = False  # as Glia: a frozen backbone's features are of un-augmented slices
    if args.backbone != "segmenter":
        if args.image_size < 1 or 256 % args.image_size:
            raise ValueError(f"--image-size {args.image_size}: must divide 256")
        if not _fits(args.backbone, args.image_size):
            smallest = next(s for s in (1 << k for k in range(9)) if _fits(args.backbone, s))
            raise ValueError(f"image size {args.image_size} is too small for the {args.backbone} classifier: "
                             f"use at least {smallest}")


def _fits(backbone, size):
    """Whether the backbone's features at `size` px still cover the head's pooling."""
    try:
        classifier(backbone, image_size=size)
        return True
    except GliaFileError:  # build() reports the Classifier's ValueError so
        return False


def _gate_on(args, given):
    """Glia's RunConfiguration.gate(on:): the split beside the segmenter file, and for the
    'segmenter' backbone (the default then) its input size, no augmentation and lr 0.05."""
    if not os.path.isfile(args.segmenter):
        raise ValueError(f"--segmenter {args.segmenter}: no such file")
    beside = os.path.join(os.path.dirname(os.path.abspath(args.segmenter)), "split.json")
    if given["split"] is None and os.path.exists(beside):
        args.split = beside
    if given["backbone"] is None:
        args.backbone = "segmenter"
    if args.backbone != "segmenter":
        return
    size = run_image_size(read_metadata(args.segmenter), args.segmenter)
    if given["image_size"] is not None and given["image_size"] != size:
        raise ValueError(f"image size {given['image_size']}: the segmenter {args.segmenter} runs at {size} px, "
                         "and so must its gate")
    args.image_size, args.augment = size, False
    if given["lr"] is None:
        args.lr = recipe.GATE_LEARNING_RATE


def run_configuration(args):
    """Glia's RunConfiguration fields for glia.run (Glia reads the input size and recipe from it)."""
    paths = {"splitPath": args.split, "segmenterPath": args.segmenter, "weightsPath": args.weights}
    return {**recipe.DEFAULTS[args.recipe], "dataPath": os.path.abspath(args.data), "epochs": args.epochs,
            "batchSize": args.batch_size, "learningRate": args.lr, "weightDecay": args.weight_decay,
            "seed": args.seed, "patience": args.patience, "trainFraction": args.train_fraction,
            "validationFraction": args.validation_fraction, "tumorFraction": args.tumor_fraction,
            "augment": args.augment, "imageSize": args.image_size, "maxStepsPerEpoch": args.max_steps_per_epoch,
            "loss": args.loss, "schedule": args.schedule, "backbone": args.backbone,
            "freezeBackbone": args.freeze_backbone, "neighbourReach": args.neighbour_reach,
            "weightAverage": args.weight_average,
            **{k: os.path.abspath(v) for k, v in paths.items() if v}}


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


def main(argv=None):
    args = arguments(argv)
    rank, world, device = setup(args.backend)
    torch.manual_seed(args.seed)
    try:
        records = data.index(args.data)
        os.makedirs(args.out, exist_ok=True)
        split = split_of(args, records)
        parts = {k: [r for r in records if r.patient in set(split[k])] for k in ("train", "validation")}
        if not parts["train"] or not parts["validation"]:
            raise data.DataError(f"{args.data}: the split has no training or no validation slices")
        session = sessions.make(args, parts, device, world, rank)
    except (data.DataError, GliaFileError) as e:
        print(f"glia_torch.train: {e}", file=sys.stderr)
        return 2
    if rank == 0 and not os.path.exists(os.path.join(args.out, "split.json")):
        with open(os.path.join(args.out, "split.json"), "w", encoding="utf-8") as f:
            json.dump(split, f, indent=2, sort_keys=True)

    start, history, best, since_best = 1, [], None, 0
    last_pt = os.path.join(args.out, "last.pt")
    if args.resume:
        if not os.path.exists(last_pt):
            print(f"glia_torch.train: {last_pt}: nothing to resume", file=sys.stderr)
            return 2
        state = torch.load(last_pt, map_location=device, weights_only=False)
        if "session" not in state or state.get("run", {}).get("recipe", "segmenter") != args.recipe:
            print(f"glia_torch.train: {last_pt}: not a {args.recipe} run of this glia-torch; start a new --out",
                  file=sys.stderr)
            return 2
        session.load_state_dict(state["session"])
        start, history, best, since_best = state["epoch"] + 1, state["history"], state["best"], state["since_best"]
    run = run_configuration(args)
    for epoch in range(start, args.epochs + 1):
        session.begin_epoch(epoch)
        began, loss_sum, seen = time.time(), 0.0, 0
        for step, batch in enumerate(session.batches(epoch)):
            if step >= session.steps:
                break
            if session.plateau is None:
                for group in session.opt.param_groups:
                    group["lr"] = recipe.cosine_rate(args.lr, (epoch - 1) * session.steps + step,
                                                     args.epochs * session.steps)
            value, n = session.train_step(batch)
            loss_sum += value * n
            seen += n
        elapsed = time.time() - began
        totals = torch.tensor([loss_sum, float(seen)], dtype=torch.float64, device=device)
        if world > 1:
            dist.all_reduce(totals)
        record = {"epoch": epoch, "train_loss": float(totals[0] / max(totals[1], 1)), "images": int(totals[1]),
                  "images_per_s": float(totals[1]) / max(elapsed, 1e-9), "lr": session.opt.param_groups[0]["lr"],
                  "world_size": world}
        # Rank 0 validates, steps its schedule (before saving it) and decides; the other ranks step
        # theirs on the same validation loss and stop with it.
        verdict = torch.zeros(2, dtype=torch.float64, device=device)
        if rank == 0:
            figures = session.validate()
            metric = figures.pop("metric")
            record.update(figures)
            history.append(record)
            improved = best is None or (metric > best if session.selection == "metric" else record["val_loss"] < best)
            if improved:
                best, since_best = (metric if session.selection == "metric" else record["val_loss"]), 0
            else:
                since_best += 1
            if session.plateau is not None:
                session.plateau.step(record["val_loss"])
            save_epoch(session, args, run, epoch, history, best, since_best, improved, world)
            print(json.dumps(record), flush=True)
            verdict[0] = 1 if since_best >= args.patience and epoch < args.epochs else 0
            verdict[1] = record["val_loss"]
        if world > 1:
            dist.broadcast(verdict, 0)
            if rank != 0 and session.plateau is not None:
                session.plateau.step(float(verdict[1]))
        if verdict[0] > 0:
            break
    if rank == 0:
        shutil.copyfile(os.path.join(args.out, "best.safetensors"), os.path.join(args.out, "model.safetensors"))
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return 0


def save_epoch(session, args, run, epoch, history, best, since_best, improved, world):
    """last.pt (to resume), last.safetensors and, when the epoch improved, best.safetensors; each
    written to a temporary name and renamed, so a killed run never leaves half a file."""
    module, extra = session.export()
    meta = {"glia.source": "glia-torch", "glia.torch.worldSize": str(world), "glia.torch.epoch": str(epoch),
            "glia.torch.version": torch.__version__, **extra}
    for name in ["last.safetensors"] + (["best.safetensors"] if improved else []):
        path = os.path.join(args.out, name)
        save_glia(module, path + ".tmp", run=run, metadata=meta)
        os.replace(path + ".tmp", path)
    last_pt = os.path.join(args.out, "last.pt")
    torch.save({"session": session.state_dict(), "epoch": epoch, "history": history, "best": best,
                "since_best": since_best, "run": run}, last_pt + ".tmp")
    os.replace(last_pt + ".tmp", last_pt)
    with open(os.path.join(args.out, "history.jsonl"), "w", encoding="utf-8") as f:
        f.writelines(json.dumps(h) + "\n" for h in history)


if __name__ == "__main__":
    sys.exit(main())
