"""The `tinygrad-norm` command (also `python -m tinygrad_norm`): one subcommand per job.

    tinygrad-norm train       train a network and print its test accuracy
    tinygrad-norm evaluate    test accuracy and confusion matrix of a checkpoint
    tinygrad-norm experiment  a claim about normalization or dropout, reproduced with a plot
    tinygrad-norm demo        the tape in a few lines
    tinygrad-norm info        versions, threads, BLAS and CUDA devices of this installation

Anything the user can fix (a bad option, a missing file) ends with one line on stderr and exit status 2;
Ctrl-C ends with exit status 130 and leaves the last complete checkpoint as it was.
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from . import demo, evaluate, experiment, info, train
from .errors import UsageError

COMMANDS = {
    "train": (train, "train a network and print its test accuracy"),
    "evaluate": (evaluate, "test accuracy and confusion matrix of a checkpoint"),
    "experiment": (experiment, "reproduce a claim about normalization or dropout: a plot, its numbers, a table"),
    "demo": (demo, "a few lines of the tape: an expression, backward, the gradients"),
    "info": (info, "versions, threads, BLAS and CUDA devices of this installation"),
}


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage block) and exit status 2."""

    def error(self, message: str) -> None:
        raise UsageError(message)


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="tinygrad-norm", description="Train small networks with tinygrad_norm.")
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, summary) in COMMANDS.items():
        module.add_arguments(commands.add_parser(name, help=summary, description=summary))
    return top


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default: sys.argv[1:]) and return the exit status."""
    try:
        args = parser().parse_args(argv)
        if args.command is None:
            parser().print_help()
            return 0
        return COMMANDS[args.command][0].run(args)
    except UsageError as error:
        print(f"tinygrad-norm: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tinygrad-norm: interrupted", file=sys.stderr)
        return 130
