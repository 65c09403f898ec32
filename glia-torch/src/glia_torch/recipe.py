"""Glia's recipes (Sources/GliaTraining/RunConfiguration.swift, SegmenterSession.swift,
ClassifierSession.swift and Sources/GliaCore/Losses): the defaults, the segmenter losses and the
learning-rate schedule. The classifier's loss is softmax cross-entropy over its two logits.

Losses are over the whole (per-process) batch with smoothing s = 1:
TP = sum p y, FN = sum (1 - p) y, FP = sum p (1 - y);
dice = 1 - (2 TP + s) / (sum p + sum y + s); bce = mean binary cross-entropy (ln clamped at -100);
dice-bce = dice + bce; focal-tversky = (1 - (TP + s) / (TP + 0.7 FN + 0.3 FP + s)) ** 0.75.
"""
import math

import torch
import torch.nn.functional as F

# RunConfiguration.defaults(for: .segmenter)
SEGMENTER_DEFAULTS = {
    "recipe": "segmenter", "epochs": 40, "batchSize": 16, "learningRate": 0.001, "weightDecay": 0.0, "seed": 1,
    "patience": 40, "trainFraction": 0.7, "validationFraction": 0.15, "tumorFraction": 0.5, "augment": True,
    "imageSize": 128, "backbone": "resnet18", "freezeBackbone": False, "maxStepsPerEpoch": 0,
    "loss": "dice-bce", "schedule": "cosine", "neighbourReach": 0, "weightAverage": 0.0,
}
# RunConfiguration.defaults(for: .classifier); `gate(on:)` changes a run given a segmenter (see
# glia_torch.train): the "segmenter" backbone, its split and input size, no augmentation, lr GATE_LEARNING_RATE.
CLASSIFIER_DEFAULTS = {
    "recipe": "classifier", "epochs": 10, "batchSize": 16, "learningRate": 0.001, "weightDecay": 0.0, "seed": 1,
    "patience": 3, "trainFraction": 0.7, "validationFraction": 0.15, "tumorFraction": 0.0, "augment": True,
    "imageSize": 256, "backbone": "resnet18", "freezeBackbone": False, "maxStepsPerEpoch": 0,
    "loss": "focal-tversky", "schedule": "plateau", "neighbourReach": 2, "weightAverage": 0.0,
}
DEFAULTS = {"segmenter": SEGMENTER_DEFAULTS, "classifier": CLASSIFIER_DEFAULTS}
GATE_LEARNING_RATE = 0.05
BACKBONES = ("resnet10", "resnet18", "resnet34", "resnet50", "segmenter")
LOSSES = ("dice-bce", "dice", "focal-tversky")
SCHEDULES = ("cosine", "plateau")


def dice_loss(p, y, s=1.0):
    tp = (p * y).sum()
    return 1 - (2 * tp + s) / (p.sum() + y.sum() + s)


def focal_tversky_loss(p, y, s=1.0, alpha=0.7, gamma=0.75):
    tp = (p * y).sum()
    fn = ((1 - p) * y).sum()
    fp = (p * (1 - y)).sum()
    return (1 - (tp + s) / (tp + alpha * fn + (1 - alpha) * fp + s)) ** gamma


def loss(kind, p, y):
    """The segmenter loss `kind` of probabilities p and 0/1 targets y."""
    if kind == "dice":
        return dice_loss(p, y)
    if kind == "dice-bce":
        return dice_loss(p, y) + F.binary_cross_entropy(p, y)
    if kind == "focal-tversky":
        return focal_tversky_loss(p, y)
    raise ValueError(f"unknown loss '{kind}' (expected {', '.join(LOSSES)})")


def cosine_rate(initial, step, total_steps):
    """Glia's CosineAnnealing: from `initial` to 1 % of it over `total_steps`, per step."""
    minimum = initial / 100
    t = min(max(step, 0), max(1, total_steps)) / max(1, total_steps)
    return minimum + (initial - minimum) * (1 + math.cos(math.pi * t)) / 2


def optimizer(model, learning_rate, weight_decay):
    """Adam as Glia's (torch.optim.Adam's arithmetic, L2 weight decay), over the trainable parameters."""
    return torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=learning_rate,
                            weight_decay=weight_decay)


class VolumeDice:
    """Per-volume Dice (Buda et al.): counts per patient, mean over patients with tumor."""

    def __init__(self):
        self.counts = {}

    def add(self, patient, predicted, truth):
        tp = int((predicted & truth).sum())
        fp = int((predicted & ~truth).sum())
        fn = int((~predicted & truth).sum())
        c = self.counts.setdefault(patient, [0, 0, 0])
        c[0] += tp
        c[1] += fp
        c[2] += fn

    def mean(self):
        dice = [2 * tp / (2 * tp + fp + fn) for tp, fp, fn in self.counts.values() if tp + fn > 0]
        return sum(dice) / len(dice) if dice else 0.0
