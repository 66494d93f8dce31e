"""Neural-network building blocks with torch.nn's names and defaults."""

from . import functional

__all__ = ["functional"]
