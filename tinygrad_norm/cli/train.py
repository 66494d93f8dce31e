"""`tinygrad-norm train`: train a network on a dataset, with progress, checkpoints, metrics and a test accuracy.

A run is described by its *recipe* (model, norm, dropout, optimizer, learning rate, ..., dataset, seed), saved in
every checkpoint beside the model, optimizer, scheduler and random state. `--resume PATH` rebuilds the run from
the recipe saved there and continues from the epoch after the saved one up to `--epochs` (the total): the result
is bit-identical to a run that never stopped. Options given with `--resume` must agree with the saved recipe.
`--distributed` trains over the processes `mpiexec -n N` started (see processes.py).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from typing import Any

from .. import backend, data, nn, optim, random
from ..devices import Device, resolve
from ..serialization import load, save
from . import loop, processes
from .errors import UsageError, fail_on
from .models import MODELS, NORMS, build_model

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
SCHEDULERS = ("none", "step", "cosine", "onecycle")
DATASETS = ("digits", "mnist", "fashion-mnist")
CHECKPOINT_FORMAT = "tinygrad-norm train"
METRICS = ("epoch", "lr", "train_loss", "train_accuracy", "test_accuracy", "seconds")

# the recipe: what a run is, saved in its checkpoints (defaults here; None means "the optimizer's default")
RECIPE_DEFAULTS: dict[str, Any] = {
    "model": "mlp",
    "norm": "batch",
    "dropout": 0.2,
    "optimizer": "adam",
    "lr": 1e-3,
    "momentum": 0.9,
    "weight_decay": 0.0,
    "l1": 0.0,
    "scheduler": "none",
    "batch_size": 64,
    "seed": 0,
    "dataset": "digits",
}
DEFAULT_EPOCHS = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    recipe = parser.add_argument_group("the run (saved in checkpoints; with --resume, taken from there)")
    recipe.add_argument("--model", choices=MODELS, help="network (default: mlp)")
    recipe.add_argument("--norm", choices=NORMS, help="normalization after each hidden affine map (default: batch)")
    recipe.add_argument("--dropout", type=float, metavar="P", help="dropout probability (default: 0.2)")
    recipe.add_argument("--optimizer", choices=OPTIMIZERS, help="default: adam")
    recipe.add_argument("--lr", type=float, help="learning rate (default: 1e-3)")
    recipe.add_argument("--momentum", type=float, help="SGD and RMSprop momentum (default: 0.9)")
    recipe.add_argument(
        "--weight-decay", type=float, help="weight decay of weight matrices and kernels, not of norms and biases"
    )
    recipe.add_argument("--l1", type=float, help="L1 penalty λ·Σ|w| on weight matrices and kernels (default: 0)")
    recipe.add_argument("--scheduler", choices=SCHEDULERS, help="learning-rate schedule (default: none)")
    recipe.add_argument("--batch-size", type=int, help="default: 64")
    recipe.add_argument("--seed", type=int, help="seeds initialization, shuffling and dropout (default: 0)")
    recipe.add_argument("--dataset", choices=DATASETS, help="default: digits (bundled)")
    run = parser.add_argument_group("this invocation")
    run.add_argument("--epochs", type=int, help=f"total number of epochs (default: {DEFAULT_EPOCHS})")
    run.add_argument("--data-dir", default="data", help="folder of the MNIST files (default: ./data)")
    run.add_argument("--download", action="store_true", help="fetch missing MNIST files from the public mirrors")
    run.add_argument("--backend", choices=("numba", "numpy"), default=None, help="kernel backend (default: numba)")
    run.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (a GPU needs the cuda extra; default: cpu)")
    run.add_argument("--save", metavar="PATH", help="write a checkpoint here after every epoch (atomically)")
    run.add_argument("--resume", metavar="PATH", help="continue the run saved in this checkpoint")
    run.add_argument("--metrics", metavar="PATH", help="write a CSV row per epoch: " + ", ".join(METRICS))
    run.add_argument("--plot", metavar="PATH", help="write a PNG of the curves (needs the 'plot' extra)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--distributed", action="store_true", help="train over the processes of mpiexec -n N (needs the 'mpi' extra)"
    )


# ---- the recipe ------------------------------------------------------------------------------------------------


def _recipe(args: argparse.Namespace, saved: dict[str, Any] | None) -> dict[str, Any]:
    """The run's recipe: the saved one when resuming (options given must agree with it), else the options."""
    given = {key: getattr(args, key) for key in RECIPE_DEFAULTS if getattr(args, key) is not None}
    if saved is None:
        recipe = {**RECIPE_DEFAULTS, **given}
        _check_recipe(recipe)
        return recipe
    conflicts = [
        f"--{key.replace('_', '-')} {given[key]} (saved: {saved[key]})" for key in given if given[key] != saved[key]
    ]
    if conflicts:
        raise UsageError(f"--resume: the checkpoint was trained with other options: {', '.join(conflicts)}")
    return saved


