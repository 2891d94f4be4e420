"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor`` trained by deepgrad.

They take scikit-learn's constructor parameters and give its fitted attributes,
so they drop into ``Pipeline``, ``GridSearchCV`` and ``cross_val_score``; the
network is a deepgrad ``nn.Sequential`` (``model_``) trained by
:func:`deepgrad.train.fit`, through the compiled step of :mod:`deepgrad.fast`
when the network is a plain MLP. What scikit-learn's MLP does around each batch
and epoch (the L2 penalty, the stopping rule, the learning-rate schedules, early
stopping) is one fit callback, ``_SklearnRules``; the batches come in
scikit-learn's order from ``_SklearnBatches``. With the default
``initializer="glorot_uniform"`` the initial weights are scikit-learn's too, so
the same ``random_state`` starts and shuffles exactly as scikit-learn does:
with ``solver="sgd"`` or ``"adam"`` deepgrad then reproduces scikit-learn's
``loss_curve_`` and weights to rounding (tests/test_sklearn.py).

scikit-learn is an optional dependency, imported by this module only:
``pip install 'deepgrad[sklearn]'``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from itertools import pairwise
from typing import Any, NoReturn

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import (
        check_classification_targets,
        type_of_target,
        unique_labels,
    )
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as error:  # pragma: no cover - the extra is missing
    raise ImportError(
        "deepgrad.sklearn needs scikit-learn 1.6 or newer: "
        "pip install 'deepgrad[sklearn]'"
    ) from error

from deepgrad import nn
from deepgrad.data.loader import DataLoader, TensorDataset
from deepgrad.nn import init
from deepgrad.ops import sigmoid, softmax
from deepgrad.optim import SGD, Adagrad, Adam, AdamW, RMSprop
from deepgrad.optim.optimizer import Optimizer
from deepgrad.tensor import Generator, Tensor, manual_seed
from deepgrad.train import Callback, fit
from deepgrad.train.classifier import Classifier, _forward_all

# scikit-learn's hidden activations, as deepgrad modules
ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
}
SOLVERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
LEARNING_RATES = ("constant", "invscaling", "adaptive")


def _glorot_uniform(linear: nn.Linear, activation: str, random_state: Any) -> None:
    """scikit-learn's initialisation, drawn in its order from the same RandomState:
    W and b ~ U(-r, r), r = sqrt(factor / (fan_in + fan_out)), factor 2 for a
    logistic network and 6 otherwise (Glorot and Bengio, 2010)."""
    fan_in, fan_out = linear.in_features, linear.out_features
    bound = math.sqrt((2.0 if activation == "logistic" else 6.0) / (fan_in + fan_out))
    coef = random_state.uniform(-bound, bound, (fan_in, fan_out))
    intercept = random_state.uniform(-bound, bound, fan_out)
    dtype = linear.weight.dtype
    # scikit-learn's coef is W^T
    linear.weight = nn.Parameter(np.ascontiguousarray(coef.T, dtype=dtype))
    linear.bias = nn.Parameter(intercept.astype(dtype))


def _pytorch_default(linear: nn.Linear, activation: str, random_state: Any) -> None:
    """nn.Linear's own: W ~ kaiming_uniform(a=sqrt(5)), b ~ U(-1/sqrt(fan_in), ..),
    drawn from a Generator seeded by ``random_state``."""
    generator = Generator().manual_seed(int(random_state.randint(2**31)))
    init.kaiming_uniform_(linear.weight, a=math.sqrt(5), generator=generator)
    bound = 1 / math.sqrt(linear.in_features)
    if linear.bias is not None:
        init.uniform_(linear.bias, -bound, bound, generator=generator)


def _zero_bias(fill_weight: Any) -> Any:
    def initialise(linear: nn.Linear, activation: str, random_state: Any) -> None:
        generator = Generator().manual_seed(int(random_state.randint(2**31)))
        fill_weight(linear.weight, activation, generator)
        linear.bias = nn.Parameter(np.zeros(linear.out_features, linear.weight.dtype))

    return initialise


