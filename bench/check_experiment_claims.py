"""Run the six experiments in their full setting and check the claims they are about.

    python bench/check_experiment_claims.py [--out DIR] [--reuse] [--seeds K]

Runs `tinygrad-norm experiment NAME --out DIR` for each experiment (DIR defaults to docs/experiments, so one run
makes the committed plots and checks them; with --reuse an experiment whose CSVs are already in DIR is not run
again), then reads the CSVs and prints one line per claim: PASS or FAIL, the claim, and the numbers it rests on
(means over the seeds). Exit status 1 when a claim fails. The full runs take about half an hour on 2 cores.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from tinygrad_norm.cli import main as tinygrad_norm
from tinygrad_norm.experiments import EXPERIMENTS

ROOT = Path(__file__).resolve().parents[1]
MARGIN = 2  # points of test error: what counts as a change in batch-size (7 of the 360 test digits)


class Outputs:
    """One experiment's CSVs: mean over seeds by (panel, series, x), and the summary table."""

    def __init__(self, folder: Path, name: str):
        self.means: dict[tuple[str, str], dict[float, float]] = defaultdict(dict)
        with open(folder / f"{name}.csv", newline="") as file:
            for row in csv.DictReader(file):
                self.means[row["panel"], row["series"]][float(row["x"])] = float(row["mean"])
        with open(folder / f"{name}-summary.csv", newline="") as file:
            self.summary = list(csv.DictReader(file))

    def curve(self, panel: str, series: str) -> dict[float, float]:
        """The mean curve of `series` in the one panel whose title contains `panel`."""
        found = [curve for (title, name), curve in self.means.items() if panel in title and name == series]
        if len(found) != 1:
            raise KeyError(f"{len(found)} curves {series!r} in panels titled like {panel!r}")
        return found[0]


Claim = tuple[str, bool, str]  # (claim, holds, the numbers)


def bn_convergence(o: Outputs) -> list[Claim]:
    without, with_bn = o.curve("test accuracy", "without BatchNorm"), o.curve("test accuracy", "with BatchNorm")
    early = min(without, key=lambda step: abs(step - max(without) / 10))  # the summary's "early" step
    drift = {
        row["network"]: float(next(value for key, value in row.items() if key.startswith("median's range")))
        for row in o.summary
    }
    return [
        (f"BatchNorm is ahead early: test accuracy at step {early:g} higher with it",
         with_bn[early] > without[early], f"{with_bn[early]:.3f} vs {without[early]:.3f}"),
        ("BatchNorm ends at least as accurate", with_bn[max(with_bn)] >= without[max(without)],
         f"{with_bn[max(with_bn)]:.3f} vs {without[max(without)]:.3f}"),
        ("the sigmoid's input moves less with BatchNorm (range of its median after the first tenth)",
         drift["with BatchNorm"] < drift["without BatchNorm"],
         f"{drift['with BatchNorm']:.2f} vs {drift['without BatchNorm']:.2f}"),
    ]  # fmt: skip


def batch_size(o: Outputs) -> list[Claim]:
    claims = []
    for panel, network in (("the CNN of", "the CNN of `train`"), ("deeper CNN", "the deeper CNN")):
        bn, gn = o.curve(panel, "BatchNorm"), o.curve(panel, "GroupNorm")
        claims += [
            (f"{network}: BatchNorm degrades (error at batch 2 more than {MARGIN} points above batch 32)",
             bn[2] > bn[32] + MARGIN, f"{bn[2]:.1f} % vs {bn[32]:.1f} %"),
            (f"{network}: GroupNorm's error at batch 2 below BatchNorm's", gn[2] < bn[2],
             f"{gn[2]:.1f} % vs {bn[2]:.1f} %"),
            (f"{network}: GroupNorm stays flat (batch 2 within {MARGIN} points of batch 32)",
             abs(gn[2] - gn[32]) <= MARGIN, f"{gn[2]:.1f} % vs {gn[32]:.1f} %"),
        ]  # fmt: skip
    return claims


def dropout_overfit(o: Outputs) -> list[Claim]:
    rows = {row["regularizer"]: row for row in o.summary}
    gap = {name: float(row["gap %"]) for name, row in rows.items()}
    loss_gap = {name: float(row["test loss"]) - float(row["train loss"]) for name, row in rows.items()}
    claims = [
        ("dropout 0.5 narrows the final train-test accuracy gap", gap["dropout 0.5"] < gap["none"],
         f"{gap['dropout 0.5']:.1f} vs {gap['none']:.1f} points"),
    ]  # fmt: skip
    for name in rows:
        if name != "none":
            claims.append(
                (f"{name} ends with a smaller test-train loss gap than no regularizer",
                 loss_gap[name] < loss_gap["none"], f"{loss_gap[name]:.3f} vs {loss_gap['none']:.3f}")
            )  # fmt: skip
    return claims


