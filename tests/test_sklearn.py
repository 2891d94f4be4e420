"""deepgrad.sklearn: scikit-learn's MLP estimators, trained by deepgrad.

scikit-learn itself is the oracle: every check of its estimator suite, and its
own MLPClassifier/MLPRegressor, which deepgrad reproduces step for step with
SGD (same initial weights, same batches, same penalty and schedules).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

pytest.importorskip("sklearn")

from sklearn import datasets  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.neural_network import MLPClassifier as SklearnClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SklearnRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from deepgrad import nn  # noqa: E402
from deepgrad.sklearn import MLPClassifier, MLPRegressor  # noqa: E402
from deepgrad.tensor import Tensor  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_sklearn import DATASETS, compare  # noqa: E402


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(
    [
        MLPClassifier(),
        MLPRegressor(),
        MLPClassifier(
            batch_norm=True, dropout=0.1, initializer="kaiming_uniform", solver="adamw"
        ),
        MLPRegressor(
            batch_norm=True, dropout=0.1, initializer="pytorch", solver="rmsprop"
        ),
    ]
)
def test_passes_every_scikit_learn_estimator_check(estimator, check, monkeypatch):
    """Each check of sklearn.utils.estimator_checks passes on scikit-learn's
    default parameters, and with deepgrad's layers, initializers and solvers,
    none skipped or expected to fail. SCIPY_ARRAY_API is set so that
    check_array_api_input runs (NumPy input with array API dispatch on)
    instead of skipping itself."""
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)


# -- scikit-learn as the oracle ------------------------------------------------------
def _iris():
    X, y = datasets.load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _regression(n_targets: int):
    X, y = datasets.make_regression(
        n_samples=150, n_features=6, n_targets=n_targets, noise=1.0, random_state=0
    )
    return X, y / 100


def _multilabel():
    X, Y = datasets.make_multilabel_classification(
        n_samples=150, n_features=6, n_classes=3, random_state=0
    )
    return StandardScaler().fit_transform(X), Y


TASKS = {
    "multiclass": (_iris, MLPClassifier, SklearnClassifier),
    "binary": (lambda: (_iris()[0], _iris()[1] == 1), MLPClassifier, SklearnClassifier),
    "multilabel": (_multilabel, MLPClassifier, SklearnClassifier),
    "regression": (lambda: _regression(1), MLPRegressor, SklearnRegressor),
    "two targets": (lambda: _regression(2), MLPRegressor, SklearnRegressor),
}
# 150 rows in batches of 32: the last batch (22 rows) has its own penalty scale
SGD = dict(
    solver="sgd",
    hidden_layer_sizes=(12, 7),
    batch_size=32,
    learning_rate_init=0.05,
    alpha=0.01,
    max_iter=25,
    random_state=0,
)


def _fit_both(task: str, **params):
    load, ours, theirs = TASKS[task]
    X, y = load()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return ours(**params).fit(X, y), theirs(**params).fit(X, y), X


def _assert_same_training(mine, reference, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(mine.loss_curve_, reference.loss_curve_, rtol, atol)
    assert mine.n_iter_ == reference.n_iter_ and mine.t_ == reference.t_
    for ours, theirs in zip(
        mine.coefs_ + mine.intercepts_,
        reference.coefs_ + reference.intercepts_,
        strict=True,
    ):
        np.testing.assert_allclose(ours, theirs, rtol, atol)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize(
    "options",
    [
        {"momentum": 0.9, "nesterovs_momentum": True},
        {"momentum": 0.5, "nesterovs_momentum": False, "activation": "tanh"},
        {"momentum": 0.0, "learning_rate": "invscaling", "activation": "logistic"},
    ],
    ids=["nesterov", "momentum-tanh", "invscaling-logistic"],
)
def test_sgd_reproduces_scikit_learn_training(task, options):
    """With solver='sgd' and the same random_state, the estimator starts from
    scikit-learn's weights, draws its batches, adds its L2 penalty (per batch
    size, weights only), scales its loss (softmax and summed logistic
    cross-entropy, half squared error, multi-output) and follows its momentum
    and schedules: loss_curve_, coefs_ and intercepts_ equal scikit-learn's
    to 1e-10, in every task."""
    mine, reference, X = _fit_both(task, **SGD, **options)
    _assert_same_training(mine, reference)
    if hasattr(mine, "predict_proba"):
        np.testing.assert_allclose(
            mine.predict_proba(X), reference.predict_proba(X), rtol=1e-9
        )
        np.testing.assert_array_equal(mine.predict(X), reference.predict(X))
    else:
        np.testing.assert_allclose(mine.predict(X), reference.predict(X), rtol=1e-9)


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_any_shape_of_data_and_network_trains_as_scikit_learn(data):
    """For drawn sizes (samples, features, hidden layers, batch size), targets
    (2 to 4 classes, one to three regression targets, some sets holding one
    class) and options (sgd or adam, momentum, penalty, activation, shuffling),
    three epochs give scikit-learn's loss_curve_ and weights to 1e-9."""
    n_samples = data.draw(st.integers(1, 40), label="n_samples")
    n_features = data.draw(st.integers(1, 5), label="n_features")
    X = data.draw(
        hnp.arrays(
            np.float64,
            (n_samples, n_features),
            elements=st.floats(-3, 3, allow_subnormal=False),
        ),
        label="X",
    )
    regression = data.draw(st.booleans(), label="regression")
    if regression:
        n_targets = data.draw(st.integers(1, 3), label="n_targets")
        y = data.draw(
            hnp.arrays(np.float64, (n_samples, n_targets), elements=st.floats(-2, 2))
        )
        y = y[:, 0] if n_targets == 1 else y
        ours, theirs = MLPRegressor, SklearnRegressor
    else:
        classes = data.draw(st.integers(2, 4), label="classes")
        y = data.draw(
            hnp.arrays(np.int64, n_samples, elements=st.integers(0, classes - 1))
        )
        ours, theirs = MLPClassifier, SklearnClassifier
    params = dict(
        hidden_layer_sizes=data.draw(
            st.lists(st.integers(1, 6), min_size=1, max_size=2).map(tuple)
        ),
        solver=data.draw(st.sampled_from(["sgd", "adam"])),
        activation=data.draw(st.sampled_from(["identity", "logistic", "tanh", "relu"])),
        batch_size=data.draw(st.sampled_from(["auto", 1, 3, 7])),
        alpha=data.draw(st.sampled_from([0.0, 1e-4, 0.1])),
        momentum=data.draw(st.sampled_from([0.0, 0.9])),
        shuffle=data.draw(st.booleans()),
        learning_rate_init=0.01,
        max_iter=3,
        random_state=data.draw(st.integers(0, 2**16)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence; batch_size clipped
        mine, reference = ours(**params).fit(X, y), theirs(**params).fit(X, y)
    _assert_same_training(mine, reference, rtol=1e-9, atol=1e-12)


def test_adaptive_learning_rate_and_stopping_follow_scikit_learn():
    """learning_rate='adaptive' divides the rate by 5 at each plateau and the
    tol / n_iter_no_change rule stops training at the same epoch as
    scikit-learn's, with the same best_loss_."""
    params = {
        **SGD,
        "momentum": 0.0,
        "learning_rate": "adaptive",
        "tol": 1e-2,
        "n_iter_no_change": 2,
        "max_iter": 200,
    }
    mine, reference, _ = _fit_both("multiclass", **params)
    assert mine.n_iter_ < 200  # stopped by the rule, not by max_iter
    _assert_same_training(mine, reference)
    assert mine.best_loss_ == pytest.approx(reference.best_loss_, rel=1e-10)


@pytest.mark.parametrize("task", ["multiclass", "binary", "regression"])
def test_early_stopping_follows_scikit_learn(task):
    """early_stopping splits off the same validation rows (stratified for
    classes), scores them each epoch (accuracy or R²), stops at the same epoch
    and keeps the best epoch's weights, as scikit-learn does."""
    params = {**SGD, "early_stopping": True, "n_iter_no_change": 3, "max_iter": 80}
    mine, reference, _ = _fit_both(task, **params)
    np.testing.assert_allclose(mine.validation_scores_, reference.validation_scores_)
    assert mine.best_validation_score_ == reference.best_validation_score_
    assert mine.best_loss_ is None
    _assert_same_training(mine, reference)


@pytest.mark.parametrize("task", TASKS)
def test_adam_reproduces_scikit_learn_adam(task):
    """solver='adam' gives scikit-learn's Adam steps: its epsilon, which it adds
    before the bias correction, is PyTorch's eps / sqrt(1 - beta_2^t) at step
    t (and scaled as the loss is), so loss_curve_ and the weights equal
    scikit-learn's to 1e-10 in every task."""
    params = {**SGD, "solver": "adam", "learning_rate_init": 0.01, "max_iter": 30}
    mine, reference, _ = _fit_both(task, **params, epsilon=1e-4)
    _assert_same_training(mine, reference)


def test_partial_fit_and_warm_start_follow_scikit_learn():
    """partial_fit (one epoch a call, optimizer state kept, classes given on the
    first call) and a warm-started second fit continue exactly as
    scikit-learn's do."""
    X, y = _iris()
    params = {key: value for key, value in SGD.items() if key != "max_iter"}
    mine, reference = MLPClassifier(**params), SklearnClassifier(**params)
    for start in (0, 50, 100):
        rows = slice(start, start + 50)
        for estimator in (mine, reference):
            estimator.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
    _assert_same_training(mine, reference)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mine = MLPClassifier(**SGD, warm_start=True).fit(X, y).fit(X, y)
        reference = SklearnClassifier(**SGD, warm_start=True).fit(X, y).fit(X, y)
    assert len(mine.loss_curve_) == 2 * SGD["max_iter"]
    _assert_same_training(mine, reference)


# -- accuracy against scikit-learn's, on the sets of docs/sklearn.md -------------------
@pytest.mark.parametrize("name", DATASETS)
def test_scores_at_least_scikit_learns_on_each_set(name):
    """With the same hyper-parameters and pipeline on the same split, deepgrad's
    test accuracy (R² for the regression set) is at least scikit-learn's minus
    0.01 on iris, wine, digits, breast_cancer, moons and make_regression."""
    row = compare(name)
    assert row["deepgrad_score"] >= row["sklearn_score"] - 0.01, row


# -- scikit-learn's tools --------------------------------------------------------------
def test_works_in_pipeline_grid_search_and_cross_val_score():
    """A Pipeline with StandardScaler is tuned by GridSearchCV (the grid's best
    parameters are one of the grid's, refitted) and scored by
    cross_val_score (one accuracy per fold, well above chance on iris)."""
    X, y = datasets.load_iris(return_X_y=True)
    pipeline = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.02, max_iter=60),
    )
    search = GridSearchCV(
        pipeline,
        {"mlpclassifier__alpha": [1e-4, 1e-2], "mlpclassifier__random_state": [0]},
        cv=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
        scores = cross_val_score(
            pipeline.set_params(mlpclassifier__random_state=0), X, y, cv=3
        )
    assert search.best_params_["mlpclassifier__alpha"] in (1e-4, 1e-2)
    assert search.best_estimator_.score(X, y) > 0.9
    assert scores.shape == (3,) and scores.min() > 0.8


def test_clone_and_pickle_keep_parameters_and_predictions():
    """clone() copies the parameters without the fitted state; a pickled and
    unpickled fitted estimator predicts exactly what the original does, and
    partial_fit goes on from the unpickled optimizer state as from the original."""
    X, y = _iris()
    estimator = MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params()
    assert not hasattr(copy, "model_")
    restored = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(restored.predict_proba(X), estimator.predict_proba(X))
    np.testing.assert_array_equal(restored.predict(X), estimator.predict(X))
    restored.partial_fit(X, y)
    estimator.partial_fit(X, y)
    np.testing.assert_array_equal(restored.coefs_[0], estimator.coefs_[0])


def test_accepts_pandas_dataframes_and_records_feature_names():
    """Fitted on a DataFrame, the estimator records feature_names_in_ and
    n_features_in_, predicts the same from the DataFrame as from its values,
    and refuses a DataFrame whose columns are not the training ones."""
    pd = pytest.importorskip("pandas")
    data = datasets.load_iris(as_frame=True)
    X, y = data.data, data.target.map(dict(enumerate(data.target_names)))
    estimator = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    assert list(estimator.feature_names_in_) == list(X.columns)
    assert estimator.n_features_in_ == 4
    assert list(estimator.classes_) == sorted(data.target_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # no feature names: warned
        from_values = estimator.predict(X.to_numpy())
    np.testing.assert_array_equal(estimator.predict(X), from_values)
    renamed = X.rename(columns={X.columns[0]: "something else"})
    with pytest.raises(ValueError, match="feature names"):
        estimator.predict(renamed)
    assert isinstance(estimator.predict(pd.DataFrame(X)), np.ndarray)


# -- deepgrad's side --------------------------------------------------------------------
def test_model_is_the_deepgrad_network_behind_the_predictions():
    """model_ is an nn.Sequential of Linear and hidden activation modules whose
    outputs are decision_function's logits; their softmax is predict_proba, and
    coefs_ and intercepts_ are its weights in scikit-learn's (n_in, n_out) layout."""
    X, y = _iris()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator = MLPClassifier(hidden_layer_sizes=(8, 5), max_iter=5).fit(X, y)
    model = estimator.model_
    assert isinstance(model, nn.Sequential)
    assert [type(m) for m in model] == [
        nn.Linear,
        nn.ReLU,
        nn.Linear,
        nn.ReLU,
        nn.Linear,
    ]
    logits = model(Tensor(X)).array
    np.testing.assert_allclose(estimator.decision_function(X), logits, rtol=1e-12)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(estimator.predict_proba(X), probabilities, rtol=1e-12)
    assert [c.shape for c in estimator.coefs_] == [(4, 8), (8, 5), (5, 3)]
    np.testing.assert_array_equal(estimator.coefs_[0], model[0].weight.array.T)
    assert estimator.out_activation_ == "softmax"


@pytest.mark.parametrize(
    "X_dtype, trained_dtype",
    [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64)],
)
def test_trains_in_the_input_float_dtype(X_dtype, trained_dtype):
    """As scikit-learn: float32 input trains a float32 network, float64 and
    integer input a float64 one; predict_proba comes out in that dtype."""
    X, y = datasets.load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(
            X.astype(X_dtype), y
        )
    assert estimator.coefs_[0].dtype == trained_dtype
    assert estimator.predict_proba(X).dtype == trained_dtype


@pytest.mark.parametrize(
    "params",
    [
        {"dropout": 0.2},
        {"batch_norm": True},
        {"initializer": "pytorch"},
        {"initializer": "kaiming_normal", "dropout": 0.1, "batch_norm": True},
        {"initializer": "xavier_normal", "activation": "tanh"},
        {"solver": "adamw"},
        {"solver": "rmsprop"},
        {"solver": "adagrad"},
    ],
)
def test_deepgrad_options_build_their_layers_and_reproduce_with_random_state(params):
    """dropout and batch_norm add nn.Dropout and nn.BatchNorm1d to every hidden
    layer, the initializers draw from random_state, and deepgrad's other
    solvers train: two fits with the same random_state give the same loss
    curve, and the network still learns iris."""
    X, y = _iris()
    kwargs = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = MLPClassifier(**kwargs, max_iter=60, **params).fit(X, y)
        second = MLPClassifier(**kwargs, max_iter=60, **params).fit(X, y)
    assert first.loss_curve_ == second.loss_curve_
    kinds = {type(m) for m in first.model_}
    assert (nn.Dropout in kinds) == bool(params.get("dropout"))
    assert (nn.BatchNorm1d in kinds) == bool(params.get("batch_norm"))
    assert first.score(X, y) > 0.85


def test_batch_norm_never_trains_on_a_single_row():
    """Batch statistics need two rows: with batch_norm a last batch of one row
    joins the batch before it (150 rows in batches of 149 train as one batch
    of 150), and one sample in all is refused naming n_samples."""
    X, y = _iris()
    estimator = MLPClassifier(
        hidden_layer_sizes=(8,), batch_norm=True, batch_size=149, max_iter=5
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    assert estimator.n_iter_ == 5 and np.isfinite(estimator.loss_curve_).all()
    with pytest.raises(ValueError, match="at least 2 samples.*n_samples = 1"):
        MLPClassifier(batch_norm=True).fit(X[:1], y[:1])


def test_pytorch_initializer_uses_linear_default_bounds():
    """initializer='pytorch' draws W and b within nn.Linear's bound
    1/sqrt(fan_in); 'glorot_uniform' is scikit-learn's bound sqrt(6/(in+out)),
    whose first layer then exceeds 1/sqrt(fan_in) somewhere."""
    X, y = _iris()
    # learning_rate_init tiny: the weights after one epoch are the initial ones
    tiny = dict(hidden_layer_sizes=(50,), learning_rate_init=1e-12, alpha=0.0)
    pytorch = MLPClassifier(**tiny, initializer="pytorch", random_state=0)
    pytorch.partial_fit(X, y, classes=[0, 1, 2])
    assert np.abs(pytorch.coefs_[0]).max() <= 1 / np.sqrt(4) + 1e-9
    assert np.abs(pytorch.intercepts_[1]).max() <= 1 / np.sqrt(50) + 1e-9
    glorot = MLPClassifier(**tiny, random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    assert np.abs(glorot.intercepts_[1]).max() > 1 / np.sqrt(50)


# -- what it says -----------------------------------------------------------------------
def test_warns_convergence_when_max_iter_ends_training():
    """Reaching max_iter without meeting tol warns ConvergenceWarning, as
    scikit-learn; a run stopped by tol / n_iter_no_change does not, and its
    loss_curve_ has one loss per epoch with best_loss_ its minimum."""
    X, y = _iris()
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(3\\)"):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=3).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        stopped = MLPClassifier(
            hidden_layer_sizes=(4,), tol=10.0, n_iter_no_change=1, max_iter=50
        ).fit(X, y)
    # stopped once more than n_iter_no_change epochs in a row missed tol,
    # where scikit-learn stops
    params = dict(hidden_layer_sizes=(4,), tol=10.0, n_iter_no_change=1, max_iter=50)
    assert stopped.n_iter_ == SklearnClassifier(**params).fit(X, y).n_iter_ < 50
    assert len(stopped.loss_curve_) == stopped.n_iter_
    assert stopped.best_loss_ == min(stopped.loss_curve_)


def test_a_diverging_run_stops_with_the_last_good_weights():
    """Where scikit-learn raises on non-finite weights, fit's divergence guard
    stops a run whose weights blow up, warns DivergenceWarning (and no
    ConvergenceWarning) and leaves finite weights that still predict."""
    from deepgrad.train.divergence import DivergenceWarning

    X, y = datasets.load_iris(return_X_y=True)
    estimator = MLPRegressor(solver="sgd", learning_rate_init=10.0, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(X, y * 1000.0)
    kinds = {type(warning.message) for warning in caught}
    assert DivergenceWarning in kinds and ConvergenceWarning not in kinds
    assert estimator.n_iter_ < 200
    assert all(np.isfinite(coef).all() for coef in estimator.coefs_)
    assert np.isfinite(estimator.predict(X)).all()


def test_verbose_prints_fits_epoch_lines(capsys):
    """verbose=True prints fit's Keras-style line for each epoch and the reason
    training stopped."""
    X, y = _iris()
    MLPClassifier(
        hidden_layer_sizes=(4,), tol=10.0, n_iter_no_change=1, verbose=True
    ).fit(X, y)
    out = capsys.readouterr().out
    assert "Epoch 1/200" in out and "Epoch 2/200" in out
    assert "Training loss did not improve more than tol=10.000000" in out


@pytest.mark.parametrize(
    "params, message",
    [
        ({"solver": "lbfgs"}, "solver='lbfgs' is not available.*'sgd', 'adam'"),
        ({"solver": "newton"}, "solver must be one of"),
        ({"activation": "softplus"}, "activation must be one of"),
        ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes must be an integer >= 1"),
        ({"alpha": -1.0}, "alpha must be in \\[0, inf\\)"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"learning_rate": "cyclic"}, "learning_rate must be one of"),
        ({"momentum": 1.5}, "momentum must be in \\[0, 1\\]"),
        ({"dropout": 1.0}, "dropout must be in \\[0, 1\\)"),
        ({"initializer": "ones"}, "initializer must be one of"),
        ({"max_iter": 2.5}, "max_iter must be an integer"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(params, message):
    """fit refuses a parameter it cannot use with a ValueError naming the
    estimator, the parameter, the value and what it may be."""
    X, y = _iris()
    with pytest.raises(ValueError, match=f"MLPClassifier: {message}"):
        MLPClassifier(**params).fit(X, y)


def test_partial_fit_errors_are_scikit_learns():
    """partial_fit needs classes on its first call and the same classes after,
    refuses early_stopping and labels outside classes_; predicting before
    fitting raises NotFittedError."""
    X, y = _iris()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    estimator = MLPClassifier(hidden_layer_sizes=(4,)).partial_fit(
        X, y, classes=[0, 1, 2]
    )
    with pytest.raises(ValueError, match="y has classes not in classes_"):
        estimator.partial_fit(X, y + 1)
    with pytest.raises(ValueError, match="is not the same as on the first call"):
        estimator.partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(NotFittedError):
        MLPRegressor().predict(X)


def test_without_scikit_learn_the_import_says_what_to_install():
    """With scikit-learn missing, importing deepgrad.sklearn raises one
    ImportError naming the extra to install, and `import deepgrad` still works."""
    code = (
        "import sys; sys.modules['sklearn'] = None; import deepgrad\n"
        "try:\n    import deepgrad.sklearn\n"
        "except ImportError as error:\n    print(error)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'deepgrad[sklearn]'" in result.stdout


def test_importing_deepgrad_does_not_import_scikit_learn():
    """scikit-learn is optional: `import deepgrad` leaves it unimported; only
    `import deepgrad.sklearn` brings it in."""
    code = (
        "import sys, deepgrad; assert 'sklearn' not in sys.modules; "
        "import deepgrad.sklearn; assert 'sklearn' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_docstring_examples_run():
    """The Examples in the estimators' docstrings run and print what they show."""
    import doctest

    import deepgrad.sklearn

    result = doctest.testmod(deepgrad.sklearn)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("estimator", ["multiclass", "binary", "regression"])
def test_a_fitted_estimator_exports_to_onnx_with_its_predictions(estimator, tmp_path):
    """The estimators export (issue 16, item 2): onnxruntime on the exported
    graph gives predict_proba and predict (classifiers) or predict (regressor)
    to 1e-5, through the estimator's classifier_ view of the same network."""
    pytest.importorskip("onnxruntime")
    import onnxruntime
    from sklearn.datasets import load_iris, make_moons, make_regression

    from deepgrad.export import to_onnx
    from deepgrad.sklearn import MLPClassifier, MLPRegressor

    if estimator == "regression":
        X, y = make_regression(n_samples=80, n_features=3, noise=0.5, random_state=0)
        model = MLPRegressor(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    else:
        X, y = (
            load_iris(return_X_y=True)
            if estimator == "multiclass"
            else make_moons(n_samples=80, noise=0.2, random_state=0)
        )
        model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0)
    X = X.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: 30 epochs on purpose
        model.fit(X, y)
    path = tmp_path / "estimator.onnx"
    to_onnx(model, path)
    session = onnxruntime.InferenceSession(str(path))
    outputs = dict(zip([o.name for o in session.get_outputs()],
                       session.run(None, {"input": X}), strict=True))  # fmt: skip
    if estimator == "regression":
        np.testing.assert_allclose(
            outputs["prediction"], model.predict(X), rtol=1e-5, atol=1e-5
        )
    else:
        np.testing.assert_allclose(
            outputs["probabilities"], model.predict_proba(X), rtol=1e-5, atol=1e-6
        )
        assert [str(v) for v in model.predict(X)] == [str(v) for v in outputs["label"]]
