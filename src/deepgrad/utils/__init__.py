"""``deepgrad.utils``, as ``torch.utils``: ``deepgrad.utils.data`` holds the
Dataset, DataLoader and random_split of ``torch.utils.data``."""

from __future__ import annotations

from deepgrad.utils import data

__all__ = ["data"]
