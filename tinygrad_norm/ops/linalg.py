"""Einstein summation with its gradient written as einsums, so it differentiates again.

Equations reach `Einsum` in explicit form: one string of letters per operand and one for the output, no
ellipsis (the Tensor-level `einsum` parses torch's forms into this one).
"""

from __future__ import annotations

from ..autograd import Function
from ..shapes import unbroadcast
from .movement import GetItem


class Einsum(Function):
    """y = einsum(inputs[0], ..., inputs[n-1] -> output) over the operands.

    The gradient of operand i is the einsum of dy (letters `output`) with every other operand, onto operand i's
    letters. Three letters need more: a letter only operand i has (summed in the forward) takes dy's value
    along all of it (a broadcast); a repeated letter ("ii", a diagonal) receives its gradient on the diagonal
    only (`EmbedDiagonal`); a size-1 axis that broadcast against a longer one sums its gradient.
    """

    def forward(self, *operands, inputs: tuple[str, ...], output: str):
        self.operands, self.subscripts, self.output = operands, inputs, output
        spec = f"{','.join(inputs)}->{output}"
        return self.xp.einsum(spec, *operands, optimize=len(operands) > 2)

    def backward(self, grad):
        return tuple(self.operand_grad(grad, i) if needed else None for i, needed in enumerate(self.needs_input_grad))

    def operand_grad(self, grad, i: int):
        letters = self.subscripts[i]
        sizes: dict[str, int] = {}
        for s, shape in zip((*self.subscripts, self.output), (*(x.shape for x in self.operands), grad.shape)):
            for letter, n in zip(s, shape):
                sizes[letter] = max(n, sizes.get(letter, 1))  # a size-1 axis broadcasts
        others = [j for j in range(len(self.operands)) if j != i]
        reached = set(self.output).union(*(self.subscripts[j] for j in others))
        unique = "".join(dict.fromkeys(letters))
        kept = "".join(letter for letter in unique if letter in reached)
        g = self.call(
            Einsum,
            grad,
            *(self.operands[j] for j in others),
            inputs=(self.output, *(self.subscripts[j] for j in others)),
            output=kept,
        )
        if kept != unique:  # letters summed by this operand alone: dy is the same along them
            view = [sizes[letter] if letter in kept else 1 for letter in unique]
            g = self.xp.broadcast_to(g.reshape(view), tuple(sizes[letter] for letter in unique))
        if unique != letters:
            g = self.call(EmbedDiagonal, g, letters=letters, unique=unique)
        return unbroadcast(g, self.operands[i].shape)


class EmbedDiagonal(Function):
    """y with letters `letters` (some repeated, as "iij") is zero but for its diagonal, where it holds x (letters
    `unique`, each once): y[i, i, j] = x[i, j]. The adjoint takes the diagonal back: dx = dy[diagonal]."""

    saved_inputs, linear = (), True

    def forward(self, x, letters: str, unique: str):
        size = dict(zip(unique, x.shape))
        self.index = tuple(
            self.xp.arange(size[letter]).reshape([-1 if u == letter else 1 for u in unique]) for letter in letters
        )
        y = self.xp.zeros(tuple(size[letter] for letter in letters), x.dtype)
        y[self.index] = x
        return y

    def backward(self, grad):
        return self.call(GetItem, grad, index=self.index)
