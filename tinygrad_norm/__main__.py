"""The `tinygrad-norm` command (also `python -m tinygrad_norm`): one subcommand per task.

A subcommand is a function taking the parsed arguments and returning an exit status, registered in
`build_parser` with its own arguments; `demo` is also what runs when no subcommand is given.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__


def demo(args: argparse.Namespace) -> int:
    """A small demo of the tape: build tensors, run an expression, backward."""
    import tinygrad_norm as tn

    tn.manual_seed(0)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinygrad-norm",
        description="tinygrad_norm: a small tape-based autograd framework with Numba normalization kernels.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    demo_parser = commands.add_parser("demo", help="run a small forward and backward pass and print the gradients")
    demo_parser.set_defaults(run=demo)
    parser.set_defaults(run=demo)  # no subcommand: the demo
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # bad arguments: usage and one error line, exit status 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