def gradient_flow(o: Outputs) -> list[Claim]:
    def ratio(network: str) -> float:
        norms = o.curve("at initialization", network)
        return norms[min(norms)] / norms[max(norms)]

    loss = o.curve("loss on the probe batch", "BatchNorm")
    plain = o.curve("loss on the probe batch", "no norm")
    start, end = min(loss), max(loss)
    return [
        ("without a norm the first layer's gradient at init is under 1 % of the last layer's", ratio("no norm") < 0.01,
         f"ratio {ratio('no norm'):.2g}"),
        ("with BatchNorm it is within a factor 10 of the last layer's", 0.1 <= ratio("BatchNorm") <= 10,
         f"ratio {ratio('BatchNorm'):.2g}"),
        ("with BatchNorm the loss falls tenfold while without a norm it stays within 10 %",
         loss[end] < loss[start] / 10 and plain[end] > 0.9 * plain[start],
         f"BatchNorm {loss[start]:.2f} -> {loss[end]:.3f}, no norm {plain[start]:.2f} -> {plain[end]:.2f}"),
    ]  # fmt: skip


def train_eval_gap(o: Outputs) -> list[Claim]:
    small, large = o.curve("test accuracy", "batch 8, eval mode"), o.curve("test accuracy", "batch 128, eval mode")
    train_mode = o.curve("test accuracy", "batch 8, train mode")
    return [
        ("0.997 passed unchanged loses accuracy against PyTorch's 0.1 at batch 8", small[0.997] < small[0.1],
         f"{small[0.997]:.1f} % vs {small[0.1]:.1f} %"),
        ("0.997 'keep' translated to 0.003 is too slow for the few steps at batch 128", large[0.003] < large[0.1] - 1,
         f"{large[0.003]:.1f} % vs {large[0.1]:.1f} %"),
        ("evaluating in train mode at batch 8 loses accuracy against eval mode", train_mode[0.1] < small[0.1],
         f"{train_mode[0.1]:.1f} % vs {small[0.1]:.1f} %"),
    ]  # fmt: skip


def written_by_hand(o: Outputs) -> list[Claim]:
    claims = []
    for row in o.summary:
        checks = [row["gradcheck train"], row["gradcheck eval"], row["gradcheck dropout"]]
        found = [check for check in checks if check != "passes"]
        if row["running stats"] == "differ":
            found.append("running stats differ")
        if row["switch"] == "correct":
            claims.append(("the correct layer passes every gradcheck and matches our running statistics", not found,
                           "; ".join(found) or "all pass"))  # fmt: skip
            hand, ours = float(row["test acc (by hand)"]), float(row["test acc (ours)"])
            claims.append(("the correct layer trains as nn.BatchNorm2d does (final accuracy within 2 points)",
                           abs(hand - ours) <= 0.02, f"{hand:.3f} vs {ours:.3f}"))  # fmt: skip
        else:
            claims.append((f"{row['switch']} is found", bool(found), "; ".join(found) or "nothing fails"))
    return claims


CHECKS: dict[str, Callable[[Outputs], list[Claim]]] = {
    "bn-convergence": bn_convergence,
    "batch-size": batch_size,
    "dropout-overfit": dropout_overfit,
    "gradient-flow": gradient_flow,
    "train-eval-gap": train_eval_gap,
    "written-by-hand": written_by_hand,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "experiments", help="folder of the outputs")
    parser.add_argument("--reuse", action="store_true", help="check the CSVs already in --out; run only missing ones")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per configuration (default: the command's)")
    args = parser.parse_args()
    assert set(CHECKS) == set(EXPERIMENTS)
    failed = 0
    for name, check in CHECKS.items():
        if not (args.reuse and (args.out / f"{name}.csv").exists()):
            seeds = [] if args.seeds is None else ["--seeds", str(args.seeds)]
            if tinygrad_norm(["experiment", name, "--out", str(args.out), *seeds]) != 0:
                return 2
        for claim, holds, numbers in check(Outputs(args.out, name)):
            failed += not holds
            print(f"{'PASS' if holds else 'FAIL'}  {name:<16} {claim}: {numbers}", flush=True)
    print(f"{failed} claim(s) failed" if failed else "every claim holds")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
