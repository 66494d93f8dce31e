"""`SGD`: stochastic gradient descent with momentum, dampening, Nesterov momentum, weight decay and maximize
(torch.optim.SGD). The update is `sgd_step` in kernels/reference_optim.py."""

from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, check_implementation_flags, check_non_negative


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (torch.optim.SGD, same arguments and defaults).

    With d = grad (negated when `maximize`) + weight_decay * param: buf = d on the first step, then
    buf = momentum * buf + (1 - dampening) * d; d = d + momentum * buf with `nesterov`, else buf;
    param -= lr * d. State: `momentum_buffer` (only when momentum != 0).
    Nesterov momentum: Sutskever et al., "On the importance of initialization and momentum in deep learning" (2013).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        check_non_negative(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        check_implementation_flags(foreach=foreach, fused=fused, differentiable=differentiable)
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
            "foreach": foreach,
            "differentiable": differentiable,
            "fused": fused,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, group: dict[str, Any]) -> None:
        momentum = group["momentum"]
        buf, first_step = None, False
        if momentum != 0:
            state = self.state[param]
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = self._zeros(param)
                first_step = True
        backend.kernels(param.data).sgd_step(
            param.data, param.grad.data, buf, group["lr"], group["weight_decay"], momentum, group["dampening"],
            group["nesterov"], group["maximize"], first_step,
        )
