"""Glia's recipes as training sessions: what `glia_torch.train`'s loop drives, one per recipe.

A session owns the model (and its DistributedDataParallel wrapper), the optimizer, the plateau
schedule and the training data of this process, and knows how to validate (on rank 0) and what the
run's files hold:
- SegmenterSession: ResUNet, the segmenter loss, per-volume validation Dice picking `best`, and the
  moving average of the weights (validation and the files use the average; Glia's --weight-average);
- ResNetSession: the ResNet classifier with the seed's head, softmax cross-entropy, the lowest
  validation loss picking `best`;
- GateSession: the MaskGate on a trained segmenter file, fitted on cached mask features.
Both classifier sessions store the decision threshold and, with a segmenter, the gate threshold
chosen at each validation (glia_torch.thresholds) in the files' metadata.
"""
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch.nn.parallel import DistributedDataParallel

from . import data, gate, recipe, thresholds
from .average import WeightAverage
from .checkpoint import GliaFileError, classifier, load_glia, run_image_size
from .models import MaskGate, ResUNet

THRESHOLD_KEY = "glia.threshold"
GATE_THRESHOLD_KEY = "glia.gateThreshold"
TTA_KEY = "glia.tta"


def _ddp(module, device, world):
    if world <= 1:
        return module
    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)


def _plateau(opt, schedule):
    """Glia's ReduceLROnPlateau on the validation loss: factor 0.1, patience 2, floor 1e-6."""
    if schedule != "plateau":
        return None
    return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.1, patience=2, min_lr=1e-6)


class _Session:
    """What the sessions share: the balanced sampler over the training slices, resume state."""
    selection = "loss"  # or "metric": which validation figure picks `best`
    average = None

    def __init__(self, args, parts, device, world, rank):
        self.args, self.parts, self.device, self.world, self.rank = args, parts, device, world, rank
        self.train_set = data.SliceDataset(parts["train"], augment=args.augment, seed=args.seed)
        self.sampler = data.BalancedDistributedSampler(self.train_set, args.batch_size, args.tumor_fraction,
                                                       world, rank, args.seed)
        self.steps = self.sampler.steps if args.max_steps_per_epoch <= 0 \
            else min(self.sampler.steps, args.max_steps_per_epoch)

    def _optimise(self, module):
        self.opt = recipe.optimizer(module, self.args.lr, self.args.weight_decay)
        self.plateau = _plateau(self.opt, self.args.schedule)

    def begin_epoch(self, epoch):
        self.sampler.set_epoch(epoch)
        self.train_set.epoch = epoch

    def state_dict(self):
        return {"model": self.model.state_dict(), "optimizer": self.opt.state_dict(),
                "plateau": self.plateau.state_dict() if self.plateau else None,
                "average": self.average.state_dict() if self.average else None}

    def load_state_dict(self, state):
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        if self.plateau and state.get("plateau"):
            self.plateau.load_state_dict(state["plateau"])
        if self.average and state.get("average"):
            self.average.load_state_dict(state["average"])

    def _loader(self):
        return torch.utils.data.DataLoader(self.train_set, batch_size=self.args.batch_size, sampler=self.sampler,
                                           num_workers=self.args.workers, pin_memory=self.device.type == "cuda",
                                           drop_last=True)