def _check_recipe(recipe: dict[str, Any]) -> None:
    checks = {
        "dropout": 0 <= recipe["dropout"] < 1,
        "lr": recipe["lr"] > 0 and math.isfinite(recipe["lr"]),
        "momentum": 0 <= recipe["momentum"] < 1,
        "weight_decay": 0 <= recipe["weight_decay"] < math.inf,
        "l1": 0 <= recipe["l1"] < math.inf,
        "batch_size": recipe["batch_size"] >= 1,
    }
    expected = {
        "dropout": "in [0, 1)",
        "lr": "a positive number",
        "momentum": "in [0, 1)",
        "weight_decay": "a non-negative number",
        "l1": "a non-negative number",
        "batch_size": "a positive integer",
    }
    for key, ok in checks.items():
        if not ok:
            raise UsageError(f"--{key.replace('_', '-')} must be {expected[key]}, got {recipe[key]}")


# ---- building the run from a recipe ----------------------------------------------------------------------------


def load_dataset(name: str, data_dir: str, download: bool):
    """(train images, train labels), (test images, test labels), standardized with the training set's constants."""
    if name == "digits":
        train, test = data.load_digits(train=True), data.load_digits(train=False)
    else:
        with fail_on(FileNotFoundError, ValueError, OSError):
            train = data.load_mnist(data_dir, kind=name, train=True, download=download)
            test = data.load_mnist(data_dir, kind=name, train=False, download=download)
    mean, std = data.MEAN_STD[name]
    return (data.normalize(train[0], mean, std), train[1]), (data.normalize(test[0], mean, std), test[1])


def _decayed(model: nn.Module) -> tuple[list, list]:
    """(weight matrices and kernels, everything else): weight decay and L1 apply to the first group only."""
    params = list(model.parameters())
    return [p for p in params if p.ndim >= 2], [p for p in params if p.ndim < 2]


def build_optimizer(recipe: dict[str, Any], model: nn.Module) -> optim.Optimizer:
    weights, others = _decayed(model)
    groups = [{"params": weights, "weight_decay": recipe["weight_decay"]}, {"params": others, "weight_decay": 0.0}]
    lr, momentum = recipe["lr"], recipe["momentum"]
    name = recipe["optimizer"]
    if name == "sgd":
        return optim.SGD(groups, lr=lr, momentum=momentum)
    if name == "rmsprop":
        return optim.RMSprop(groups, lr=lr, momentum=momentum)
    return (optim.Adam if name == "adam" else optim.AdamW)(groups, lr=lr)


def build_scheduler(recipe: dict[str, Any], optimizer: optim.Optimizer, epochs: int, steps_per_epoch: int):
    """(scheduler or None, whether it steps per batch). Schedules are planned for `epochs` epochs."""
    name = recipe["scheduler"]
    if name == "step":
        return optim.lr_scheduler.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1), False
    if name == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs), False
    if name == "onecycle":
        return optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe["lr"], total_steps=epochs * steps_per_epoch), True
    return None, False


# ---- output -----------------------------------------------------------------------------------------------------


def _write_metrics(path: str, history: list[dict[str, Any]]) -> None:
    with fail_on(OSError):
        with open(path, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=METRICS)
            writer.writeheader()
            writer.writerows(history)


def _plot_module():
    """matplotlib's pyplot with a file-only backend, or None after a one-line message naming the extra."""
    try:
        import matplotlib
    except ImportError:
        print(
            "--plot needs matplotlib: pip install 'tinygrad-norm[plot]' (training goes on without the plot)",
            file=sys.stderr,
        )
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _write_plot(plt, path: str, history: list[dict[str, Any]]) -> None:
    epochs = [row["epoch"] for row in history]
    figure, (losses, accuracies) = plt.subplots(1, 2, figsize=(10, 4))
    losses.plot(epochs, [row["train_loss"] for row in history], marker="o")
    losses.set(xlabel="epoch", ylabel="training loss", yscale="log")
    for key, label in (("train_accuracy", "train"), ("test_accuracy", "test")):
        accuracies.plot(epochs, [row[key] for row in history], marker="o", label=label)
    accuracies.set(xlabel="epoch", ylabel="accuracy")
    accuracies.legend()
    figure.tight_layout()
    with fail_on(OSError):
        figure.savefig(path, dpi=100)
    plt.close(figure)


# ---- the command -------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    parallel = processes.start(args.distributed)
    with parallel.ending_all_on_failure():
        return _run(args, parallel)


