"""Glia's models as torch.nn.Modules, named tensor for tensor as Glia's safetensors files.

- ResUNet: Sources/GliaCore/Models/ResUNet.swift (the parity fixtures' model), any filter list.
- Classifier: a torchvision-structured ResNet trunk (conv1 ... layerK, no avgpool/fc) plus the seed's
  head `head.fc1` / `head.fc2`; torchvision itself is not needed.
- MaskGate: a frozen ResUNet (its tensors at the top level, as Glia stores them) plus `gate.weight`
  [2, or 3 with a neighbour reach] and `gate.bias` [1] on the per-slice features (a, max p), with
  a = ln(1 + area * 65536 / (H*W)) where area counts pixels with p > 0.5, and with a reach r > 0 also
  n = the largest a among the slices within r on either side (the slice's own a when none is given);
  logits [N, 2] = [0, w . f + b].

Inputs are NCHW float32 images scaled to [0, 1]; Glia's NHWC tensors are the same numbers permuted.
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------- ResUNet
class ResBlock(nn.Module):
    """1x1 -> BN -> ReLU -> 3x3 -> BN main path, 1x1 -> BN skip, ReLU of the sum; convs with bias."""

    def __init__(self, cin, f):
        super().__init__()
        self.main_conv1 = nn.Conv2d(cin, f, 1)
        self.main_bn1 = nn.BatchNorm2d(f)
        self.main_conv2 = nn.Conv2d(f, f, 3, padding=1)
        self.main_bn2 = nn.BatchNorm2d(f)
        self.skip_conv = nn.Conv2d(cin, f, 1)
        self.skip_bn = nn.BatchNorm2d(f)

    def forward(self, x):
        m = F.relu(self.main_bn1(self.main_conv1(x)))
        m = self.main_bn2(self.main_conv2(m))
        return F.relu(m + self.skip_bn(self.skip_conv(x)))


class Stem(nn.Module):
    """Two Conv3x3 -> ReLU -> BN stages (ReLU before BN, as in the Keras original)."""

    def __init__(self, cin, f):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, f, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(f)
        self.conv2 = nn.Conv2d(f, f, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(f)

    def forward(self, x):
        x = self.bn1(F.relu(self.conv1(x)))
        return self.bn2(F.relu(self.conv2(x)))


class ResUNet(nn.Module):
    """Stem, encoders enc1..enc{L-2} and `bottleneck` (each after a 2x2 max-pool), decoders
    dec1..dec{L-1} (nearest 2x upsampling, then concatenation with the skip), 1x1 head, sigmoid."""

    def __init__(self, filters=(16, 32, 64, 128, 256), input_channels=3, output_channels=1):
        super().__init__()
        f = list(filters)
        if len(f) < 2 or min(f) < 1:
            raise ValueError(f"filters {f}: needs at least two positive levels")
        self.filters = f
        self.input_channels = input_channels
        self.output_channels = output_channels
        levels = len(f)
        self.stem = Stem(input_channels, f[0])
        # Registered one by one so the names are enc1, ..., bottleneck, dec1, ... as in Glia.
        self.encoder_names = [("bottleneck" if i == levels - 1 else f"enc{i}") for i in range(1, levels)]
        for i, name in enumerate(self.encoder_names, start=1):
            self.add_module(name, ResBlock(f[i - 1], f[i]))
        self.decoder_names = [f"dec{j}" for j in range(1, levels)]
        for j, name in enumerate(self.decoder_names, start=1):
            self.add_module(name, ResBlock(f[levels - j] + f[levels - 1 - j], f[levels - 1 - j]))
        self.head = nn.Conv2d(f[0], output_channels, 1)

    @property
    def size_multiple(self):
        return 1 << (len(self.filters) - 1)

    def forward(self, x):
        skips = [self.stem(x)]
        h = skips[0]
        for i, name in enumerate(self.encoder_names):
            h = getattr(self, name)(F.max_pool2d(h, 2))
            if i < len(self.encoder_names) - 1:
                skips.append(h)
        for name in self.decoder_names:
            up = F.interpolate(h, scale_factor=2, mode="nearest")
            h = getattr(self, name)(torch.cat([up, skips.pop()], 1))
        return torch.sigmoid(self.head(h))


# ---------------------------------------------------------------- ResNet classifier
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride, width_per_group=64):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _projection(cin, planes, stride)

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + idt)


class Bottleneck(nn.Module):
    """torchvision v1.5: the stride sits on the 3x3 convolution."""
    expansion = 4

    def __init__(self, cin, planes, stride, width_per_group=64):
        super().__init__()
        width = planes * width_per_group // 64
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = _projection(cin, planes * 4, stride)

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        h = F.relu(self.bn1(self.conv1(x)))
        h = F.relu(self.bn2(self.conv2(h)))
        return F.relu(self.bn3(self.conv3(h)) + idt)


def _projection(cin, cout, stride):
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


def _conv_out(size, kernel, stride, pad):
    return (size + 2 * pad - kernel) // stride + 1


class Classifier(nn.Module):
    """ResNet trunk named as torchvision's (conv1, bn1, layer1.0, ...) and the seed's head:
    AvgPool k -> Flatten -> fc1 -> ReLU -> Dropout -> fc2; logits [N, classes]."""

    def __init__(self, block="basic", blocks_per_stage=(2, 2, 2, 2), width_per_group=64, input_channels=3,
                 image_size=256, pool_size=4, hidden_features=256, dropout=0.3, classes=2):
        super().__init__()
        kind = {"basic": BasicBlock, "bottleneck": Bottleneck}[block]
        self.conv1 = nn.Conv2d(input_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        channels = 64
        for i, count in enumerate(blocks_per_stage):
            planes = 64 << i
            stage = []
            for j in range(count):
                stage.append(kind(channels, planes, 2 if (i > 0 and j == 0) else 1, width_per_group))
                channels = planes * kind.expansion
            self.add_module(f"layer{i + 1}", nn.Sequential(*stage))
        self.stages = len(blocks_per_stage)
        side = _conv_out(_conv_out(image_size, 7, 2, 3), 3, 2, 1)
        for _ in range(1, self.stages):
            side = _conv_out(side, 3, 2, 1)
        pooled = side // pool_size
        if pooled < 1:
            raise ValueError(f"image size {image_size}: features {side}x{side} are smaller than the pooling")
        self.head = nn.Sequential(OrderedDict([
            ("pool", nn.AvgPool2d(pool_size)), ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(channels * pooled * pooled, hidden_features)), ("relu", nn.ReLU()),
            ("drop", nn.Dropout(dropout)), ("fc2", nn.Linear(hidden_features, classes))]))

    def features(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        for i in range(self.stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return x

    def forward(self, x):
        return self.head(self.features(x))


# ---------------------------------------------------------------- MaskGate
class MaskGate(ResUNet):
    """A slice classifier on a frozen ResUNet's mask. The segmenter always runs in eval mode and
    without gradients; only `gate.weight` and `gate.bias` train."""

    def __init__(self, filters=(16, 32, 64, 128, 256), input_channels=3, output_channels=1, neighbour_reach=0):
        super().__init__(filters, input_channels, output_channels)
        if not 0 <= neighbour_reach <= 8:
            raise ValueError(f"neighbourReach {neighbour_reach}: must be 0...8")
        self.neighbour_reach = neighbour_reach
        self.gate = _Gate(3 if neighbour_reach > 0 else 2)
        for name, p in self.named_parameters():
            p.requires_grad_(name.startswith("gate."))

    @staticmethod
    def mask_features(p):
        """Features [N, 2] of mask probabilities [N, 1, H, W]."""
        side = p.shape[-1] * p.shape[-2]
        area = (p > 0.5).flatten(1).sum(1).to(torch.float64)
        f1 = torch.log1p(area * (65536.0 / side)).to(torch.float32)
        return torch.stack([f1, p.flatten(1).amax(1)], 1)

    def segment(self, x):
        """The frozen segmenter's probabilities (eval mode, no gradient)."""
        was_training = self.training
        self.eval()
        with torch.no_grad():
            p = ResUNet.forward(self, x)
        self.train(was_training)
        return p

    def forward(self, x, neighbour_areas=None):
        """Logits [N, 2]; `neighbour_areas` [N] (NaN: none known) for a gate with a reach, else each
        slice is read alone."""
        f = self.mask_features(self.segment(x))
        if self.neighbour_reach > 0:
            n = f[:, 0] if neighbour_areas is None else torch.where(torch.isnan(neighbour_areas), f[:, 0], neighbour_areas)
            f = torch.cat([f, n[:, None]], 1)
        return self.gate(f)


class _Gate(nn.Module):
    """w . f + b as logits [0, z]: the gate's only trained part (what DDP wraps when it trains)."""

    def __init__(self, features=2):
        super().__init__()
        self.weight = nn.Parameter(torch.tensor([1.0, 1.0, 0.0][:features]))
        self.bias = nn.Parameter(torch.full((1,), -3.0))

    def forward(self, f):
        z = f @ self.weight + self.bias
        return torch.stack([torch.zeros_like(z), z], 1)


def parameter_count(module):
    return sum(p.numel() for p in module.parameters())

