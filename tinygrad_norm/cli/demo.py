"""`tinygrad-norm demo`: build tensors, run an expression, call backward, print the gradients."""

from __future__ import annotations

import argparse

import tinygrad_norm as tn


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="seeds the random tensors (default: 0)")


def run(args: argparse.Namespace) -> int:
    tn.manual_seed(args.seed)
    x = tn.randn(4, 3, requires_grad=True)
    w = tn.randn(3, 2, requires_grad=True)
    b = tn.zeros(2, requires_grad=True)
    target = tn.tensor([0, 1, 1, 0])
    logits = (x @ w + b).gelu()
    loss = tn.nn.functional.cross_entropy(logits, target)
    loss.backward()
    print(f"loss   = {loss.item():.6f}")
    print(f"w.grad =\n{w.grad.numpy()}")
    print(f"b.grad = {b.grad.numpy()}")
    print(f"x.grad =\n{x.grad.numpy()}")
    return 0
