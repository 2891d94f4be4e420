"""Data for training: built-in datasets, the user's files, splits, scaling, batches.

scikit-learn provides the generators and small real datasets; it is imported
inside the functions that need it, so ``import deepgrad`` stays light.
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
