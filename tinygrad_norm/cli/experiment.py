"""`tinygrad-norm experiment NAME`: run one experiment, write DIR/NAME.png and DIR/NAME.csv, print its table.

NAME.csv holds every number plotted (per seed, with the mean and range the plot draws); NAME-summary.csv holds
the printed table. Without matplotlib (the `plot` extra) the experiment still runs and writes both CSVs; one
line on stderr says that the PNG was left out, and the exit status stays 0, as `train --plot` does.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .. import experiments
from ..experiments import plot, results
from .errors import UsageError, fail_on
from .train import DATASETS

QUICK_SEEDS, FULL_SEEDS = 2, 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", metavar="NAME", help="the experiment to run (see --list)")
    parser.add_argument("--list", action="store_true", help="name every experiment with one line each")
    parser.add_argument("--quick", action="store_true", help="a small setting that runs in seconds (for tests)")
    parser.add_argument(
        "--out", default="experiments", metavar="DIR", help="folder of the outputs (default: ./experiments)"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        metavar="K",
        help=f"runs per configuration (default: {FULL_SEEDS}, {QUICK_SEEDS} with --quick)",
    )
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        help="default: the bundled digits (bn-convergence: mnist when its files are there)",
    )
    parser.add_argument("--data-dir", default="data", help="folder of the MNIST files (default: ./data)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    if args.list:
        width = max(map(len, experiments.EXPERIMENTS))
        for name, (_, line) in experiments.EXPERIMENTS.items():
            print(f"{name:<{width}}  {line}")
        return 0
    if args.name is None:
        raise UsageError("name an experiment to run (tinygrad-norm experiment --list names them)")
    if args.name not in experiments.EXPERIMENTS:
        raise UsageError(f"unknown experiment {args.name!r}: choose one of {', '.join(experiments.EXPERIMENTS)}")
    seeds = args.seeds if args.seeds is not None else QUICK_SEEDS if args.quick else FULL_SEEDS
    if seeds < 1:
        raise UsageError(f"--seeds must be a positive integer, got {seeds}")
    out = Path(args.out)
    with fail_on(OSError):
        out.mkdir(parents=True, exist_ok=True)
    try:
        plot.pyplot()
        can_plot = True
    except ImportError:
        can_plot = False
        print(
            "no PNG: matplotlib is missing (pip install 'tinygrad-norm[plot]'); the CSVs are written", file=sys.stderr
        )

    started = time.perf_counter()
    settings = experiments.Settings(
        quick=args.quick,
        seeds=seeds,
        dataset=args.dataset,
        data_dir=args.data_dir,
        progress=not args.quiet and sys.stderr.isatty(),
    )
    result = experiments.load(args.name).run(settings)
    written = [out / f"{args.name}.csv"]
    with fail_on(OSError):
        results.write_csv(written[0], results.csv_rows(result))
        if result.table:
            written.append(out / f"{args.name}-summary.csv")
            results.write_csv(written[-1], results.table_rows(result))
        if can_plot:
            written.append(out / f"{args.name}.png")
            plot.write_png(result, written[-1])
    print(result.title)
    print(results.format_table(result))
    print(f"wrote {', '.join(map(str, written))}")
    print(f"wall time: {time.perf_counter() - started:.1f} s")
    return 0
