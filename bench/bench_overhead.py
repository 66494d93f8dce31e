"""Framework overhead on tiny tensors, where the tape's bookkeeping dominates the arithmetic.

    pytest bench/bench_overhead.py --benchmark-only

`test_add` is one recorded op; `test_mul_sum_backward` is a forward (two ops) plus backward."""

import tinygrad_norm as tn


def _scalars():
    return tn.ones(1, requires_grad=True), tn.ones(1, requires_grad=True)


def test_add(benchmark):
    a, b = _scalars()
    benchmark(lambda: a + b)


def test_mul_sum_backward(benchmark):
    a, b = _scalars()
    benchmark(lambda: (a * b).sum().backward())
