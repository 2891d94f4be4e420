"""deepgrad's scikit-learn estimators in GridSearchCV under joblib's Dask backend
(the ``dask`` extra): the search's fits run as tasks of a Dask cluster."""

from __future__ import annotations

import joblib
import numpy as np
from distributed import Client, LocalCluster, get_task_stream
from sklearn.datasets import make_moons
from sklearn.model_selection import GridSearchCV

from deepgrad.sklearn import MLPClassifier


def test_a_grid_search_on_dask_gives_the_serial_searchs_scores_and_best_model():
    """GridSearchCV sends each (parameters, fold) fit to the cluster's worker
    processes through joblib.parallel_backend("dask"); the estimators pickle
    there and back, and every fit is seeded by random_state, so each split's
    score, the best parameters and the refitted model equal a serial search's."""
    X, y = make_moons(n_samples=120, noise=0.2, random_state=0)
    grid = {"learning_rate_init": [0.01, 0.1], "hidden_layer_sizes": [(8,), (16,)]}
    estimator = MLPClassifier(max_iter=50, random_state=0)
    serial = GridSearchCV(estimator, grid, cv=3, n_jobs=1).fit(X, y)

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
        get_task_stream(client) as tasks,
        joblib.parallel_backend("dask"),
    ):
        on_dask = GridSearchCV(estimator, grid, cv=3, n_jobs=-1).fit(X, y)

    assert len(tasks.data) > 0  # the fits ran on the cluster, not in this process
    for split in range(3):
        key = f"split{split}_test_score"
        np.testing.assert_array_equal(on_dask.cv_results_[key], serial.cv_results_[key])
    assert on_dask.best_params_ == serial.best_params_
    np.testing.assert_array_equal(on_dask.predict_proba(X), serial.predict_proba(X))
