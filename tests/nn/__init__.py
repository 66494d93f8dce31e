"""Tests of tinygrad_norm.nn, many of them against torch.nn."""
