"""The thresholds Glia stores with a classifier, chosen on validation patients exactly as
Sources/GliaTraining/Thresholds.swift chooses them:

- decision (`glia.threshold`): P(tumor) >= t calls a slice tumor; t maximises slice accuracy, ties
  going to the candidate nearest 0.5 (the lower one at equal distance);
- gate (`glia.gateThreshold`): the two-stage pipeline segments slices with P(tumor) >= t and gives the
  rest an empty mask; t maximises the mean per-volume Dice over patients with tumor, ties going to
  the lowest t.
Candidates are 0 and every observed score, ascending, so t reproduces exactly the decisions seen.
"""
import numpy as np


def candidates(scores):
    return np.unique(np.concatenate([np.asarray(scores, dtype=np.float32), np.zeros(1, np.float32)]))


def decision(scores, labels):
    """The accuracy-maximising threshold of `scores` (float32 P(tumor)) against 0/1 `labels`."""
    scores = np.asarray(scores, dtype=np.float32)
    labels = np.asarray(labels).astype(bool)
    if scores.size == 0:
        return 0.5
    best_t, best_correct = None, -1
    for t in candidates(scores):
        correct = int(((scores >= t) == labels).sum())
        if correct < best_correct or (correct == best_correct and abs(t - 0.5) >= abs(best_t - 0.5)):
            continue
        best_t, best_correct = t, correct
    return float(best_t)


def gate(scores, overlaps):
    """(threshold, mean per-volume Dice or None) for `scores` and per-slice `overlaps`
    (patient, true positives, false positives, false negatives) of the segmenter's masks."""
    scores = np.asarray(scores, dtype=np.float32)
    patients = sorted({o[0] for o in overlaps})
    column = {p: i for i, p in enumerate(patients)}
    owner = np.array([column[o[0]] for o in overlaps], dtype=np.int64)
    tp, fp, fn = (np.array([o[k] for o in overlaps], dtype=np.int64) for k in (1, 2, 3))
    truth = np.bincount(owner, weights=tp + fn, minlength=len(patients))
    with_tumor = truth > 0
    if not with_tumor.any():
        return 0.5, None
    best = None
    for t in candidates(scores):
        kept = scores >= t
        # A gated-off slice predicts nothing: its true tumor pixels become false negatives.
        vtp = np.bincount(owner, weights=np.where(kept, tp, 0), minlength=len(patients))
        vfp = np.bincount(owner, weights=np.where(kept, fp, 0), minlength=len(patients))
        vfn = truth - vtp
        dice = float(np.mean((2 * vtp / (2 * vtp + vfp + vfn))[with_tumor]))
        if best is None or dice > best[1]:
            best = (float(t), dice)
    return best
