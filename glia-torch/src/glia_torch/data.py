"""The dataset as Glia reads it: a kaggle_3m folder (or the seed's CSV), patient-level splits
(Glia's split.json), 256x256 slices scaled to [0, 1], Glia's augmentation and tumor oversampling.

- kaggle_3m: root/<patient>/<patient>_<n>.tif with <patient>_<n>_mask.tif; hidden files and files
  that do not follow the naming are skipped, slices without a mask are not used (as Glia).
- Seed CSV: a .csv in the folder (or the file itself) with patient_id, image_path, mask_path columns,
  paths relative to the CSV's folder; the `mask` flag column is not trusted (tumor comes from pixels).
- Images come back as 3 channels (gray repeated), resized bilinearly to 256x256 when they are not;
  masks as 0/1 (any nonzero sample is tumor), resized nearest.
"""
import csv
import json
import math
import os
import re

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

SIDE = 256
_SLICE = re.compile(r"^(?P<prefix>.+)_(?P<n>[0-9]+)(?P<mask>_mask)?\.tiff?$", re.IGNORECASE)
_REQUIRED = ("patient_id", "image_path", "mask_path")


class DataError(Exception):
    """Unusable data; the message is one line naming the path."""


class SliceRecord:
    __slots__ = ("patient", "number", "image", "mask")

    def __init__(self, patient, number, image, mask):
        self.patient, self.number, self.image, self.mask = patient, number, image, mask


def index(path):
    """Slice records (with a mask) in patient, slice-number order, from a kaggle_3m folder or a seed CSV."""
    if os.path.isfile(path) and path.lower().endswith(".csv"):
        return _index_csv(path)
    if not os.path.isdir(path):
        raise DataError(f"{path}: no such folder or CSV file")
    for name in sorted(os.listdir(path)):
        if name.lower().endswith(".csv") and not name.startswith(".") and name.lower() != "data.csv":
            if _csv_columns(os.path.join(path, name)) >= set(_REQUIRED):
                return _index_csv(os.path.join(path, name))
    records = []
    for patient in sorted(os.listdir(path)):
        folder = os.path.join(path, patient)
        if patient.startswith(".") or not os.path.isdir(folder):
            continue
        images, masks = {}, {}
        for name in sorted(os.listdir(folder)):
            m = _SLICE.match(name)
            if name.startswith(".") or not m:
                continue
            target = masks if m.group("mask") else images
            target.setdefault(int(m.group("n")), os.path.join(folder, name))
        records += [SliceRecord(patient, n, images[n], masks[n]) for n in sorted(images) if n in masks]
    if not records:
        raise DataError(f"{path}: no usable slices (expected <patient>/<patient>_<n>.tif with _mask.tif)")
    return records


def _csv_columns(path):
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError):
        return set()
    return {c.strip().lower() for c in header}