_GAINS = {"identity": "linear", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
INITIALIZERS = {
    "glorot_uniform": _glorot_uniform,
    "pytorch": _pytorch_default,
    "xavier_normal": _zero_bias(
        lambda weight, activation, generator: init.xavier_normal_(
            weight, init.calculate_gain(_GAINS[activation]), generator=generator
        )
    ),
    "kaiming_uniform": _zero_bias(
        lambda weight, activation, generator: init.kaiming_uniform_(
            weight, nonlinearity="relu", generator=generator
        )
    ),
    "kaiming_normal": _zero_bias(
        lambda weight, activation, generator: init.kaiming_normal_(
            weight, nonlinearity="relu", generator=generator
        )
    ),
}


class _SklearnBatches(DataLoader):
    """The batches of scikit-learn's ``_fit_stochastic``: each epoch the previous
    order is shuffled as ``sklearn.utils.shuffle`` does it (``RandomState.shuffle``
    of ``arange(n)``, the same draws), then cut into ``batch_size`` rows (the
    last batch smaller). ``min_last``: a smaller last batch joins the one
    before it (batch norm cannot train on one row)."""

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        shuffle: bool,
        rng: Any,
        min_last: int = 1,
    ) -> None:
        super().__init__(TensorDataset(X, y), batch_size=batch_size)
        self.shuffle_rows, self.random_state = shuffle, rng
        self.order = np.arange(len(X))
        starts = list(range(0, self.n_samples, batch_size))
        if len(starts) > 1 and self.n_samples - starts[-1] < min_last:
            starts.pop()
        self.bounds = list(pairwise([*starts, self.n_samples]))

    def __len__(self) -> int:
        return len(self.bounds)

    def batch_sizes(self) -> list[int]:
        return [stop - start for start, stop in self.bounds]

    def __iter__(self):
        if self.shuffle_rows:
            permutation = np.arange(self.n_samples)
            self.random_state.shuffle(permutation)
            self.order = self.order[permutation]
        for start, stop in self.bounds:
            rows = self.order[start:stop]
            yield Tensor(self.X[rows]), Tensor(self.y[rows])