class SegmenterSession(_Session):
    selection = "metric"

    def __init__(self, args, parts, device, world, rank):
        super().__init__(args, parts, device, world, rank)
        self.model = ResUNet().to(device)
        if args.sync_bn and world > 1:
            self.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
        self.net = _ddp(self.model, device, world)
        self._optimise(self.model)
        self.average = WeightAverage(self.model, args.weight_average) if args.weight_average > 0 else None
        self.loader = self._loader()

    def batches(self, epoch):
        return iter(self.loader)

    def train_step(self, batch):
        x, y, _ = batch
        x, y = data.resized(x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True),
                            self.args.image_size)
        self.opt.zero_grad(set_to_none=True)
        value = recipe.loss(self.args.loss, self.net(x), y)
        value.backward()
        self.opt.step()
        if self.average:
            self.average.update(self.model)
        return float(value.detach()), len(x)

    def validate(self):
        """val_loss and val_dice of the averaged weights when the run averages them (and the trained
        weights' val_dice_unaveraged beside), else of the trained weights."""
        if not self.average:
            loss, dice = self._validate_model()
            return {"val_loss": loss, "val_dice": dice, "metric": dice}
        _, trained = self._validate_model()
        with self.average.applied(self.model):
            loss, dice = self._validate_model()
        return {"val_loss": loss, "val_dice": dice, "val_dice_unaveraged": trained, "metric": dice}

    @torch.no_grad()
    def _validate_model(self, batch=16):
        self.model.eval()
        records = self.parts["validation"]
        volumes, loss_sum, n = recipe.VolumeDice(), 0.0, 0
        for x, y, idx in torch.utils.data.DataLoader(data.SliceDataset(records), batch_size=batch):
            x, y = data.resized(x.to(self.device), y.to(self.device), self.args.image_size)
            p = self.model(x)
            loss_sum += float(recipe.loss(self.args.loss, p, y)) * len(idx)
            n += len(idx)
            for k, i in enumerate(idx.tolist()):
                volumes.add(records[i].patient, (p[k] > 0.5).cpu().numpy(), (y[k] > 0.5).cpu().numpy())
        self.model.train()
        return loss_sum / max(n, 1), volumes.mean()

    def export(self):
        """(module to save, extra metadata): the averaged weights when the run averages them."""
        plain = ResUNet()
        if self.average:
            with self.average.applied(self.model):
                plain.load_state_dict(self.model.state_dict())  # a SyncBatchNorm model's names are the same
        else:
            plain.load_state_dict(self.model.state_dict())
        return plain, {}


class _ClassifierSession(_Session):
    """Validation of a slice classifier: cross-entropy, accuracy, and the thresholds."""

    def __init__(self, args, parts, device, world, rank):
        super().__init__(args, parts, device, world, rank)
        self.thresholds = {}
        self._overlaps = None

    def _scored(self, logits, labels):
        """(summed cross-entropy, correct arg-max calls, P(tumor) per slice) of validation logits."""
        return (float(F.cross_entropy(logits, labels, reduction="sum")), int((logits.argmax(1) == labels).sum()),
                torch.softmax(logits.double(), 1)[:, 1].float())

    def _choose(self, loss_sum, correct, scores, labels, gate_segmenter, side, flip):
        """The epoch's validation figures; picks the thresholds the next files store (the gate
        threshold with `gate_segmenter` at `side` px, whose overlaps are computed once)."""
        n = max(len(labels), 1)
        scores, labels = scores.cpu().numpy(), labels.cpu().numpy()
        self.thresholds = {THRESHOLD_KEY: repr(thresholds.decision(scores, labels))}
        if gate_segmenter is not None:
            if self._overlaps is None:
                self._overlaps = gate.overlaps(gate_segmenter, self.parts["validation"], side, self.device, flip)
            self.thresholds[GATE_THRESHOLD_KEY] = repr(thresholds.gate(scores, self._overlaps)[0])
        record = {"val_loss": loss_sum / n, "val_accuracy": correct / n, "metric": correct / n,
                  "threshold": float(self.thresholds[THRESHOLD_KEY])}
        if GATE_THRESHOLD_KEY in self.thresholds:
            record["gate_threshold"] = float(self.thresholds[GATE_THRESHOLD_KEY])
        return record


def load_segmenter(path, device):
    """(ResUNet, input size, flip TTA) of a Glia segmenter file; GliaFileError when it is none."""
    module, metadata = load_glia(path)
    if type(module) is not ResUNet:
        raise GliaFileError(f"{path}: not a segmenter file (a {type(module).__name__})")
    size = run_image_size(metadata, path)
    return module.to(device).eval(), size, metadata.get(TTA_KEY) == "flip"


