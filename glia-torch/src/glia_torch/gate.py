"""What the classifier recipe computes once from a trained segmenter (ClassifierSession.swift):

- the MaskGate's inputs per slice, (a, max p) of the frozen segmenter's mask and, with a neighbour
  reach r, n = the largest a among the slices within r on either side in the same volume (the
  slice's own a when none is there); the segmenter sees the un-augmented slice at its input size;
- the segmenter's masks as the two-stage pipeline draws them (probabilities brought back to 256 px
  bilinearly, Glia's flip test-time augmentation when the file stores it, 0.5 at 256 px) against the
  truth, per slice: what the gate threshold is chosen on.
Under torchrun each process runs the segmenter on its share of the slices and the results are summed.
"""
import torch
import torch.distributed as dist
import torch.nn.functional as F

from . import data
from .models import MaskGate


def _shares(count, world, rank):
    return list(range(rank, count, world))


def _batches(indices, size):
    return [indices[s:s + size] for s in range(0, len(indices), size)]


def _images(records, indices, side, device):
    """Un-augmented slices at 256 px and their masks, then the images area-averaged to `side`."""
    ds = data.SliceDataset(records)
    items = [ds[i] for i in indices]
    x = torch.stack([t[0] for t in items]).to(device)
    y = torch.stack([t[1] for t in items]).to(device)
    return x, y, data.resized(x, y, side)[0]


def _summed(t, world):
    if world > 1:
        dist.all_reduce(t)
    return t


@torch.no_grad()
def evidence(segmenter, records, side, device, world=1, rank=0, batch=16):
    """(a, max p) per record [N, 2] of the eval-mode `segmenter` (a ResUNet or MaskGate)."""
    segmenter.eval()
    out = torch.zeros(len(records), 2, dtype=torch.float32, device=device)
    for chunk in _batches(_shares(len(records), world, rank), batch):
        _, _, x = _images(records, chunk, side, device)
        out[chunk] = MaskGate.mask_features(_forward(segmenter, x))
    return _summed(out, world)


def _forward(segmenter, x):
    return segmenter.segment(x) if isinstance(segmenter, MaskGate) else segmenter(x)


def features(records, found, reach):
    """The gate's inputs [N, 2 or 3] from each record's evidence, with the neighbour area n when reach > 0."""
    if reach <= 0:
        return found.clone()
    area = {(r.patient, r.number): float(found[i, 0]) for i, r in enumerate(records)}
    n = torch.empty(len(records), dtype=torch.float32)
    for i, r in enumerate(records):
        near = [area[(r.patient, s)] for s in range(r.number - reach, r.number + reach + 1)
                if s != r.number and (r.patient, s) in area]
        n[i] = max(near) if near else float(found[i, 0])
    return torch.cat([found, n.to(found.device)[:, None]], 1)


@torch.no_grad()
def overlaps(segmenter, records, side, device, flip=False, world=1, rank=0, batch=16):
    """(patient, true positives, false positives, false negatives) per record of the pipeline's masks."""
    segmenter.eval()
    counts = torch.zeros(len(records), 3, dtype=torch.int64, device=device)
    for chunk in _batches(_shares(len(records), world, rank), batch):
        full, y, x = _images(records, chunk, side, device)
        p = _forward(segmenter, x)
        if flip:
            p = (p + _forward(segmenter, x.flip(-1)).flip(-1)) / 2
        if p.shape[-1] != full.shape[-1]:
            p = F.interpolate(p, size=full.shape[-2:], mode="bilinear", align_corners=False)
        predicted, truth = (p > 0.5).flatten(1), (y > 0.5).flatten(1)
        counts[chunk] = torch.stack([(predicted & truth).sum(1), (predicted & ~truth).sum(1),
                                     (~predicted & truth).sum(1)], 1)
    counts = _summed(counts, world).cpu().tolist()
    return [(r.patient, *c) for r, c in zip(records, counts)]