def _index_csv(path):
    base = os.path.dirname(os.path.abspath(path))
    records, counts = [], {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f)
        header = [c.strip().lower() for c in next(rows, [])]
        if not set(_REQUIRED) <= set(header):
            raise DataError(f"{path}: the header lacks {', '.join(c for c in _REQUIRED if c not in header)}")
        col = {c: header.index(c) for c in _REQUIRED}
        for line, row in enumerate(rows, start=2):
            if len(row) < len(header):
                raise DataError(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
            patient = row[col["patient_id"]].strip()
            image, mask = (os.path.join(base, row[col[k]].strip()) for k in ("image_path", "mask_path"))
            m = _SLICE.match(os.path.basename(image))
            counts[patient] = counts.get(patient, 0) + 1
            records.append(SliceRecord(patient, int(m.group("n")) if m else counts[patient], image, mask))
    records.sort(key=lambda r: (r.patient, r.number))
    if not records:
        raise DataError(f"{path}: no rows")
    return records


def read_image(path):
    """uint8 [256, 256, 3]."""
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if im.size != (SIDE, SIDE):
                im = im.resize((SIDE, SIDE), Image.BILINEAR)
            return np.array(im, dtype=np.uint8)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable image ({e})") from None


def read_mask(path):
    """uint8 [256, 256], 0 or 1."""
    try:
        with Image.open(path) as im:
            a = np.array(im)
            if a.ndim == 3:
                a = a.max(axis=2)
            a = (a != 0).astype(np.uint8)
            if a.shape != (SIDE, SIDE):
                a = np.asarray(Image.fromarray(a).resize((SIDE, SIDE), Image.NEAREST), dtype=np.uint8)
            return a
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable mask ({e})") from None


# ---------------------------------------------------------------- splits
def read_split(path):
    """Glia's split.json: {"train": [...], "validation": [...], "test": [...], "fractions", "seed"}."""
    try:
        with open(path, encoding="utf-8") as f:
            split = json.load(f)
        parts = {k: list(split[k]) for k in ("train", "validation", "test")}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(f"{path}: not a split file ({type(e).__name__}: {e})") from None
    everyone = parts["train"] + parts["validation"] + parts["test"]
    if len(set(everyone)) != len(everyone):
        raise DataError(f"{path}: a patient appears in two parts")
    return {**split, **parts}


def make_split(patients, train=0.7, validation=0.15, seed=1):
    """A patient split stratified by institution (the second `_` field of the id), in the manner of
    Glia's: test drawn first, then validation, each part's size rounded from its fraction. Its random
    draws are PyTorch's, so for the same seed it differs from Glia's; pass Glia's split.json to train
    on exactly Glia's patients."""
    ids = sorted(set(patients))
    g = torch.Generator().manual_seed(seed)
    pools = {}
    for p in ids:
        fields = p.split("_")
        pools.setdefault(fields[1] if len(fields) > 2 else "", []).append(p)
    for code in pools:
        order = torch.randperm(len(pools[code]), generator=g).tolist()
        pools[code] = [pools[code][i] for i in order]
    sizes = {c: len(v) for c, v in pools.items()}
    parts = {}
    for part, fraction in (("test", 1 - train - validation), ("validation", validation)):
        total = int(round(max(0.0, fraction) * len(ids)))
        ideal = {c: fraction * sizes[c] for c in pools}
        take = {c: min(len(pools[c]), int(ideal[c])) for c in pools}
        for c in sorted(pools, key=lambda c: ideal[c] - int(ideal[c]), reverse=True) * 2:
            if sum(take.values()) >= total:
                break
            if take[c] < len(pools[c]):
                take[c] += 1
        parts[part] = sorted(p for c in pools for p in pools[c][:take[c]])
        for c in pools:
            pools[c] = pools[c][take[c]:]
    return {"fractions": [train, validation, 1 - train - validation], "seed": seed,
            "train": sorted(p for v in pools.values() for p in v), **parts}


# ---------------------------------------------------------------- augmentation
def draw_augmentation(g, flip=0.5, degrees=15.0, scale=0.05, brightness=0.1, contrast=0.1):
    """Glia's AugmentationConfiguration.standard: five uniform draws in a fixed order."""
    u = torch.rand(5, generator=g).tolist()
    return {"flip": u[0] < flip, "degrees": -degrees + 2 * degrees * u[1], "scale": 1 - scale + 2 * scale * u[2],
            "brightness": -brightness + 2 * brightness * u[3], "contrast": 1 - contrast + 2 * contrast * u[4]}


def augment(image, mask, p):
    """Glia's Augmentation.apply: one affine warp about the slice centre (flip, then rotation, then
    scale; bilinear for the image, nearest for the mask, black outside), then
    v' = clamp(round(v * contrast + brightness * 255)) on the image. image uint8 [H, W, 3], mask [H, W]."""
    h, w = mask.shape
    cx, cy = (w - 1) / 2, (h - 1) / 2
    t = math.radians(p["degrees"])
    a, b = math.cos(t) / p["scale"], math.sin(t) / p["scale"]
    c, d = -b, a
    if p["flip"]:
        a, b = -a, -b
    tx, ty = cx - a * cx - b * cy, cy - c * cx - d * cy
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    sx, sy = a * xs + b * ys + tx, c * xs + d * ys + ty
    grid = torch.stack([2 * sx / (w - 1) - 1, 2 * sy / (h - 1) - 1], -1)[None]
    img = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    img = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=True)[0]
    msk = F.grid_sample(torch.from_numpy(mask)[None, None].float(), grid, mode="nearest",
                        padding_mode="zeros", align_corners=True)[0, 0]
    img = (img.round() * p["contrast"] + p["brightness"] * 255).round().clamp(0, 255)
    return img.permute(1, 2, 0).to(torch.uint8).numpy(), msk.to(torch.uint8).numpy()


