"""`RMSprop` (torch.optim.RMSprop): squared-gradient average with smoothing `alpha`, centered variant, momentum,
weight decay and maximize. The update is `rmsprop_step` in kernels/reference_optim.py."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, check_implementation_flags, check_non_negative


class RMSprop(Optimizer):
    """RMSprop (torch.optim.RMSprop, same arguments, order and defaults). Hinton, Neural Networks for Machine
    Learning, lecture 6e; `centered`: Graves, "Generating Sequences With Recurrent Neural Networks" (2013).

    With d = grad (negated when `maximize`) + weight_decay * param: v = alpha * v + (1 - alpha) * d²;
    centered: g = alpha * g + (1 - alpha) * d and v - g² replaces v below; a = sqrt(v) + eps;
    with momentum buf = momentum * buf + d / a and param -= lr * buf, else param -= lr * d / a.
    State: `step` (0-d float32), `square_avg`, `momentum_buffer` (momentum > 0), `grad_avg` (centered).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_non_negative(lr=lr, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        check_implementation_flags(foreach=foreach, differentiable=differentiable, capturable=capturable)
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "alpha": alpha,
            "eps": eps,
            "centered": centered,
            "weight_decay": weight_decay,
            "capturable": capturable,
            "foreach": foreach,
            "maximize": maximize,
            "differentiable": differentiable,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, group: dict[str, Any]) -> None:
        state = self.state[param]
        if not state:
            state["step"] = np.array(0.0, np.float32)
            state["square_avg"] = self._zeros(param)
        if group["momentum"] > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = self._zeros(param)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = self._zeros(param)
        state["step"] += 1
        backend.kernels(param.data).rmsprop_step(
            param.data, param.grad.data, state["square_avg"], state["grad_avg"] if group["centered"] else None,
            state["momentum_buffer"] if group["momentum"] > 0 else None, group["lr"], group["alpha"], group["eps"],
            group["weight_decay"], group["momentum"], group["maximize"],
        )
