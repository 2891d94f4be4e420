"""Training: ``fit``, its History and callbacks, and the Classifier.

One concern a module; import from here (``from deepgrad.train import fit``)::

    loop.py          fit: the training step over the batches, epoch after epoch,
                     and the divergence guard
    blocks.py        epochs run back to back in the compiled step (deepgrad.fast)
    batches.py       DataLoaders from arrays or Datasets, the validation split,
                     the mean loss and accuracy over a loader
    targets.py       what each loss means: its targets, accuracy, probabilities
    history.py       History, what fit returns
    recorder.py      the gradient and weight norms History records every epoch
    run.py           one fit call's state, shared with the callbacks; snapshots
    console.py       Keras' epoch lines and the progress bar
    callbacks/       Callback and one module per callback
    classifier.py    Classifier: a model with its loss, scaling and class names

The Keras-style ``summary`` lives with the models, in ``deepgrad.nn.summary``.
"""

from deepgrad.nn.summary import summary, summary_html
from deepgrad.train.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LearningRateScheduler,
    LivePlot,
    ModelCheckpoint,
    ReduceLROnPlateau,
)
from deepgrad.train.classifier import Classifier
from deepgrad.train.console import format_duration, format_epoch_line
from deepgrad.train.history import History
from deepgrad.train.loop import fit
from deepgrad.train.targets import LOSSES

__all__ = [
    "LOSSES",
    "CSVLogger",
    "Callback",
    "Classifier",
    "EarlyStopping",
    "History",
    "LearningRateScheduler",
    "LivePlot",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "fit",
    "format_duration",
    "format_epoch_line",
    "summary",
    "summary_html",
]