def _run(args: argparse.Namespace, parallel: processes.OneProcess) -> int:
    started = time.perf_counter()
    device = _device(args.device)
    if args.backend is not None:
        backend.set_backend(args.backend)
    checkpoint = _read_checkpoint(args.resume) if args.resume else None
    recipe = _recipe(args, checkpoint["recipe"] if checkpoint else None)
    epochs = args.epochs if args.epochs is not None else checkpoint["epochs"] if checkpoint else DEFAULT_EPOCHS
    if epochs < 1:
        raise UsageError(f"--epochs must be a positive integer, got {epochs}")
    if checkpoint and recipe["scheduler"] != "none" and epochs != checkpoint["epochs"]:
        raise UsageError(
            f"--epochs {epochs}: the {recipe['scheduler']} schedule of this run was planned for {checkpoint['epochs']} "
            "epochs; resume with that total, or start a new run"
        )
    plt = _plot_module() if args.plot else None

    (train_x, train_y), (test_x, test_y) = load_dataset(recipe["dataset"], args.data_dir, args.download)
    random.manual_seed(recipe["seed"])
    classes = int(train_y.max()) + 1
    with fail_on(ValueError):
        model = build_model(recipe["model"], recipe["norm"], recipe["dropout"], train_x.shape[1:], classes)
    model.to(device)
    with fail_on(ValueError):
        loader = data.DataLoader(
            (train_x, train_y), batch_size=recipe["batch_size"], shuffle=True, **parallel.loader_options(recipe["seed"])
        )
    optimizer = build_optimizer(recipe, model)
    scheduler, per_step = build_scheduler(recipe, optimizer, epochs, len(loader))
    history: list[dict[str, Any]] = []
    first_epoch = 1
    if checkpoint:
        processes.check_resume(checkpoint, parallel)
        with fail_on(ValueError, RuntimeError, KeyError, TypeError):
            model.load_state_dict(checkpoint["model"])
            optimizer.load_state_dict(checkpoint["optimizer"])
            if scheduler is not None:
                scheduler.load_state_dict(checkpoint["scheduler"])
            random.set_state(checkpoint["random"])
        history = list(checkpoint["history"])
        first_epoch = checkpoint["epoch"] + 1

    trained = parallel.wrap(model)
    weights = _decayed(model)[0]
    l1 = recipe["l1"]
    penalty = (lambda: l1 * nn.utils.l1_penalty(weights)) if l1 > 0 else None
    show_bar = not args.quiet and sys.stderr.isatty() and parallel.main
    for epoch in range(first_epoch, epochs + 1):
        lr = optimizer.param_groups[0]["lr"]
        progress = _bar(epoch, epochs, len(loader)) if show_bar else None
        parallel.start_epoch(loader, recipe["seed"], epoch)
        try:
            after_step = scheduler.step if per_step else None
            stats = loop.train_epoch(trained, loader, optimizer, penalty, after_step, progress, device)
        finally:
            if progress is not None:
                progress.close()
        stats = parallel.combine(stats)
        if scheduler is not None and not per_step:
            scheduler.step()
        if not parallel.main:
            continue
        test_accuracy = loop.accuracy(model, test_x, test_y, device)
        row = {
            "epoch": epoch,
            "lr": lr,
            "train_loss": stats.loss,
            "train_accuracy": stats.accuracy,
            "test_accuracy": test_accuracy,
            "seconds": round(stats.seconds, 3),
        }
        history.append(row)
        if args.save:
            state = {
                "format": CHECKPOINT_FORMAT,
                "recipe": recipe,
                "epochs": epochs,
                "epoch": epoch,
                "image_shape": list(train_x.shape[1:]),
                "classes": classes,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "random": random.get_state(),
                "history": history,
                "processes": parallel.count,
            }
            with fail_on(OSError):
                save(state, args.save)
        if args.metrics:
            _write_metrics(args.metrics, history)
        print(
            f"epoch {epoch}/{epochs}  lr {lr:.3g}  loss {stats.loss:.4f}  train acc {stats.accuracy:.4f}  "
            f"test acc {test_accuracy:.4f}  {stats.seconds:.1f} s",
            flush=True,
        )
    if not parallel.main:
        return 0
    if args.plot and plt is not None and history:
        _write_plot(plt, args.plot, history)
    final = loop.accuracy(model, test_x, test_y, device)
    print(f"test accuracy: {final:.4f}")
    print(f"wall time: {time.perf_counter() - started:.1f} s")
    return 0


def _device(name: str) -> Device:
    """The device of `--device`, checked before anything else runs: a bad name, or a GPU that cannot be used here
    (no CuPy, no CUDA driver, no such device), is one line."""
    try:
        return resolve(Device(name))
    except (ValueError, RuntimeError) as error:
        raise UsageError(f"--device {name}: {error}") from error


def _bar(epoch: int, epochs: int, batches: int):
    from tqdm import tqdm

    return tqdm(total=batches, desc=f"epoch {epoch}/{epochs}", unit="batch", leave=False, file=sys.stderr)


def _read_checkpoint(path: str) -> dict[str, Any]:
    with fail_on(OSError, ValueError):
        checkpoint = load(path)
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise UsageError(f"{path}: not a checkpoint written by 'tinygrad-norm train --save'")
    return checkpoint


def read_run(path: str) -> tuple[dict[str, Any], nn.Module, dict[str, Any]]:
    """The recipe, the trained model and the whole checkpoint saved at `path` (for `evaluate`)."""
    checkpoint = _read_checkpoint(path)
    recipe = checkpoint["recipe"]
    shape, classes = tuple(checkpoint["image_shape"]), checkpoint["classes"]
    model = build_model(recipe["model"], recipe["norm"], recipe["dropout"], shape, classes)
    with fail_on(RuntimeError, ValueError):
        model.load_state_dict(checkpoint["model"])
    return recipe, model, checkpoint
