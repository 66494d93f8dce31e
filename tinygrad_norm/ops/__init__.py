"""Differentiable ops: each a `Function` with its forward right above its backward.

Ops work on the array module of their inputs (`self.xp`: numpy, or CuPy on a GPU), never on numpy
directly, so the same code runs on either device.
"""
