#!/bin/sh
# Installs the PyTorch side of Glia (the glia-torch package and PyTorch for the CPU) into a virtual
# environment, for the cross-checks between Glia and PyTorch and for training on GPU clusters
# (README "Training on GPU clusters"). .ci/run calls it; a failure leaves the Swift build alone and
# the PyTorch tests skip, saying why.
#
#   scripts/install-torch.sh [VENV]    default VENV: $GLIA_TORCH_VENV, else ~/.cache/glia/torch-venv
#
# PyTorch: a CPU wheel already on the machine (a torch-*+cpu wheel in $PIP_FIND_LINKS) is used as it
# is; otherwise PyPI's torch wheel without its CUDA packages (--no-deps; the CPU code paths do not
# need them), plus its small pure-Python dependencies. The venv sees the system's site packages, so
# numpy and the like are not downloaded again.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${1:-${GLIA_TORCH_VENV:-$HOME/.cache/glia/torch-venv}}
python=${PYTHON:-python3}
torch_version=2.13.0

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv --system-site-packages "$venv"
fi
pip="$venv/bin/python -m pip --disable-pip-version-check -q"

if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  wheel=""
  for dir in $(echo "${PIP_FIND_LINKS:-}" | tr ' ' '\n'); do
    for w in "$dir"/torch-*+cpu-*.whl; do [ -f "$w" ] && wheel=$w; done
  done
  if [ -n "$wheel" ]; then
    $pip install "$wheel"
  else
    $pip install --no-deps "torch==$torch_version"
    $pip install filelock typing-extensions sympy networkx jinja2 fsspec
  fi
fi
$pip install "$here/glia-torch"
"$venv/bin/python" -c "import torch, glia_torch; print('glia-torch', glia_torch.__version__, 'torch', torch.__version__, 'in', '$venv')"
