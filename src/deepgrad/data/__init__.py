"""Data for training: built-in datasets, the user's files, splits, scaling, batches.

The generated sets and the splits are NumPy (scikit-learn's generators and
``train_test_split`` written out, giving its numbers); scikit-learn itself, the
``sklearn`` extra, is imported only to load its four real datasets.
"""

from __future__ import annotations

from deepgrad.data.datasets import Dataset, available_datasets, load_dataset
from deepgrad.data.files import load_csv, load_idx, load_npz
from deepgrad.data.loader import DataLoader
from deepgrad.data.preprocessing import Standardizer, one_hot, train_val_test_split

__all__ = [
    "DataLoader",
    "Dataset",
    "Standardizer",
    "available_datasets",
    "load_csv",
    "load_dataset",
    "load_idx",
    "load_npz",
    "one_hot",
    "train_val_test_split",
]
