"""Normalization and dropout kernels: arrays in, caller-allocated arrays out, no autograd.

Three backends expose the same functions with the same signatures:
``reference`` (numpy, the spec), ``cpu`` (Numba) and ``cuda`` (numba.cuda, imported lazily).
"""
