"""Glia's models in PyTorch.

The modules' state_dict names and shapes are those of Glia's safetensors files, so a file written by
`glia_torch.checkpoint.save_glia` loads in `glia eval` / `glia predict` / the workstation unchanged,
and a Glia checkpoint loads into these modules with `glia_torch.checkpoint.load_glia`.
"""
__version__ = "0.2.0"
