"""deepgrad.sklearn against scikit-learn's own MLP: test scores and fit times.

Both estimators get the same hyper-parameters (``HYPERPARAMETERS``) in the
same pipeline (standardized features; for regression, standardized targets
too) on the same train/test split, and are timed in one process, alternating,
with BLAS held to one thread so that neither gets more cores::

    python -m benchmarks.bench_sklearn                 # every set, writes docs/sklearn.md
    python -m benchmarks.bench_sklearn --sets iris,moons --repeats 1 --out -

tests/test_sklearn.py imports ``DATASETS``, ``HYPERPARAMETERS`` and
``compare`` to check the scores (never the times).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn import datasets
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnClassifier
from sklearn.neural_network import MLPRegressor as SklearnRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from deepgrad.sklearn import MLPClassifier, MLPRegressor

ROOT = Path(__file__).resolve().parents[1]

# scikit-learn's defaults (adam, lr 1e-3, alpha 1e-4, batch_size min(200, n),
# max_iter 200), with one hidden layer of 64 and a fixed random_state
HYPERPARAMETERS: dict[str, Any] = {"hidden_layer_sizes": (64,), "random_state": 0}


def _moons() -> tuple[np.ndarray, np.ndarray]:
    return datasets.make_moons(n_samples=1000, noise=0.2, random_state=0)


def _regression() -> tuple[np.ndarray, np.ndarray]:
    return datasets.make_regression(
        n_samples=1000, n_features=20, n_informative=10, noise=10.0, random_state=0
    )


# name -> (X, y) and whether it is a regression
DATASETS: dict[str, tuple[Callable[[], tuple[np.ndarray, np.ndarray]], bool]] = {
    "iris": (lambda: datasets.load_iris(return_X_y=True), False),
    "wine": (lambda: datasets.load_wine(return_X_y=True), False),
    "digits": (lambda: datasets.load_digits(return_X_y=True), False),
    "breast_cancer": (lambda: datasets.load_breast_cancer(return_X_y=True), False),
    "moons": (_moons, False),
    "regression": (_regression, True),
}


def estimator(library: str, regression: bool) -> Any:
    """The pipeline of one library's MLP with HYPERPARAMETERS."""
    if regression:
        mlp = (MLPRegressor if library == "deepgrad" else SklearnRegressor)(
            **HYPERPARAMETERS
        )
        mlp = TransformedTargetRegressor(mlp, transformer=StandardScaler())
    else:
        mlp = (MLPClassifier if library == "deepgrad" else SklearnClassifier)(
            **HYPERPARAMETERS
        )
    return make_pipeline(StandardScaler(), mlp)


def compare(name: str, repeats: int = 1) -> dict[str, Any]:
    """Test score (accuracy, or R² for regression) and the shortest fit time of
    each library on one set; fits alternate between the libraries."""
    load, regression = DATASETS[name]
    X, y = load()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=None if regression else y
    )
    row: dict[str, Any] = {"name": name, "regression": regression}
    for _ in range(repeats):
        for library in ("sklearn", "deepgrad"):
            model = estimator(library, regression)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                started = time.perf_counter()
                model.fit(X_train, y_train)
                elapsed = time.perf_counter() - started
            row[f"{library}_time"] = min(elapsed, row.get(f"{library}_time", np.inf))
            row[f"{library}_score"] = model.score(X_test, y_test)
    row["ratio"] = row["deepgrad_time"] / row["sklearn_time"]
    return row


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| data set | metric | scikit-learn | deepgrad | fit time scikit-learn | "
        "fit time deepgrad | deepgrad / scikit-learn |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['name']} | {'R²' if row['regression'] else 'accuracy'} | "
            f"{row['sklearn_score']:.4f} | {row['deepgrad_score']:.4f} | "
            f"{row['sklearn_time']:.3f} s | {row['deepgrad_time']:.3f} s | "
            f"{row['ratio']:.2f} |"
        )
    return "\n".join(lines)


PAGE = """# deepgrad's scikit-learn estimators

`deepgrad.sklearn.MLPClassifier` and `MLPRegressor` take scikit-learn's
parameters, give its fitted attributes (`classes_`, `coefs_`, `loss_curve_`,
`n_iter_`, ...) and pass every check of `sklearn.utils.estimator_checks`, so
they work in `Pipeline`, `GridSearchCV`, `cross_val_score`, `clone` and pickle
and take pandas DataFrames. The network is a deepgrad `nn.Sequential`
(`model_`) trained by `deepgrad.train.fit`, through the compiled step of
`deepgrad.fast` for plain MLPs.

With the default `initializer="glorot_uniform"` they start from scikit-learn's
initial weights and draw its batches for the same `random_state`, and the rest
of scikit-learn's MLP is mapped onto deepgrad's pieces (the class docstrings
say how, parameter by parameter):

| scikit-learn | deepgrad |
|---|---|
| `solver="sgd"`, `momentum`, `nesterovs_momentum` | `optim.SGD(momentum=, nesterov=)` |
| `solver="adam"`, `beta_1`, `beta_2`, `epsilon` | `optim.Adam(betas=)`, eps set each step to where scikit-learn adds epsilon |
| `alpha` (L2, per batch size, weights only) | the weights' `weight_decay`, set before every batch |
| `learning_rate="invscaling" / "adaptive"`, `tol`, `n_iter_no_change`, `early_stopping` | a fit callback, epoch by epoch as scikit-learn's loop |
| softmax / logistic / identity output | `CrossEntropyLoss` / `BCEWithLogitsLoss` / `MSELoss`, rescaled to scikit-learn's loss and gradient |
| `solver="lbfgs"`, `sample_weight`, sparse input, `loss="poisson"` | not available (a clear error) |

So they train exactly as scikit-learn's do: tests/test_sklearn.py requires the
same `loss_curve_`, weights and predictions to 1e-10 for SGD (with and without
momentum, invscaling, adaptive, early stopping) and Adam, on multiclass,
binary, multilabel, single- and multi-output regression, and for partial_fit
and warm starts. deepgrad adds `solver="adamw" | "rmsprop" | "adagrad"`,
`dropout`, `batch_norm` and other initializers.

Test scores and fit times on a 75/25 split, both in a pipeline with
`StandardScaler` (and standardized targets for regression), with
`{hyperparameters}` and scikit-learn's other defaults; the shortest of
{repeats} fit(s) each, alternating, BLAS on one thread
(`python -m benchmarks.bench_sklearn`, on {machine}). The scores agree because
the training does; the times differ by deepgrad's compiled step:

{table}
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(DATASETS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "docs" / "sklearn.md"))
    parser.add_argument("--machine", default="a shared 2-core machine")
    options = parser.parse_args(argv)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the bench extra is missing: BLAS keeps its threads
        limits = None
    else:
        limits = threadpool_limits(1)
    try:
        rows = [compare(name, options.repeats) for name in options.sets.split(",")]
    finally:
        if limits is not None:
            limits.restore_original_limits()
    hyperparameters = ", ".join(f"{k}={v!r}" for k, v in HYPERPARAMETERS.items())
    page = PAGE.format(
        hyperparameters=hyperparameters,
        repeats=options.repeats,
        machine=options.machine,
        table=table(rows),
    )
    if options.out == "-":
        print(page)
    else:
        Path(options.out).write_text(page, encoding="utf-8")
        print(table(rows))


if __name__ == "__main__":
    main()
