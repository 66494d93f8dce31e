"""Optimizers and learning-rate schedulers with torch.optim's names, defaults, update rules and state dicts.

Each update runs as one kernel per parameter from `tinygrad_norm.kernels` (Numba on the CPU by default, the numpy
reference with the "numpy" backend), in place on `param.data`.
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