class _SklearnRules(Callback):
    """scikit-learn's MLP rules around deepgrad's training step.

    Around each batch: the L2 penalty alpha/2 ||W||^2 / batch_size, whose
    gradient alpha W / batch_size is the weights' ``weight_decay`` (times
    the estimator's ``_grad_scale``, as the loss's gradient is), set for the
    coming batch's size, and Adam's epsilon for the coming step. After
    each epoch: ``loss_curve_`` (the loss in scikit-learn's units plus the
    penalty summed over the epoch's batches / n_samples), the no-improvement
    count on the training loss or, with early stopping, the validation score
    (keeping the best weights), the 'invscaling' and 'adaptive' learning rates
    (SGD), and the stop after ``n_iter_no_change`` epochs without improvement.
    """

    def __init__(self, estimator: Any, loader: _SklearnBatches, validation: Any):
        self.estimator = estimator
        self.sizes = loader.batch_sizes()
        self.n_samples = loader.n_samples
        self.validation = validation
        self.converged = False
        model = estimator.model_
        self.weights = [m.weight for m in model if isinstance(m, nn.Linear)]
        self.decay_group = estimator._optimizer.param_groups[0]
        self.adam = estimator.solver in ("adam", "adamw")

    def _squared_weights(self) -> float:
        return sum(float(np.vdot(w.array, w.array)) for w in self.weights)

    def _set_decay(self, batch: int) -> None:
        """The coming step's options: the penalty's weight_decay for its batch
        size and, for Adam, scikit-learn's epsilon (see ``_adam_epsilon``)."""
        estimator = self.estimator
        decay = estimator.alpha / self.sizes[batch] * estimator._grad_scale
        self.decay_group["weight_decay"] = decay
        if self.adam:
            state = estimator._optimizer.state.get(self.weights[0], {})
            eps = estimator._adam_epsilon(state.get("step", 0.0) + 1)
            for group in estimator._optimizer.param_groups:
                group["eps"] = eps

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        # sum over the batches of ||W||^2 before each batch's step
        self.squared_sum = self._squared_weights() if self.estimator.alpha else 0.0
        self._set_decay(0)

    def on_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if batch + 1 < len(self.sizes):
            if self.estimator.alpha:
                self.squared_sum += self._squared_weights()
            self._set_decay(batch + 1)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        estimator = self.estimator
        penalty = 0.5 * estimator.alpha * self.squared_sum / self.n_samples
        model_loss = (logs or {}).get("loss", math.nan)  # fit's: the mean batch loss
        estimator.loss_ = model_loss * estimator._loss_units + penalty
        estimator.loss_curve_.append(estimator.loss_)
        estimator.n_iter_ += 1
        estimator.t_ += self.n_samples
        if self.validation is not None:
            X_val, y_val = self.validation
            score = estimator._score_model(X_val, y_val)
            estimator.validation_scores_.append(score)
            improved = score >= estimator.best_validation_score_ + estimator.tol
            if score > estimator.best_validation_score_:
                estimator.best_validation_score_ = score
                estimator._best_state = {
                    key: value.array.copy()
                    for key, value in estimator.model_.state_dict().items()
                }
        else:
            improved = estimator.loss_ <= estimator.best_loss_ - estimator.tol
            estimator.best_loss_ = min(estimator.best_loss_, estimator.loss_)
        estimator._no_improvement_count = (
            0 if improved else estimator._no_improvement_count + 1
        )
        sgd = estimator.solver == "sgd"
        if sgd and estimator.learning_rate == "invscaling":
            estimator._set_learning_rate(
                estimator.learning_rate_init / (estimator.t_ + 1) ** estimator.power_t
            )
        if estimator._no_improvement_count > estimator.n_iter_no_change:
            what = (
                "Validation score" if self.validation is not None else "Training loss"
            )
            message = (
                f"{what} did not improve more than tol={estimator.tol:f} for "
                f"{estimator.n_iter_no_change} consecutive epochs."
            )
            adaptive = sgd and estimator.learning_rate == "adaptive"
            if adaptive and estimator._lr > 1e-6:  # lr / 5, and go on
                estimator._set_learning_rate(estimator._lr / 5.0)
                estimator._no_improvement_count = 0
            else:
                self.converged = True
                self.stop_training(message)


