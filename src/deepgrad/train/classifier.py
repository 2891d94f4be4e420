"""Classifier: a model with its loss, optimizer, feature scaling and class names."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from deepgrad import nn
from deepgrad.nn.module import Module
from deepgrad.nn.summary import summary
from deepgrad.optim.optimizer import Optimizer
from deepgrad.tensor import Tensor, no_grad
from deepgrad.train.batches import (
    check_values,
    data_loader_class,
    evaluate_loader,
    evaluation_loader,
    model_dtype,
    split_off_validation,
    xy_arrays,
)
from deepgrad.train.callbacks import Callback
from deepgrad.train.console import echo
from deepgrad.train.history import History
from deepgrad.train.loop import check_settings, fit_loop, with_live_plot
from deepgrad.train.targets import LOSSES, LossKind, has_accuracy, loss_kind

_TASKS = ("binary", "multiclass", "regression")


def _is_fitted(scaler: Any) -> bool:
    return getattr(scaler, "mean_", None) is not None


def _last_leaf(model: Module) -> Module:
    leaves = [module for module in model.modules() if not module._modules]
    return leaves[-1] if leaves else model


def _forward_all(model: Module, X: np.ndarray) -> Tensor:
    """The model's output for every row, in eval mode without gradients."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            outputs = [
                model(X_batch).array for X_batch, _ in evaluation_loader(X, None)
            ]
    finally:
        model.train(was_training)
    return Tensor(np.concatenate(outputs))


class _RegressionScores:
    """MAE and R² in the targets' own units, on the training data and the
    validation data, for every epoch's logs (``mae``, ``r2``, ``val_mae``,
    ``val_r2``): the loss of standardized targets does not say how far off the
    predictions are."""

    def __init__(
        self,
        predict: Callable[[np.ndarray], np.ndarray],
        train: tuple[np.ndarray, np.ndarray],
        validation: tuple[np.ndarray, np.ndarray] | None,
    ) -> None:
        self.predict = predict
        self.sets = [("", train)] + (
            [] if validation is None else [("val_", validation)]
        )
        self.keys = [
            f"{prefix}{name}" for prefix, _ in self.sets for name in ("mae", "r2")
        ]

    def __call__(self) -> dict[str, float]:
        from deepgrad.metrics import regression_scores

        logs = {}
        for prefix, (features, targets) in self.sets:
            scores = regression_scores(targets, self.predict(features))
            logs[f"{prefix}mae"], logs[f"{prefix}r2"] = scores["mae"], scores["r2"]
        return logs


