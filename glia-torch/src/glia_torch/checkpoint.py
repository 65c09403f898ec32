"""Glia's safetensors files from and into the torch modules.

A Glia model file holds the model's tensors under their PyTorch names (conv weights OIHW, BatchNorm's
num_batches_tracked as I64) and string metadata; `glia.model` is the model configuration JSON (format
1, sorted keys) from which Glia rebuilds the model, `glia.run` the run configuration (Glia reads the
input size from it). Training checkpoints also carry `__extra__.*` tensors (optimizer state), which
are not model state and are skipped on load.
"""
import json

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .models import Classifier, MaskGate, ResUNet

MODEL_KEY = "glia.model"
RUN_KEY = "glia.run"
EXTRA_PREFIX = "__extra__."
FORMAT = 1


class GliaFileError(Exception):
    """A file that is not a usable Glia model; the message is one line naming the file."""


def dumps(value):
    """JSON as Glia writes it: compact, keys sorted."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def configuration(module):
    """The `glia.model` value (a dict) describing `module`."""
    if isinstance(module, MaskGate):
        return {"format": FORMAT, "kind": "maskgate",
                "maskgate": {"neighbourReach": module.neighbour_reach, "segmenter": _resunet_fields(module)}}
    if isinstance(module, ResUNet):
        return {"format": FORMAT, "kind": "resunet", "resunet": _resunet_fields(module)}
    if isinstance(module, Classifier):
        return {"format": FORMAT, "kind": "classifier", "classifier": module.glia_fields}
    raise TypeError(f"{type(module).__name__} is not a Glia model")


def _resunet_fields(m):
    return {"filters": list(m.filters), "inputChannels": m.input_channels, "outputChannels": m.output_channels}


def build(config, source="model configuration"):
    """A freshly initialised module for a `glia.model` dict; GliaFileError when it is not one."""
    try:
        if config.get("format") != FORMAT:
            raise GliaFileError(f"{source}: model configuration format {config.get('format')} is not supported "
                                f"(expected {FORMAT})")
        kind = config.get("kind")
        if kind == "resunet":
            r = config["resunet"]
            return ResUNet(r["filters"], r["inputChannels"], r["outputChannels"])
        if kind == "maskgate":
            r = config["maskgate"]["segmenter"]
            return MaskGate(r["filters"], r["inputChannels"], r["outputChannels"],
                            config["maskgate"].get("neighbourReach", 0))
        if kind == "classifier":
            c = config["classifier"]
            b = c["backbone"]
            if b.get("groups", 1) != 1:
                raise GliaFileError(f"{source}: grouped convolutions are not supported")
            m = Classifier(b["block"], b["blocksPerStage"], b.get("widthPerGroup", 64), b.get("inputChannels", 3),
                           c["imageSize"], c["poolSize"], c["hiddenFeatures"], c["dropout"], c["classes"])
            m.glia_fields = c
            return m
        raise GliaFileError(f"{source}: unknown model kind '{kind}' (expected classifier, resunet or maskgate)")
    except (KeyError, TypeError, ValueError) as e:
        raise GliaFileError(f"{source}: model configuration is not usable ({type(e).__name__}: {e})") from None


def classifier(backbone="resnet18", image_size=256, **head):
    """A Classifier with Glia's named backbones (resnet10/18/34/50) and the seed's head."""
    stages = {"resnet10": ("basic", [1, 1, 1, 1]), "resnet18": ("basic", [2, 2, 2, 2]),
              "resnet34": ("basic", [3, 4, 6, 3]), "resnet50": ("bottleneck", [3, 4, 6, 3])}
    block, blocks = stages[backbone]
    fields = {"backbone": {"block": block, "blocksPerStage": blocks, "groups": 1, "inputChannels": 3,
                           "widthPerGroup": 64},
              "classes": head.get("classes", 2), "dropout": head.get("dropout", 0.3),
              "hiddenFeatures": head.get("hidden_features", 256), "imageSize": image_size,
              "poolSize": head.get("pool_size", 4)}
    return build({"format": FORMAT, "kind": "classifier", "classifier": fields})


def read_metadata(path):
    """The file's metadata strings."""
    try:
        with safe_open(path, framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as e:  # safetensors raises its own error types for every malformed header
        raise GliaFileError(f"{path}: not a readable safetensors file ({_one_line(e)})") from None


def load_glia(path, module=None):
    """(module, metadata) from a Glia model file or training checkpoint. The module is built from
    `glia.model` unless given; every model tensor must be present with its shape."""
    metadata = read_metadata(path)
    if module is None:
        if MODEL_KEY not in metadata:
            raise GliaFileError(f"{path}: checkpoint metadata has no model configuration ('{MODEL_KEY}')")
        try:
            config = json.loads(metadata[MODEL_KEY])
        except json.JSONDecodeError as e:
            raise GliaFileError(f"{path}: model configuration is not readable JSON ({e})") from None
        module = build(config, path)
    own = module.state_dict()
    tensors = {}
    with safe_open(path, framework="pt") as f:
        names = [n for n in f.keys() if not n.startswith(EXTRA_PREFIX)]
        missing = sorted(set(own) - set(names))
        unexpected = sorted(set(names) - set(own))
        if missing:
            raise GliaFileError(f"{path}: missing {len(missing)} tensor(s): {_names(missing)}")
        if unexpected:
            raise GliaFileError(f"{path}: {len(unexpected)} unexpected tensor(s): {_names(unexpected)}")
        for name in names:
            t = f.get_tensor(name)
            want = own[name]
            if t.numel() == 1 and want.numel() == 1 and t.dim() <= 1 and want.dim() <= 1:
                t = t.reshape(want.shape)  # Glia's [1] scalars and PyTorch's 0-d ones are the same value
            if tuple(t.shape) != tuple(want.shape):
                raise GliaFileError(f'{path}: tensor "{name}" has shape {list(t.shape)} in the file but '
                                    f"{list(want.shape)} in the model")
            tensors[name] = t.to(want.dtype)
    module.load_state_dict(tensors)
    return module, metadata


def save_glia(module, path, run=None, metadata=None):
    """Writes `module`'s state as a Glia model file: `glia.model` from the module, `glia.run` from
    the `run` dict (Glia's RunConfiguration fields) when given, plus `metadata` strings."""
    meta = dict(metadata or {})
    meta[MODEL_KEY] = dumps(configuration(module))
    if run is not None:
        meta[RUN_KEY] = dumps(run)
    state = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    for k, v in state.items():
        if v.dtype == torch.int64 and v.dim() == 0:
            state[k] = v.reshape(1)  # Glia stores scalars as [1]
    save_file(state, path, metadata=meta)


def run_image_size(metadata, path):
    """The input size the file's run trained at (`glia.run` imageSize), else 256, as Glia reads it."""
    try:
        size = json.loads(metadata.get(RUN_KEY, "{}")).get("imageSize", 256)
    except (ValueError, AttributeError):
        size = 256
    if not isinstance(size, int) or size < 1 or 256 % size:
        raise GliaFileError(f"{path}: input size {size} px must divide the 256 px slices")
    return size


def _names(names):
    shown = ", ".join(names[:5])
    return f"{shown} and {len(names) - 5} more" if len(names) > 5 else shown


def _one_line(e):
    return " ".join(str(e).split())