# ---------------------------------------------------------------- torch dataset
class SliceDataset(torch.utils.data.Dataset):
    """Slices of some patients: (image float [3, 256, 256] in [0, 1], mask float [1, 256, 256],
    index). Augmentation, when on, is drawn from (seed, epoch, index), so every rank and worker draws
    the same for the same sample; set `epoch` before each epoch."""

    def __init__(self, records, augment=False, seed=1):
        self.records = records
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        self._flags = None

    def __len__(self):
        return len(self.records)

    def tumor_flags(self):
        """Per record: whether its mask has tumor (read once; the oversampler needs it)."""
        if self._flags is None:
            self._flags = [bool(read_mask(r.mask).any()) for r in self.records]
        return self._flags

    def __getitem__(self, i):
        r = self.records[i]
        image, mask = read_image(r.image), read_mask(r.mask)
        if self.augment:
            g = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch * 7_919 + i) % (2 ** 63))
            image, mask = augment(image, mask, draw_augmentation(g))
        x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255
        y = torch.from_numpy(np.ascontiguousarray(mask))[None].float()
        return x, y, i


def resized(x, y, size):
    """A batch at the model's input size: area averaging (Glia's areaDownsample), masks re-binarised at 0.5."""
    factor = x.shape[-1] // size
    if factor <= 1:
        return x, y
    return F.avg_pool2d(x, factor), (F.avg_pool2d(y, factor) >= 0.5).float()


class BalancedDistributedSampler(torch.utils.data.distributed.DistributedSampler):
    """A DistributedSampler whose global batches of `batch_size * num_replicas` hold
    round(tumor_fraction * size) tumor slices, drawn from a reshuffled cycling stream of the tumor
    slices, the rest from the healthy ones (Glia's Loader oversampling); each rank takes its
    contiguous share of every global batch. tumor_fraction 0 shuffles as DistributedSampler does.
    The epoch keeps its natural number of global batches (the last partial one is dropped)."""

    def __init__(self, dataset, batch_size, tumor_fraction=0.0, num_replicas=None, rank=None, seed=0):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.batch_size = batch_size
        self.tumor_fraction = tumor_fraction
        self.global_batch = batch_size * self.num_replicas
        self.steps = len(dataset) // self.global_batch
        if self.steps < 1:
            raise DataError(f"{len(dataset)} training slices are fewer than one global batch of {self.global_batch}")
        self.flags = dataset.tumor_flags() if tumor_fraction > 0 else None

    def __len__(self):
        return self.steps * self.batch_size

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        n = len(self.dataset)
        if self.flags is None:
            order = torch.randperm(n, generator=g).tolist()
            batches = [order[s * self.global_batch:(s + 1) * self.global_batch] for s in range(self.steps)]
        else:
            tumor = _Stream([i for i in range(n) if self.flags[i]], g)
            healthy = _Stream([i for i in range(n) if not self.flags[i]], g)
            batches = []
            for _ in range(self.steps):
                k = int(round(self.tumor_fraction * self.global_batch))
                k = 0 if tumor.empty else (self.global_batch if healthy.empty else k)
                members = [tumor.next() for _ in range(k)] + [healthy.next() for _ in range(self.global_batch - k)]
                batches.append([members[j] for j in torch.randperm(len(members), generator=g).tolist()])
        lo, hi = self.rank * self.batch_size, (self.rank + 1) * self.batch_size
        return iter([i for batch in batches for i in batch[lo:hi]])


class _Stream:
    def __init__(self, items, g):
        self.items, self.g, self.position = items, g, len(items)

    @property
    def empty(self):
        return not self.items

    def next(self):
        if self.position == len(self.items):
            self.items = [self.items[j] for j in torch.randperm(len(self.items), generator=self.g).tolist()]
            self.position = 0
        self.position += 1
        return self.items[self.position - 1]
