"""Runs a Glia model file in PyTorch on a stored batch: the PyTorch half of Glia's cross-checks.

    python -m glia_torch.forward --model M.safetensors --input IN.safetensors --output OUT.safetensors
                                 [--resave COPY.safetensors]

IN holds `x` (NCHW float32 in [0, 1]); OUT gets `y`, the eval-mode output (probabilities NCHW for a
ResUNet, logits [N, classes] for a classifier or MaskGate), and for a MaskGate also `features` [N, 2].
--resave writes the loaded model back out with glia_torch.checkpoint.save_glia (metadata kept), so
a Glia file can be checked to round-trip through PyTorch unchanged.
"""
import argparse
import sys

import torch
from safetensors.torch import load_file, save_file

from .checkpoint import MODEL_KEY, GliaFileError, load_glia, save_glia
from .models import MaskGate


def main(argv=None):
    a = argparse.ArgumentParser(prog="glia_torch.forward", description=__doc__.split("\n\n")[0])
    a.add_argument("--model", required=True)
    a.add_argument("--input", required=True)
    a.add_argument("--output", required=True)
    a.add_argument("--resave")
    args = a.parse_args(argv)
    torch.set_num_threads(1)
    try:
        model, metadata = load_glia(args.model)
    except GliaFileError as e:
        print(f"glia_torch.forward: {e}", file=sys.stderr)
        return 2
    x = load_file(args.input)["x"]
    model.eval()
    with torch.no_grad():
        out = {"y": model(x).contiguous()}
        if isinstance(model, MaskGate):
            out["features"] = MaskGate.mask_features(model.segment(x)).contiguous()
    save_file(out, args.output)
    if args.resave:
        # glia.run and the rest go back byte for byte; glia.model is written from the module.
        save_glia(model, args.resave, metadata={k: v for k, v in metadata.items() if k != MODEL_KEY})
    return 0


if __name__ == "__main__":
    sys.exit(main())
