"""`tinygrad-norm info`: what this installation runs on (tinygrad_norm.info prints it)."""

from __future__ import annotations

import argparse

from .. import info


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options."""


def run(args: argparse.Namespace) -> int:
    return info.main()
