"""``deepgrad.utils``, as ``torch.utils``: ``deepgrad.utils.array`` holds the
Dataset, DataLoader and random_split of ``torch.utils.array``."""

from __future__ import annotations

from deepgrad.utils import data

__all__ = ["data"]