class ResNetSession(_ClassifierSession):
    def __init__(self, args, parts, device, world, rank):
        super().__init__(args, parts, device, world, rank)
        self.model = classifier(args.backbone, image_size=args.image_size).to(device)
        if args.weights:
            _load_backbone(self.model, args.weights)
        if args.freeze_backbone:
            for name, p in self.model.named_parameters():
                p.requires_grad_(name.startswith("head."))
        self.net = _ddp(self.model, device, world)
        self._optimise(self.model)
        self.loader = self._loader()
        # The segmenter that scores gate thresholds (rank 0 validates), with its input size and TTA.
        self.gate_segmenter, self.segmenter_size, self.flip = None, None, False
        if args.segmenter and rank == 0:
            self.gate_segmenter, self.segmenter_size, self.flip = load_segmenter(args.segmenter, device)

    def batches(self, epoch):
        return iter(self.loader)

    def train_step(self, batch):
        x, y, _ = batch
        x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
        labels = (y.flatten(1).amax(1) > 0).long()  # the augmented mask's tumor, as Glia's labels
        x = data.resized(x, y, self.args.image_size)[0]
        if self.args.freeze_backbone:
            self.model.eval()  # a frozen backbone runs in inference mode, its statistics fixed
            self.model.head.train()
        self.opt.zero_grad(set_to_none=True)
        value = F.cross_entropy(self.net(x), labels)
        value.backward()
        self.opt.step()
        self.model.train()
        return float(value.detach()), len(x)

    @torch.no_grad()
    def validate(self, batch=16):
        self.model.eval()
        loss_sum, correct, scores, labels = 0.0, 0, [], []
        for x, y, _ in torch.utils.data.DataLoader(data.SliceDataset(self.parts["validation"]), batch_size=batch):
            x, y = x.to(self.device), y.to(self.device)
            truth = (y.flatten(1).amax(1) > 0).long()
            l, c, s = self._scored(self.model(data.resized(x, y, self.args.image_size)[0]), truth)
            loss_sum, correct = loss_sum + l, correct + c
            scores.append(s)
            labels.append(truth)
        self.model.train()
        return self._choose(loss_sum, correct, torch.cat(scores), torch.cat(labels), self.gate_segmenter,
                            self.segmenter_size, self.flip)

    def export(self):
        return self.model, dict(self.thresholds)


def _load_backbone(model, path):
    """torchvision-named backbone weights (fc.* ignored), as Glia's --weights."""
    try:
        tensors = {k: v for k, v in load_file(path).items() if not k.startswith("fc.")}
    except Exception as e:  # safetensors raises its own error types for every malformed file
        raise GliaFileError(f"{path}: not a readable safetensors file ({' '.join(str(e).split())})") from None
    own = {k for k in model.state_dict() if not k.startswith("head.")}
    missing = sorted(own - set(tensors))
    if missing:
        raise GliaFileError(f"{path}: missing {len(missing)} backbone tensor(s), e.g. {missing[0]}")
    try:
        model.load_state_dict(tensors, strict=False)
    except RuntimeError as e:
        raise GliaFileError(f"{path}: backbone tensors do not fit ({' '.join(str(e).split())[:200]})") from None


class GateSession(_ClassifierSession):
    """The MaskGate: its segmenter's evidence is computed once per part (spread over the processes),
    and each step fits gate.weight / gate.bias on a batch of cached features."""

    def __init__(self, args, parts, device, world, rank):
        super().__init__(args, parts, device, world, rank)
        segmenter, size, self.flip = load_segmenter(args.segmenter, device)
        self.model = MaskGate(segmenter.filters, segmenter.input_channels, segmenter.output_channels,
                              args.neighbour_reach).to(device)
        self.model.load_state_dict({**self.model.state_dict(), **segmenter.state_dict()})
        self.model.eval()
        self.size = size
        self.features = {}
        for part in ("train", "validation"):
            found = gate.evidence(self.model, parts[part], size, device, world, rank, args.batch_size)
            self.features[part] = gate.features(parts[part], found, args.neighbour_reach)
        self.labels = torch.tensor(self.train_set.tumor_flags(), dtype=torch.long, device=device)
        self.validation_labels = torch.tensor(data.SliceDataset(parts["validation"]).tumor_flags(),
                                              dtype=torch.long, device=device)
        self.net = _ddp(self.model.gate, device, world)
        self._optimise(self.model)

    def batches(self, epoch):
        order = list(iter(self.sampler))
        size = self.args.batch_size
        return iter([order[s:s + size] for s in range(0, len(order) - size + 1, size)])

    def train_step(self, members):
        self.opt.zero_grad(set_to_none=True)
        value = F.cross_entropy(self.net(self.features["train"][members]), self.labels[members])
        value.backward()
        self.opt.step()
        return float(value.detach()), len(members)

    @torch.no_grad()
    def validate(self):
        labels = self.validation_labels
        loss_sum, correct, scores = self._scored(self.model.gate(self.features["validation"]), labels)
        return self._choose(loss_sum, correct, scores, labels, self.model, self.size, self.flip)

    def export(self):
        return self.model, dict(self.thresholds)


def make(args, parts, device, world, rank):
    """The session of `args.recipe` (and, for the classifier, of its backbone)."""
    if args.recipe == "segmenter":
        return SegmenterSession(args, parts, device, world, rank)
    if args.backbone == "segmenter":
        return GateSession(args, parts, device, world, rank)
    return ResNetSession(args, parts, device, world, rank)