class Classifier:
    """A model with its loss, optimizer, feature scaling and class names.

    The object a user trains, evaluates, saves (``deepgrad.io.save``) and
    predicts with, in the user's own labels.

    Parameters
    ----------
    model : Module
        The network.
    loss_fn : Module or str, optional
        A loss module, or its class name (``"BCELoss"``, ``"BCEWithLogitsLoss"``,
        ``"CrossEntropyLoss"``, ``"NLLLoss"``, ``"MSELoss"``, ``"L1Loss"``). Chosen at the
        first fit when omitted: BCELoss after a final Sigmoid, else
        BCEWithLogitsLoss, for one binary output; NLLLoss after LogSoftmax,
        else CrossEntropyLoss, for classes; MSELoss for regression.
    optimizer : Optimizer, optional
        Adam(lr=1e-3) over the model's parameters when omitted.
    standardizer : Standardizer, optional
        Feature scaling, fitted on the training split only at the first fit
        (an already fitted one is kept), and applied before every forward.
    training_data : dict, optional
        What it was trained on, as ``deepgrad train`` records it (the built-in
        set's name or the file's sha256, the validation fraction and seed), so
        that ``deepgrad evaluate`` can tell training rows from unseen ones.
    target_standardizer : Standardizer, optional
        Regression only: the targets' scaling, fitted like ``standardizer``; the
        model learns standardized targets (mean 0, std 1, so the usual learning
        rates suit any units) and ``predict`` maps its outputs back.
    class_names : list of str, optional
        The label of each class index. Taken from a Dataset, or from string
        labels given to fit (sorted), when omitted.
    task : {"binary", "multiclass", "regression"}, optional
        Inferred from the loss or the labels when omitted.

    Example
    -------
    >>> import numpy as np
    >>> import deepgrad as dg
    >>> from deepgrad import nn
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    >>> y = np.array(["no", "yes", "yes", "no"])
    >>> _ = dg.manual_seed(0)
    >>> clf = Classifier(nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)))
    >>> _ = clf.fit(X, y, epochs=2, batch_size="full", verbose=0)
    >>> clf.class_names, clf.loss_name
    (['no', 'yes'], 'BCEWithLogitsLoss')
    """

    def __init__(
        self,
        model: Module,
        loss_fn: Module | str | None = None,
        optimizer: Optimizer | None = None,
        standardizer: Any = None,
        class_names: Sequence[str] | None = None,
        task: str | None = None,
        feature_names: Sequence[str] | None = None,
        target_name: str | None = None,
        target_standardizer: Any = None,
        training_data: dict[str, Any] | None = None,
    ) -> None:
        # the training data's column names, so that predicting on a CSV that
        # still holds the label column can leave it out
        self.feature_names = None if feature_names is None else list(feature_names)
        self.target_name = target_name
        if not isinstance(model, Module):
            raise TypeError(
                f"Classifier: model must be a deepgrad.nn.Module, received: "
                f"{type(model).__name__}"
            )
        if task is not None and task not in _TASKS:
            raise ValueError(
                f"Classifier: task must be one of {_TASKS}, received: {task!r}"
            )
        if isinstance(loss_fn, str):
            if loss_fn not in LOSSES:
                raise ValueError(
                    f"Classifier: unknown loss {loss_fn!r}; choose one of "
                    f"{sorted(LOSSES)} or pass a loss module"
                )
            loss_fn = LOSSES[loss_fn]()
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.standardizer = standardizer
        self.target_standardizer = target_standardizer
        self.training_data = training_data
        self.class_names = (
            None if class_names is None else [str(c) for c in class_names]
        )
        self.task = task
        self.history: History | None = None
        self._input_shape: tuple[int, ...] | None = None

    @property
    def loss_name(self) -> str | None:
        """The loss's name in ``LOSSES`` (None before fit or for a custom loss)."""
        kind = loss_kind(self.loss_fn)
        return None if kind is None else kind.name

    def get_config(self) -> dict[str, Any]:
        """Everything but the model, as JSON-able values (Keras' name).

        A model file keeps it beside the model's architecture and weights, and
        :meth:`from_config` rebuilds the Classifier from the two.
        """

        def state(scaler: Any) -> dict[str, Any] | None:
            return None if scaler is None else scaler.to_dict()

        return {
            "kind": "classifier",
            "standardizer": state(self.standardizer),
            "target_standardizer": state(self.target_standardizer),
            "class_names": None if self.class_names is None else list(self.class_names),
            "task": self.task,
            "loss": self.loss_name,
            "feature_names": self.feature_names,
            "target_name": self.target_name,
            "training_data": self.training_data,
        }

    @classmethod
    def from_config(cls, model: Module, config: dict[str, Any]) -> Classifier:
        """The Classifier of ``model`` and a :meth:`get_config` dict.

        Raises
        ------
        TypeError, ValueError
            If a value of ``config`` cannot be used (named in the message).
        """
        from deepgrad.data import Standardizer

        def scaler(key: str) -> Standardizer | None:
            state = config.get(key)
            return None if state is None else Standardizer.from_dict(state)

        return cls(
            model,
            loss_fn=config.get("loss"),  # its name in LOSSES
            standardizer=scaler("standardizer"),
            target_standardizer=scaler("target_standardizer"),
            class_names=config.get("class_names"),
            task=config.get("task"),
            feature_names=config.get("feature_names"),
            target_name=config.get("target_name"),
            training_data=config.get("training_data"),
        )

    def __repr__(self) -> str:
        return (
            f"Classifier(task={self.task!r}, loss={self.loss_name!r}, "
            f"class_names={self.class_names!r}, model={self.model!r})"
        )

    # -- data ----------------------------------------------------------------------
    @staticmethod
    def _unpack(X: Any, y: Any) -> tuple[Any, Any, Any]:
        """(X, y, the Dataset or None) from fit's or evaluate's arguments."""
        if y is None and hasattr(X, "X") and hasattr(X, "y"):
            return X.X, X.y, X
        return X, y, None

    @staticmethod
    def _as_float(X: Any) -> np.ndarray:
        """X as a float array: from a Dataset, a Tensor or array-like."""
        if hasattr(X, "X") and not isinstance(X, (np.ndarray, Tensor)):
            X = X.X
        array = X.array if isinstance(X, Tensor) else np.asarray(X)
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"Classifier: X must hold numbers, received dtype {array.dtype}"
            )
        return array if array.dtype.kind == "f" else array.astype(np.float32)

    def _features(self, X: Any) -> np.ndarray:
        """The model's input: X as floats, standardized when a standardizer is set."""
        array = self._as_float(X)
        if not _is_fitted(self.standardizer):
            return array
        return np.asarray(self.standardizer.transform(array), dtype=array.dtype)

    def _scaled_targets(self, y: np.ndarray, inverse: bool = False) -> np.ndarray:
        """Regression targets as the model learns them (or, ``inverse``, the
        model's outputs in the targets' units); unchanged without scaling."""
        scaler = self.target_standardizer
        if self._is_classifier() or not _is_fitted(scaler):
            return y
        transform = scaler.inverse_transform if inverse else scaler.transform
        columns = np.asarray(y).reshape(len(y), -1)
        return np.asarray(transform(columns), dtype=y.dtype).reshape(y.shape)

    def _is_classifier(self) -> bool:
        return self.task in ("binary", "multiclass")

    def _encode(self, y: Any, learn_names: bool = False) -> np.ndarray:
        """Labels as the loss expects them: class indices, or floats for regression."""
        labels = y.array if isinstance(y, Tensor) else np.asarray(y)
        if not self._is_classifier():
            if labels.dtype.kind not in "biuf":
                raise TypeError(
                    f"Classifier: regression targets must be numbers, received dtype "
                    f"{labels.dtype}"
                )
            return labels.astype(np.float32) if labels.dtype.kind != "f" else labels
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.dtype.kind in "USO":
            names = [str(label) for label in labels]
            if self.class_names is None and learn_names:
                self.class_names = sorted(set(names))
            if self.class_names is None:
                raise ValueError(
                    "Classifier: labels are names but the classifier has no "
                    "class_names; fit it first or pass class_names=[...]"
                )
            index = {name: i for i, name in enumerate(self.class_names)}
            unknown = sorted(set(names) - set(index))
            if unknown:
                raise ValueError(
                    f"Classifier: labels {unknown} are not among the class names "
                    f"{self.class_names}"
                )
            return np.array([index[name] for name in names], dtype=np.int64)
        if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
            raise ValueError(
                "Classifier: class labels must be class indices 0..C-1 or names, "
                f"received non-integer values such as {labels[:3]}"
            )
        indices = labels.astype(np.int64)
        n_classes = None if self.class_names is None else len(self.class_names)
        too_large = n_classes is not None and indices.max(initial=0) >= n_classes
        if indices.min(initial=0) < 0 or too_large:
            raise ValueError(
                f"Classifier: class indices must be in 0..C-1 (C = {n_classes} class "
                f"names), received values from {indices.min()} to {indices.max()}"
            )
        return indices

    def _infer_task(self, y: Any) -> None:
        if self.task is not None:
            return
        kind = loss_kind(self.loss_fn)
        labels = y.array if isinstance(y, Tensor) else np.asarray(y)
        if kind is not None and not has_accuracy(kind):
            self.task = "regression"
        elif kind is None and self.class_names is None and labels.dtype.kind == "f":
            self.task = "regression"
        else:
            if self.class_names is not None:
                n_classes = len(self.class_names)
            elif labels.dtype.kind in "USO":
                n_classes = len(set(map(str, labels.ravel())))
            else:
                n_classes = int(labels.max()) + 1
            self.task = "binary" if n_classes <= 2 else "multiclass"

    def _default_loss(self, X: np.ndarray) -> Module:
        last = _last_leaf(self.model)
        if self.task == "regression":
            return nn.MSELoss()
        if isinstance(last, nn.LogSoftmax):
            return nn.NLLLoss()
        outputs = _forward_all(self.model, X[:2]).shape[-1]
        if self.task == "binary" and outputs == 1:
            return (
                nn.BCELoss() if isinstance(last, nn.Sigmoid) else nn.BCEWithLogitsLoss()
            )
        return nn.CrossEntropyLoss()

    # -- training ------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any = None,
        epochs: int = 1,
        batch_size: int | str | None = 32,
        validation: Any = None,
        callbacks: Iterable[Callback] = (),
        verbose: int = 1,
        log_every: int = 1,
        shuffle: bool = True,
        seed: int | None = None,
        initial_epoch: int = 0,
        *,
        training_state: dict[str, Any] | None = None,
        live: bool = False,
    ) -> History:
        """Train on (X, y), a Dataset as X, with labels in the user's own names.

        ``validation`` is an (X, y) tuple, a Dataset, or a fraction split off
        (stratified, seeded) before the standardizer is fitted on the rest.
        The other arguments are :func:`fit`'s.

        Returns
        -------
        History
            Also kept as ``self.history``.
        """
        check_settings(epochs, verbose, log_every, initial_epoch)
        X, y, dataset = self._unpack(X, y)
        if y is None:
            raise ValueError("Classifier.fit needs targets: fit(X, y) or fit(dataset)")
        if dataset is not None:
            if self.class_names is None and getattr(dataset, "class_names", None):
                self.class_names = [str(name) for name in dataset.class_names]
            if self.task is None and getattr(dataset, "task", None) in _TASKS:
                self.task = dataset.task
        self._infer_task(y)
        X_train = self._as_float(X)
        y_train = self._encode(y, learn_names=True)
        dtype = model_dtype(self.model)
        names = self.feature_names or getattr(dataset, "feature_names", None)
        check_values(X_train, y_train, "training", dtype, names)
        if isinstance(validation, float):
            (X_train, y_train), validation = split_off_validation(
                X_train, y_train, validation, self._is_classifier(), seed
            )
        elif validation is not None:
            X_val, y_val = xy_arrays(validation, "validation")
            validation = (self._as_float(X_val), self._encode(y_val))
            check_values(*validation, "validation", dtype, names)
        if self.standardizer is not None and not _is_fitted(self.standardizer):
            self.standardizer.fit(X_train)
        regression = not self._is_classifier()
        if regression and self.target_standardizer is not None:
            if not _is_fitted(self.target_standardizer):
                self.target_standardizer.fit(y_train.reshape(len(y_train), -1))
        X_train = self._features(X_train)
        self._input_shape = tuple(X_train.shape[1:])
        if validation is not None:
            validation = (self._features(validation[0]), validation[1])
        if self.loss_fn is None:
            self.loss_fn = self._default_loss(X_train)
        scores = None
        if regression and loss_kind(self.loss_fn) is not None:
            scores = _RegressionScores(
                self._predict_values, (X_train, y_train), validation
            )
        y_train = self._scaled_targets(y_train)
        if validation is not None:
            validation = (validation[0], self._scaled_targets(validation[1]))
        if self.optimizer is None:
            from deepgrad.optim import Adam

            self.optimizer = Adam(self.model.parameters(), lr=1e-3)

        DataLoader = data_loader_class()
        loader = DataLoader(
            X_train, y_train, batch_size=batch_size, shuffle=shuffle, seed=seed
        )
        validation_loader = (
            None if validation is None else evaluation_loader(*validation)
        )
        self.history = fit_loop(
            self.model,
            self.loss_fn,
            self.optimizer,
            loader,
            validation_loader,
            epochs=epochs,
            callbacks=with_live_plot(callbacks, live),
            verbose=verbose,
            log_every=log_every,
            initial_epoch=initial_epoch,
            accuracy=has_accuracy(loss_kind(self.loss_fn)),
            training_state=training_state,
            save_target=self,
            scores=scores,
        )
        return self.history

    # -- prediction ----------------------------------------------------------------
    def _kind(self) -> LossKind:
        kind = loss_kind(self.loss_fn)
        if kind is None:
            raise ValueError(
                "Classifier: predictions need one of deepgrad's losses "
                f"({sorted(LOSSES)}); fit the classifier first or pass loss_fn"
            )
        return kind

    def _predict_indices(self, output: Tensor) -> np.ndarray:
        kind = self._kind()
        if kind.threshold is not None:
            predicted = (output.array > kind.threshold).astype(np.int64)
            return (
                predicted[:, 0]
                if predicted.ndim == 2 and predicted.shape[1] == 1
                else predicted
            )
        return output.array.argmax(axis=-1)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels: class names when ``class_names`` is set, else indices;
        the model's outputs for regression (one column raveled)."""
        if not self._is_classifier():
            return self._predict_values(self._features(X))
        output = _forward_all(self.model, self._features(X))
        indices = self._predict_indices(output)
        if self.class_names is None:
            return indices
        return np.asarray(self.class_names)[indices]

    def _predict_values(self, features: np.ndarray) -> np.ndarray:
        """A regression model's outputs for model inputs, in the targets' units
        (one column raveled)."""
        values = self._scaled_targets(_forward_all(self.model, features).array, True)
        return values[:, 0] if values.ndim == 2 and values.shape[1] == 1 else values

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), as scikit-learn's.

        A single sigmoid output p gives the two columns ``[1 - p, p]``.

        Raises
        ------
        ValueError
            For a regression model.
        """
        kind = self._kind()
        if kind.probability is None:
            raise ValueError(
                f"Classifier.predict_proba needs a classification loss, this one is "
                f"{kind.name!r}; use predict"
            )
        output = _forward_all(self.model, self._features(X))
        probabilities = kind.probability(output).array
        if (
            kind.threshold is not None
            and probabilities.ndim == 2
            and probabilities.shape[1] == 1
        ):
            return np.concatenate([1 - probabilities, probabilities], axis=1)
        return probabilities

    def evaluate(self, X: Any, y: Any = None) -> dict[str, Any]:
        """Loss, accuracy, the per-class report and the confusion matrix on (X, y);
        for regression the loss, MSE, RMSE, MAE and R².

        Returns
        -------
        dict
            ``loss`` (of the targets as the model learns them, standardized when
            ``target_standardizer`` is set); for classification also
            ``accuracy``, ``report`` (``deepgrad.metrics.classification_report``)
            and ``confusion_matrix``; for regression ``mse``, ``rmse``, ``mae``
            and ``r2`` in the targets' own units
            (``deepgrad.metrics.regression_scores``).
        """
        X, y, _ = self._unpack(X, y)
        if y is None:
            raise ValueError("Classifier.evaluate needs targets: evaluate(X, y)")
        kind = self._kind()
        features = self._features(X)
        targets = self._encode(y)
        loss, accuracy = evaluate_loader(
            self.model,
            self.loss_fn,
            kind,
            evaluation_loader(features, self._scaled_targets(targets)),
            has_accuracy(kind),
        )
        result: dict[str, Any] = {"loss": loss}
        from deepgrad import metrics

        if not self._is_classifier():
            scores = metrics.regression_scores(targets, self._predict_values(features))
            return result | scores

        predicted = self._predict_indices(_forward_all(self.model, features))
        n_classes = None if self.class_names is None else len(self.class_names)
        result["accuracy"] = accuracy
        result["report"] = metrics.classification_report(
            targets, predicted, class_names=self.class_names
        )
        result["confusion_matrix"] = metrics.confusion_matrix(
            targets, predicted, num_classes=n_classes
        )
        return result

    def summary(self, input_shape: Any = None) -> None:
        """Print the model's Keras-style summary (see :func:`summary`)."""
        echo(summary(self.model, input_shape or self._input_shape))
