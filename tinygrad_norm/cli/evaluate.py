"""`tinygrad-norm evaluate --checkpoint PATH`: the test accuracy and confusion matrix of a saved run."""

from __future__ import annotations

import argparse

from . import loop
from .train import load_dataset, read_run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, metavar="PATH", help="a checkpoint of 'tinygrad-norm train'")
    parser.add_argument("--data-dir", default="data", help="folder of the MNIST files (default: ./data)")
    parser.add_argument("--download", action="store_true", help="fetch missing MNIST files from the public mirrors")


def run(args: argparse.Namespace) -> int:
    recipe, model, checkpoint = read_run(args.checkpoint)
    _, (images, labels) = load_dataset(recipe["dataset"], args.data_dir, args.download)
    predictions = loop.predict(model, images)
    counts = loop.confusion_matrix(predictions, labels, checkpoint["classes"])
    print(f"{recipe['model']} with {recipe['norm']} norm on {recipe['dataset']}, epoch {checkpoint['epoch']}")
    print("confusion matrix (rows: true class, columns: predicted)")
    width = max(5, len(str(counts.max())) + 1)
    print("     " + "".join(f"{c:>{width}}" for c in range(len(counts))))
    for true, row in enumerate(counts):
        print(f"{true:>5}" + "".join(f"{n:>{width}}" for n in row))
    print(f"test accuracy: {float((predictions == labels).mean()):.4f}")
    return 0
