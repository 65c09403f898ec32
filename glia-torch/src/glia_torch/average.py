"""Glia's weight averaging (Sources/GliaCore/Optimizers/WeightAverage.swift): an exponential moving
average of a model's parameters and float buffers, used in place of the trained weights for
validation and for the files a run writes.

After optimisation step t (1-based):
    d_t = min(decay, (1 + t) / (10 + t))     (warm-up, as TensorFlow's ExponentialMovingAverage)
    avg <- d_t * avg + (1 - d_t) * value
BatchNorm's running mean and variance are averaged the same way; integer buffers (num_batches_tracked)
are copied. The trained weights stay in the model: only validation and saving swap the average in.
"""
import contextlib

import torch


class WeightAverage:
    """The moving average of `module`'s state_dict entries, in state_dict order."""

    def __init__(self, module, decay):
        if not 0 < decay < 1:
            raise ValueError(f"weight average decay {decay} is not in (0, 1)")
        self.decay = decay
        self.steps = 0
        self.values = {k: v.detach().clone() for k, v in module.state_dict().items()}

    @torch.no_grad()
    def update(self, module):
        """Folds `module`'s current values into the average (once after each optimiser step)."""
        self.steps += 1
        d = min(self.decay, (1 + self.steps) / (10 + self.steps))
        for name, value in module.state_dict().items():
            average = self.values[name]
            if value.dtype.is_floating_point:
                average.mul_(d).add_(value.detach(), alpha=1 - d)
            else:
                average.copy_(value)

    @contextlib.contextmanager
    def applied(self, module):
        """Runs the block with the averaged weights in `module`, putting the trained ones back after."""
        trained = {k: v.detach().clone() for k, v in module.state_dict().items()}
        module.load_state_dict(self.values)
        try:
            yield module
        finally:
            module.load_state_dict(trained)

    def state_dict(self):
        return {"decay": self.decay, "steps": self.steps, "values": self.values}

    def load_state_dict(self, state):
        if set(state["values"]) != set(self.values):
            raise ValueError("weight average: the saved tensors are not this model's")
        self.decay, self.steps = state["decay"], state["steps"]
        for k, v in state["values"].items():
            self.values[k].copy_(v)
