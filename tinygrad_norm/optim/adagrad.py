"""`Adagrad` (torch.optim.Adagrad): per-element learning rates from the sum of squared gradients, with a decaying
learning rate, an initial accumulator value, weight decay and maximize. The update is `adagrad_step` in
kernels/reference_optim.py."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, check_implementation_flags, check_non_negative


class Adagrad(Optimizer):
    """Adagrad (torch.optim.Adagrad, same arguments and defaults). Duchi et al., "Adaptive Subgradient Methods for
    Online Learning and Stochastic Optimization" (2011).

    At step t, with d = grad (negated when `maximize`) + weight_decay * param: sum += d²,
    param -= lr / (1 + (t - 1) * lr_decay) * d / (sqrt(sum) + eps). State: `step` (0-d float32) and `sum`, which
    starts at `initial_accumulator_value` and, as in torch, is created for every parameter by the constructor
    (for a group added later, at its first step, from the constructor's `initial_accumulator_value`).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_non_negative(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                           initial_accumulator_value=initial_accumulator_value, eps=eps)
        check_implementation_flags(foreach=foreach, fused=fused, differentiable=differentiable)
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                self._init_state(param)

    def _init_state(self, param: Tensor) -> None:
        state = self.state[param]
        state["step"] = np.array(0.0, np.float32)
        state["sum"] = param.xp.full(param.shape, self.defaults["initial_accumulator_value"], param.dtype)

    def _update(self, param: Tensor, group: dict[str, Any]) -> None:
        if not self.state[param]:
            self._init_state(param)
        state = self.state[param]
        state["step"] += 1
        step = float(state["step"])
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        backend.kernels(param.data).adagrad_step(
            param.data, param.grad.data, state["sum"], clr, group["eps"], group["weight_decay"], group["maximize"]
        )
