"""Optimizers and learning-rate schedulers, with PyTorch's names and update rules.

>>> import deepgrad as dg
>>> weight = dg.tensor([1.0, 2.0], requires_grad=True)
>>> optimizer = dg.optim.Adam([weight], lr=1e-3)
>>> scheduler = dg.optim.lr_scheduler.StepLR(optimizer, step_size=10)
"""

from deepgrad.optim import lr_scheduler
from deepgrad.optim.adagrad import Adagrad
from deepgrad.optim.adam import Adam, AdamW
from deepgrad.optim.optimizer import Optimizer
from deepgrad.optim.rmsprop import RMSprop
from deepgrad.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "lr_scheduler",
]
