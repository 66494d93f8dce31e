"""`Adam` and `AdamW` (torch.optim.Adam, torch.optim.AdamW): bias-corrected moment estimates, AMSGrad, maximize,
and weight decay as an L2 term (Adam) or decoupled from the gradient (AdamW). The update is `adam_step` in
kernels/reference_optim.py; the bias corrections are computed here in float64, as torch does."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor
from .optimizer import Optimizer, ParamsT, check_implementation_flags, check_non_negative


class Adam(Optimizer):
    """Adam (torch.optim.Adam, same arguments and defaults). Kingma & Ba, "Adam: A Method for Stochastic
    Optimization" (2014); `amsgrad`: Reddi et al., "On the Convergence of Adam and Beyond" (2018).

    At step t, with d = grad (negated when `maximize`) + weight_decay * param (Adam) or with param first scaled
    by 1 - lr * weight_decay (`decoupled_weight_decay`, AdamW):
    m = beta1 * m + (1 - beta1) * d, v = beta2 * v + (1 - beta2) * d², v̂ = max(v̂, v) with `amsgrad`, and
    param -= lr / (1 - beta1^t) * m / (sqrt(v or v̂) / sqrt(1 - beta2^t) + eps).
    State: `step` (0-d float32), `exp_avg`, `exp_avg_sq`, and `max_exp_avg_sq` with `amsgrad`.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        check_non_negative(lr=lr, eps=eps)
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        check_non_negative(weight_decay=weight_decay)
        if not (isinstance(betas[0], float) and isinstance(betas[1], float)):
            raise ValueError("betas must be either both floats or both Tensors")
        check_implementation_flags(foreach=foreach, fused=fused, differentiable=differentiable, capturable=capturable)
        defaults = {
            "lr": lr,
            "betas": tuple(betas),
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "foreach": foreach,
            "capturable": capturable,
            "differentiable": differentiable,
            "fused": fused,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _update(self, param: Tensor, group: dict[str, Any]) -> None:
        state = self.state[param]
        if not state:
            state["step"] = np.array(0.0, np.float32)
            state["exp_avg"] = self._zeros(param)
            state["exp_avg_sq"] = self._zeros(param)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = self._zeros(param)
        state["step"] += 1
        step = float(state["step"])
        lr, weight_decay, (beta1, beta2) = group["lr"], group["weight_decay"], group["betas"]
        decoupled = group["decoupled_weight_decay"]
        backend.kernels(param.data).adam_step(
            param.data, param.grad.data, state["exp_avg"], state["exp_avg_sq"],
            state["max_exp_avg_sq"] if group["amsgrad"] else None, beta1, beta2, group["eps"],
            0 if decoupled else weight_decay,  # L2 term in the gradient
            1 - lr * weight_decay if decoupled else 1,  # decoupled decay of the parameter
            lr / (1 - beta1**step), (1 - beta2**step) ** 0.5, group["maximize"],
        )


class AdamW(Adam):
    """AdamW (torch.optim.AdamW): Adam with decoupled weight decay, default 1e-2. Loshchilov & Hutter,
    "Decoupled Weight Decay Regularization" (2019)."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize, capturable=capturable,
            differentiable=differentiable, fused=fused, decoupled_weight_decay=True,
        )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """As `Optimizer.load_state_dict`; the decay stays decoupled whatever the saved groups say (as torch)."""
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