class _BaseMLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share: parameters, the network, fit."""

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        dropout: float = 0.0,
        batch_norm: bool = False,
        initializer: str = "glorot_uniform",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.initializer = initializer

    # -- parameters --------------------------------------------------------------
    def _fail(self, message: str) -> NoReturn:
        raise ValueError(f"{type(self).__name__}: {message}")

    def _check_choice(self, name: str, options: tuple[str, ...]) -> None:
        value = getattr(self, name)
        if value not in options:
            self._fail(f"{name} must be one of {list(options)}, received: {value!r}")

    def _check_number(
        self, name: str, low: float, high: float = math.inf, closed: str = "left"
    ) -> None:
        """A number between low and high; ``closed`` ('left', 'right', 'both' or
        'neither') says which of the two it may equal."""
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            self._fail(f"{name} must be a number, received: {value!r}")
        number = float(value)
        above = number >= low if closed in ("left", "both") else number > low
        below = number <= high if closed in ("right", "both") else number < high
        if not (above and below):
            left = "[" if closed in ("left", "both") else "("
            right = "]" if closed in ("right", "both") else ")"
            self._fail(
                f"{name} must be in {left}{low}, {high}{right}, received: {value}"
            )

    def _check_integer(self, name: str, value: Any, smallest: int = 1) -> None:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            self._fail(f"{name} must be an integer, received: {value!r}")
        if value < smallest:
            self._fail(f"{name} must be >= {smallest}, received: {value}")

    def _hidden_sizes(self) -> list[int]:
        given = self.hidden_layer_sizes
        sizes = list(given) if hasattr(given, "__iter__") else [given]
        for size in sizes:
            whole = isinstance(size, numbers.Integral) and not isinstance(size, bool)
            if not whole or size < 1:
                self._fail(
                    "hidden_layer_sizes must be an integer >= 1 or a sequence of "
                    f"them, received: {given!r}"
                )
        return [int(size) for size in sizes]

    def _check_params(self) -> None:
        if self.solver == "lbfgs":
            self._fail(
                "solver='lbfgs' is not available (deepgrad trains by mini-batch "
                f"gradient descent); choose one of {list(SOLVERS)}, e.g. 'adam'"
            )
        self._check_choice("solver", SOLVERS)
        self._check_choice("activation", tuple(ACTIVATIONS))
        self._check_choice("learning_rate", LEARNING_RATES)
        self._check_choice("initializer", tuple(INITIALIZERS))
        self._hidden_sizes()
        if self.batch_size != "auto":
            self._check_integer("batch_size", self.batch_size)
        self._check_integer("max_iter", self.max_iter)
        if self.n_iter_no_change != np.inf:
            self._check_integer("n_iter_no_change", self.n_iter_no_change)
        self._check_number("alpha", 0)
        self._check_number("learning_rate_init", 0, closed="neither")
        self._check_number("power_t", 0)
        self._check_number("tol", 0)
        self._check_number("momentum", 0, 1, "both")
        self._check_number("validation_fraction", 0, 1)
        self._check_number("beta_1", 0, 1)
        self._check_number("beta_2", 0, 1)
        self._check_number("epsilon", 0, closed="neither")
        self._check_number("dropout", 0, 1)
        if self.early_stopping and self.validation_fraction == 0:
            self._fail("early_stopping needs a validation_fraction in (0, 1)")

    # -- the network ---------------------------------------------------------------
    def _build(self, layer_units: list[int], dtype: np.dtype, rng: Any) -> None:
        """model_: Linear layers with the hidden activation (and batch norm and
        dropout when asked), ending in the output layer's pre-activation."""
        modules: list[nn.Module] = []
        initialise = INITIALIZERS[self.initializer]
        for index, (fan_in, fan_out) in enumerate(pairwise(layer_units)):
            linear = nn.Linear(fan_in, fan_out, dtype=dtype)
            initialise(linear, self.activation, rng)
            modules.append(linear)
            if index == len(layer_units) - 2:
                break
            if self.batch_norm:
                modules.append(nn.BatchNorm1d(fan_out, dtype=dtype))
            modules.append(ACTIVATIONS[self.activation]())
            if self.dropout:
                modules.append(nn.Dropout(self.dropout))
        self.model_ = nn.Sequential(*modules)
        self.n_layers_ = len(layer_units)
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_: list[float] = []
        self._no_improvement_count = 0
        self._best_state: dict[str, np.ndarray] | None = None  # early stopping's
        if self.early_stopping:
            self.validation_scores_: list[float] | None = []
            self.best_validation_score_: float | None = -np.inf
            self.best_loss_: float | None = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    @property
    def coefs_(self) -> list[np.ndarray]:
        """The Linear layers' weights in scikit-learn's layout: (n_in, n_out)
        views of the model's weights (writing them changes the model)."""
        check_is_fitted(self, "model_")
        return [m.weight.array.T for m in self.model_ if isinstance(m, nn.Linear)]

    @property
    def classifier_(self) -> Classifier:
        """The fitted network as a deepgrad Classifier (the same model, not a
        copy): what ``deepgrad.export.to_onnx`` exports, ``dg.save`` writes as a
        model file and ``deepgrad predict`` reads. Its probabilities and
        predictions are this estimator's."""
        check_is_fitted(self, "model_")
        if self.out_activation_ == "identity":
            return Classifier(self.model_, loss_fn=nn.MSELoss(), task="regression")
        if self.out_activation_ == "logistic" and self.n_outputs_ > 1:
            raise ValueError(
                f"{type(self).__name__}: a multilabel estimator ({self.n_outputs_} "
                "independent yes/no outputs) has no Classifier form; a Classifier "
                "predicts one class per sample"
            )
        names = [str(label) for label in self.classes_]
        loss = nn.CrossEntropyLoss() if self.out_activation_ == "softmax" else None
        return Classifier(
            self.model_,
            loss_fn=loss or nn.BCEWithLogitsLoss(),
            class_names=names,
            task="multiclass" if loss is not None else "binary",
        )

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The Linear layers' biases (views of the model's)."""
        check_is_fitted(self, "model_")
        return [
            m.bias.array
            for m in self.model_
            if isinstance(m, nn.Linear) and m.bias is not None
        ]

    def _make_optimizer(self) -> None:
        """The solver over two groups: the Linear weights, whose weight_decay is
        the alpha penalty's gradient (set per batch), and the rest (biases, batch
        norm), which scikit-learn does not penalise."""
        weights = [m.weight for m in self.model_ if isinstance(m, nn.Linear)]
        penalised = {id(w) for w in weights}
        rest = [p for p in self.model_.parameters() if id(p) not in penalised]
        groups: list[dict[str, Any]] = [
            {"params": weights},
            {"params": rest, "weight_decay": 0.0},
        ]
        self._optimizer: Optimizer
        scale = self._grad_scale
        # scale: the model loss's gradient is `scale` times scikit-learn's; SGD's
        # step and the adaptive optimizers' epsilon undo it exactly
        if self.solver == "sgd":
            self._optimizer = SGD(
                groups,
                lr=self.learning_rate_init / scale,
                momentum=self.momentum,
                nesterov=self.nesterovs_momentum and self.momentum > 0,
            )
        elif self.solver in ("adam", "adamw"):
            adam = Adam if self.solver == "adam" else AdamW
            self._optimizer = adam(
                groups,
                lr=self.learning_rate_init,
                betas=(self.beta_1, self.beta_2),
                eps=self._adam_epsilon(1),  # set again before every step
            )
        else:
            adaptive = RMSprop if self.solver == "rmsprop" else Adagrad
            self._optimizer = adaptive(
                groups, lr=self.learning_rate_init, eps=self.epsilon * scale
            )
        self._lr = self.learning_rate_init

    def _adam_epsilon(self, step: float) -> float:
        """Adam's eps for step t that gives scikit-learn's step: it adds epsilon to
        sqrt(v_t) before the bias correction, PyTorch to sqrt(v_t / (1 - beta_2^t))
        after it, so PyTorch's eps is epsilon / sqrt(1 - beta_2^t) (times the
        gradient scale)."""
        return self.epsilon * self._grad_scale / math.sqrt(1 - self.beta_2**step)

    def _set_learning_rate(self, lr: float) -> None:
        """The learning rate in scikit-learn's units (SGD's step is lr / scale)."""
        self._lr = lr
        for group in self._optimizer.param_groups:
            group["lr"] = lr / self._grad_scale

    # -- training ------------------------------------------------------------------
    def _fit(self, X: Any, y: Any, incremental: bool) -> _BaseMLP:
        self._check_params()
        hidden = self._hidden_sizes()
        if self.early_stopping and incremental:
            self._fail("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "model_") or (
            not self.warm_start and not incremental
        )
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        targets = y.reshape(-1, 1) if y.ndim == 1 else y
        rng = check_random_state(self.random_state)
        if first_pass:
            self.n_outputs_ = targets.shape[1]
            self._set_output(self.n_outputs_)
            self._build([X.shape[1], *hidden, self.n_outputs_], X.dtype, rng)
        dtype = self.model_[0].weight.array.dtype
        X = X.astype(dtype, copy=False)
        if not incremental or not hasattr(self, "_optimizer"):
            self._make_optimizer()
        validation = None
        if self.early_stopping:
            stratify = targets if self._stratify() else None
            X, X_val, targets, y_val = train_test_split(
                X,
                targets,
                random_state=rng,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            if X_val.shape[0] < 2:
                self._fail(
                    "the validation set is too small; increase validation_fraction "
                    "or the size of your dataset"
                )
            validation = (X_val, self._decode(y_val))
        n_samples = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    f"{type(self).__name__}: batch_size={self.batch_size} is larger "
                    f"than the {n_samples} samples; it is clipped to {n_samples}",
                    UserWarning,
                    stacklevel=3,
                )
            batch_size = min(self.batch_size, n_samples)
        if self.batch_norm and n_samples < 2:
            self._fail(
                f"batch_norm=True needs at least 2 samples to train, received "
                f"n_samples = {n_samples}"
            )
        loader = _SklearnBatches(
            X,
            self._model_targets(targets, dtype),
            batch_size,
            self.shuffle,
            rng,
            min_last=2 if self.batch_norm else 1,
        )
        if self.dropout:  # the masks come from deepgrad's generator
            manual_seed(int(rng.randint(2**31)))
        rules = _SklearnRules(self, loader, validation)
        self.n_iter_ = 0
        history = fit(
            self.model_,
            self._loss_fn,
            self._optimizer,
            loader,
            epochs=1 if incremental else self.max_iter,
            callbacks=[rules],
            verbose=2 if self.verbose else 0,
            metrics=None,
        )
        if history.interrupted:
            warnings.warn("Training interrupted by user.", stacklevel=3)
        elif (
            not incremental
            and not rules.converged
            and not history.diverged
            and self.n_iter_ == self.max_iter
        ):
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        best_state = getattr(self, "_best_state", None)
        if validation is not None and best_state is not None:
            self.model_.load_state_dict(best_state)
        return self

    def fit(self, X: Any, y: Any) -> _BaseMLP:
        """Train the network on (X, y) for up to ``max_iter`` epochs.

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=False)

    def _outputs(self, X: Any) -> np.ndarray:
        """The network's outputs (pre-activation) for X, validated."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False)
        dtype = self.model_[0].weight.array.dtype
        return _forward_all(self.model_, X.astype(dtype, copy=False)).array


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """scikit-learn's ``MLPClassifier``, trained by deepgrad.

    The network is ``model_``, an ``nn.Sequential`` of ``Linear`` layers and the
    hidden activation, ending in one output per class (multiclass: softmax and
    cross-entropy, ``nn.CrossEntropyLoss`` on its outputs) or one output for
    two classes and per label for multilabel targets (logistic and binary
    cross-entropy, ``nn.BCEWithLogitsLoss``). ``out_activation_`` names it.

    Parameters
    ----------
    hidden_layer_sizes, activation, alpha, batch_size, learning_rate_init,
    max_iter, shuffle, random_state, tol, warm_start, momentum,
    nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2,
    epsilon, n_iter_no_change
        As scikit-learn's, and applied as it does: ``batch_size='auto'`` is
        min(200, n_samples); ``max_iter`` is the number of epochs; training
        stops when the training loss (with ``early_stopping``, the validation
        accuracy on a ``validation_fraction`` split, stratified for two
        classes, whose best weights are kept) has not improved by ``tol`` for
        more than
        ``n_iter_no_change`` epochs, and warns ``ConvergenceWarning`` when
        ``max_iter`` ends it first; ``random_state`` draws the initial weights,
        the validation split and each epoch's shuffling, in scikit-learn's
        order.
    solver : {'adam', 'sgd', 'adamw', 'rmsprop', 'adagrad'}, default='adam'
        deepgrad's optimizer: 'sgd' is ``optim.SGD`` with ``momentum`` and
        Nesterov when ``nesterovs_momentum``; 'adam' ``optim.Adam`` with
        ``betas=(beta_1, beta_2)``, its ``eps`` set before each step t to
        epsilon / sqrt(1 - beta_2^t), which is where scikit-learn's Adam adds
        epsilon (before the bias correction; PyTorch's after it). 'adamw' is
        the same with AdamW; 'rmsprop' and 'adagrad' are deepgrad's own, with
        ``learning_rate_init`` and ``eps=epsilon``.
        scikit-learn's 'lbfgs' is not available: a ValueError names these.
    alpha : float, default=1e-4
        L2 penalty as scikit-learn adds it to each batch's loss:
        alpha / 2 * sum ||W||^2 / batch_size over the weights (not the biases).
        Its gradient alpha W / batch_size is the weights' ``weight_decay``,
        set before every batch; for 'adamw' that decay is decoupled, AdamW's.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        For 'sgd' only, as scikit-learn: 'invscaling' sets
        lr = learning_rate_init / (t + 1) ** power_t after each epoch (t: the
        samples seen so far); 'adaptive' divides lr by 5 where training would
        stop, and stops when lr <= 1e-6.
    power_t : float, default=0.5
        The exponent of 'invscaling'.
    verbose : bool, default=False
        Print fit's Keras-style line every epoch (deepgrad's loss, without the
        penalty) and why training stopped.
    dropout : float, default=0.0
        deepgrad's: ``nn.Dropout(dropout)`` after every hidden activation. Its
        masks come from deepgrad's generator, which fit then seeds
        (``dg.manual_seed``) from ``random_state``.
    batch_norm : bool, default=False
        deepgrad's: ``nn.BatchNorm1d`` before every hidden activation. A last
        batch of one row joins the batch before it (batch statistics need two).
    initializer : str, default='glorot_uniform'
        deepgrad's: 'glorot_uniform' is scikit-learn's (weights and biases
        uniform, the same draws for the same ``random_state``); 'pytorch'
        ``nn.Linear``'s default; 'xavier_normal', 'kaiming_uniform' and
        'kaiming_normal' ``nn.init``'s, with zero biases.

    Attributes
    ----------
    classes_, n_features_in_, feature_names_in_, n_outputs_, n_layers_,
    out_activation_, loss_, loss_curve_, best_loss_, validation_scores_,
    best_validation_score_, n_iter_, t_
        As scikit-learn's. ``loss_curve_`` holds scikit-learn's loss: the
        cross-entropy summed over the outputs, averaged over the samples, plus
        the penalty.
    coefs_, intercepts_ : list of ndarray
        Each Linear layer's weights (n_in, n_out) and biases, views of the model's.
    model_ : nn.Sequential
        The trained network, from features to the output layer's
        pre-activation (logits), to save, export or inspect like any deepgrad
        model; ``out_activation_`` names the output activation it lacks.

    Notes
    -----
    Training runs in the input's floating dtype as scikit-learn's does: float32
    data trains a float32 network, anything else (float64, integers) float64.
    Not supported: sparse input (convert it with ``.toarray()``),
    ``sample_weight``, and the regressor's ``loss='poisson'``. Where
    scikit-learn raises on non-finite weights, fit's divergence guard stops a
    run that blows up, puts back the last good weights and warns
    ``DivergenceWarning``.

    Example
    -------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = make_pipeline(
    ...     StandardScaler(),
    ...     MLPClassifier((16,), learning_rate_init=0.05, random_state=0),
    ... ).fit(X, y)
    >>> clf.score(X, y) > 0.95
    True
    """

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool):
        X, y = validate_data(
            self, X, y, multi_output=True, dtype=(np.float64, np.float32), reset=reset
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and set(classes) != set(self.classes_):
                self._fail(
                    "warm_start can only be used where y has the same classes as "
                    f"in the previous call to fit; previously {self.classes_}, "
                    f"y has {classes}"
                )
            if len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                self._fail(
                    f"y has classes not in classes_ ({self.classes_}); y has {classes}"
                )
        return X, self._label_binarizer.transform(y).astype(bool)

    def _set_output(self, n_outputs: int) -> None:
        multiclass = self._label_binarizer.y_type_ == "multiclass"
        self.out_activation_ = "softmax" if multiclass else "logistic"
        self._loss_fn: nn.Module
        if multiclass:
            self._loss_fn = nn.CrossEntropyLoss()
            self._grad_scale = self._loss_units = 1.0
        else:
            # mean over samples and outputs: 1/n_outputs of scikit-learn's
            # gradient, whose loss sums over the outputs
            self._loss_fn = nn.BCEWithLogitsLoss()
            self._grad_scale = 1.0 / n_outputs
            self._loss_units = float(n_outputs)

    def _stratify(self) -> bool:
        return self.n_outputs_ == 1  # scikit-learn's: two classes only

    def _model_targets(self, y: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """Class indices for cross-entropy, 0/1 floats for the logistic outputs."""
        if self.out_activation_ == "softmax":
            return y.argmax(axis=1)
        return y.astype(dtype)

    def _decode(self, y: np.ndarray) -> np.ndarray:
        return self._label_binarizer.inverse_transform(y)

    def _probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """Softmax or logistic of the network's outputs, (n_samples, n_outputs)."""
        if self.out_activation_ == "softmax":
            return softmax(Tensor(outputs), dim=1).array
        return sigmoid(Tensor(outputs)).array

    def _labels(self, outputs: np.ndarray) -> np.ndarray:
        """The classes the outputs predict (probability > 0.5, or the largest)."""
        probabilities = self._probabilities(outputs)
        if self.n_outputs_ == 1:
            probabilities = probabilities.ravel()
        return self._label_binarizer.inverse_transform(probabilities)

    def _score_model(self, X: np.ndarray, y: np.ndarray) -> float:
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(y, self._labels(_forward_all(self.model_, X).array)))

    def predict(self, X: Any) -> np.ndarray:
        """The predicted classes, shape (n_samples,) or (n_samples, n_labels)."""
        return self._labels(self._outputs(X))

    def decision_function(self, X: Any) -> np.ndarray:
        """The output layer's pre-activation (logits), whose softmax or logistic
        is ``predict_proba``: (n_samples,) for two classes, else
        (n_samples, n_outputs)."""
        outputs = self._outputs(X)
        return outputs.ravel() if self.n_outputs_ == 1 else outputs

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, (n_samples, n_classes) in the order of ``classes_``;
        for two classes the columns 1 - p and p of the logistic output."""
        probabilities = self._probabilities(self._outputs(X))
        if self.n_outputs_ == 1:
            p = probabilities.ravel()
            return np.vstack([1 - p, p]).T
        return probabilities

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """``log(predict_proba(X))``."""
        probabilities = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(probabilities, out=probabilities)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """One epoch over (X, y), continuing from the current weights and
        optimizer state. ``classes`` (every class of all calls) is required on
        the first call.

        Returns
        -------
        self
        """
        known = getattr(self, "classes_", None)
        if known is None:  # the first call
            if classes is None:
                self._fail("classes must be passed on the first call to partial_fit")
            self.classes_ = unique_labels(classes)
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        elif classes is not None and not np.array_equal(known, unique_labels(classes)):
            self._fail(
                f"classes={classes!r} is not the same as on the first call to "
                f"partial_fit, {known!r}"
            )
        return self._fit(X, y, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """scikit-learn's ``MLPRegressor``, trained by deepgrad.

    The network is ``model_``, an ``nn.Sequential`` of ``Linear`` layers and the
    hidden activation with an identity output, one per target, trained on
    squared error (``nn.MSELoss``). Its parameters are MLPClassifier's (see
    there), with early stopping scored by R² on an unstratified split.
    ``loss_curve_`` holds scikit-learn's loss, half the mean squared error plus
    the penalty; MSELoss's gradient is 2 / n_outputs times scikit-learn's, so
    SGD's step is divided by it and the adaptive optimizers' epsilon multiplied
    by it, which gives scikit-learn's steps exactly.

    Example
    -------
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1, random_state=0)
    >>> reg = MLPRegressor((32,), learning_rate_init=0.05, max_iter=1000, tol=0.1,
    ...                    random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.99
    True
    """

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool):
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _set_output(self, n_outputs: int) -> None:
        self.out_activation_ = "identity"
        self._loss_fn = nn.MSELoss()
        self._grad_scale = 2.0 / n_outputs
        self._loss_units = 0.5  # scikit-learn's loss is half the squared error

    def _stratify(self) -> bool:
        return False

    def _model_targets(self, y: np.ndarray, dtype: np.dtype) -> np.ndarray:
        return y.astype(dtype)

    def _decode(self, y: np.ndarray) -> np.ndarray:
        return y

    def _score_model(self, X: np.ndarray, y: np.ndarray) -> float:
        from sklearn.metrics import r2_score

        predicted = _forward_all(self.model_, X).array
        if not np.isfinite(predicted).all():
            return np.nan
        return float(r2_score(y, predicted))

    def predict(self, X: Any) -> np.ndarray:
        """The predicted targets, (n_samples,) for one target."""
        outputs = self._outputs(X)
        return outputs.ravel() if outputs.shape[1] == 1 else outputs

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """One epoch over (X, y), continuing from the current weights and
        optimizer state.

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=True)
