"""Loss layers wrapping nn/losses.py, with torch's constructor arguments.

Class weights and pos_weight are buffers (so they are saved in state_dict and cast by `double()`),
as in torch. torch's deprecated `size_average` and `reduce` are not accepted, so the arguments after
`weight` are keyword-only (here and in the functional forms).
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from ._arguments import check_choice
from .losses import REDUCTIONS, binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss
from .module import Module


def _optional_tensor(value: Any) -> Tensor | None:
    return value if value is None or isinstance(value, Tensor) else Tensor(value)


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = check_choice("reduction", reduction, REDUCTIONS)


class _WeightedLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _optional_tensor(weight))


class MSELoss(_Loss):
    """mean (or sum) of (input - target)²."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return mse_loss(input, target, reduction=self.reduction)


class NLLLoss(_WeightedLoss):
    """-input[n, target[n]]·weight[target[n]] for log-probabilities input (N, C, ...) and class indices."""

    def __init__(self, weight: Tensor | None = None, *, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return nll_loss(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """NLLLoss of log_softmax(input) over the class axis (axis 1, or 0 for a 1-D input), with optional
    label smoothing."""

    def __init__(
        self,
        weight: Tensor | None = None,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(weight, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy of sigmoid(input) against targets in [0, 1], computed stably from logits;
    pos_weight scales the positive term per class."""

    def __init__(self, weight: Tensor | None = None, *, reduction: str = "mean", pos_weight: Tensor | None = None):
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", _optional_tensor(pos_weight))

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )
