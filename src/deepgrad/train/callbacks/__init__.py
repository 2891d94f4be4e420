"""fit's callbacks, one a module, with Keras' names and semantics.

``callback.py`` holds the base class every callback extends (and the one for
callbacks that watch a logged value); each other module holds one callback.
"""

from deepgrad.train.callbacks.callback import Callback, MonitorCallback
from deepgrad.train.callbacks.csv_logger import CSVLogger
from deepgrad.train.callbacks.early_stopping import EarlyStopping
from deepgrad.train.callbacks.learning_rate_scheduler import LearningRateScheduler
from deepgrad.train.callbacks.live_plot import LivePlot
from deepgrad.train.callbacks.model_checkpoint import ModelCheckpoint
from deepgrad.train.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau

__all__ = [
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "LearningRateScheduler",
    "LivePlot",
    "ModelCheckpoint",
    "MonitorCallback",
    "ReduceLROnPlateau",
]
