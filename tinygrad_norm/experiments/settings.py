"""What every experiment is given: its size (quick or full), its seeds, its data and a progress bar."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from tqdm import tqdm

from ..cli.errors import UsageError
from ..cli.train import load_dataset

T = TypeVar("T")
Split = tuple[np.ndarray, np.ndarray]  # (images, labels)


@dataclass(frozen=True)
class Settings:
    """quick: the small setting of the tests (seconds); seeds: runs 0..seeds-1 of every configuration;
    dataset: "digits", "mnist", "fashion-mnist", or None for the experiment's own choice; progress: show a bar."""

    quick: bool = False
    seeds: int = 3
    dataset: str | None = None
    data_dir: str = "data"
    progress: bool = False

    def size(self, quick: T, full: T) -> T:
        """`quick` in the quick setting, else `full`."""
        return quick if self.quick else full

    def bar(self, total: int, unit: str = "step"):
        """A tqdm bar over `total` units, drawn only when progress is on (a silent one otherwise)."""
        return tqdm(total=total, unit=unit, leave=False, file=sys.stderr, disable=not self.progress)

    def data(self, prefer: str = "digits") -> tuple[str, Split, Split]:
        """(name, train, test), standardized. Without a dataset given, `prefer` if its files are in data_dir,
        else the bundled digits (saying so on stderr); a dataset given but missing is a UsageError."""
        name = self.dataset or prefer
        try:
            return name, *load_dataset(name, self.data_dir, download=False)
        except UsageError as error:
            if self.dataset is not None or name == "digits":
                raise
            print(f"{name} is not available ({error}): using the bundled digits", file=sys.stderr)
            return "digits", *load_dataset("digits", self.data_dir, download=False)
