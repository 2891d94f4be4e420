"""deepgrad.metrics equals scikit-learn's metrics and keeps absent classes."""

import doctest
import json
import sys
import warnings

import numpy as np
import pytest
import sklearn.metrics
from hypothesis import given, settings
from hypothesis import strategies as st

from deepgrad import metrics
from deepgrad.metrics import accuracy, classification_report, confusion_matrix

rng = np.random.default_rng(0)
Y_TRUE = rng.integers(0, 4, 200)
Y_PRED = np.where(rng.random(200) < 0.7, Y_TRUE, rng.integers(0, 4, 200))


def test_accuracy_equals_sklearn():
    assert accuracy(Y_TRUE, Y_PRED) == sklearn.metrics.accuracy_score(Y_TRUE, Y_PRED)
    assert accuracy([0, 1, 1, 0], [0, 1, 0, 0]) == 0.75


def test_accuracy_accepts_column_vectors_and_integral_floats():
    y_true = np.array([[0.0], [1.0], [1.0]])
    y_pred = np.array([[0], [1], [0]])
    assert accuracy(y_true, y_pred) == pytest.approx(2 / 3)


def test_confusion_matrix_equals_sklearn():
    expected = sklearn.metrics.confusion_matrix(Y_TRUE, Y_PRED)
    matrix = confusion_matrix(Y_TRUE, Y_PRED)
    assert matrix.dtype == np.int64
    np.testing.assert_array_equal(matrix, expected)


def test_confusion_matrix_keeps_rows_and_columns_of_absent_classes():
    matrix = confusion_matrix([0, 2, 2], [0, 2, 0], num_classes=4)
    assert matrix.tolist() == [
        [1, 0, 0, 0],
        [0, 0, 0, 0],
        [1, 0, 1, 0],
        [0, 0, 0, 0],
    ]


def test_confusion_matrix_rejects_labels_beyond_num_classes():
    # sklearn would silently drop them from the counts
    with pytest.raises(ValueError, match="class index 3 but num_classes=2"):
        confusion_matrix([0, 1, 3], [0, 1, 1], num_classes=2)


def test_classification_report_equals_sklearn_with_class_names():
    names = ["ant", "bee", "cat", "dog"]
    report = classification_report(Y_TRUE, Y_PRED, class_names=names)
    expected = sklearn.metrics.classification_report(
        Y_TRUE, Y_PRED, target_names=names, output_dict=True
    )
    assert report.keys() == expected.keys()
    assert report["accuracy"] == pytest.approx(expected["accuracy"])
    for key in [*names, "macro avg", "weighted avg"]:
        for metric in ("precision", "recall", "f1-score", "support"):
            assert report[key][metric] == pytest.approx(expected[key][metric])


@settings(max_examples=100, deadline=None)
@given(
    num_classes=st.integers(1, 6),
    extra_classes=st.integers(0, 2),
    data=st.data(),
)
def test_metrics_equal_sklearn_exactly_for_any_labels(num_classes, extra_classes, data):
    """accuracy, confusion_matrix and classification_report, now NumPy, give
    scikit-learn's numbers bit for bit (same divisions, same averages), also with
    classes absent from y_true or y_pred and classes beyond the largest label."""
    labels = st.lists(st.integers(0, num_classes - 1), min_size=1, max_size=60)
    y_true = np.array(data.draw(labels))
    y_pred = np.array(data.draw(st.lists(
        st.integers(0, num_classes - 1), min_size=len(y_true), max_size=len(y_true)
    )))  # fmt: skip
    total = num_classes + extra_classes
    names = [f"class {i}" for i in range(total)]
    assert accuracy(y_true, y_pred) == sklearn.metrics.accuracy_score(y_true, y_pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns of labels it never saw
        expected_matrix = sklearn.metrics.confusion_matrix(
            y_true, y_pred, labels=np.arange(total)
        )
        expected = sklearn.metrics.classification_report(
            y_true,
            y_pred,
            labels=np.arange(total),
            target_names=names,
            output_dict=True,
            zero_division=0,
        )
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred, num_classes=total), expected_matrix
    )
    assert classification_report(y_true, y_pred, class_names=names) == expected


def test_metrics_do_not_import_scikit_learn(monkeypatch):
    """With scikit-learn unimportable the metrics still compute: the base install's
    `deepgrad evaluate` needs no extra."""
    monkeypatch.setitem(sys.modules, "sklearn", None)
    assert accuracy(Y_TRUE, Y_PRED) == np.mean(Y_TRUE == Y_PRED)
    assert confusion_matrix(Y_TRUE, Y_PRED).sum() == len(Y_TRUE)
    assert classification_report(Y_TRUE, Y_PRED)["accuracy"] == accuracy(Y_TRUE, Y_PRED)


def test_classification_report_lists_absent_classes_with_zero_scores_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no UndefinedMetricWarning for class "c"
        report = classification_report(
            [0, 0, 1], [0, 1, 1], class_names=["a", "b", "c"]
        )
    assert report["c"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1-score": 0.0,
        "support": 0,
    }
    assert report["accuracy"] == pytest.approx(2 / 3)
    # macro average over all three classes, the absent one included
    assert report["macro avg"]["recall"] == pytest.approx((0.5 + 1.0 + 0.0) / 3)


def test_classification_report_default_names_are_the_indices_and_json_safe():
    report = classification_report([0, 2], [0, 2])
    assert list(report)[:3] == ["0", "1", "2"]
    assert isinstance(report["2"]["support"], int)
    assert json.loads(json.dumps(report)) == report


def test_classification_report_rejects_labels_without_a_name():
    with pytest.raises(ValueError, match="class index 2 but num_classes=2"):
        classification_report([0, 1, 2], [0, 1, 1], class_names=["no", "yes"])


@pytest.mark.parametrize(
    "y_true, y_pred, message",
    [
        ([0, 1], [0], "y_true has 2 labels but y_pred has 1"),
        ([], [], "0 samples"),
        ([0, -1], [0, 1], "class indices >= 0"),
        ([0.2, 0.9], [0, 1], "integer class indices.*argmax"),
        (np.zeros((2, 3)), [0, 1], "shape \\(n,\\).*argmax"),
    ],
)
def test_metrics_reject_inputs_that_are_not_class_indices(y_true, y_pred, message):
    for function in (accuracy, confusion_matrix, classification_report):
        with pytest.raises(ValueError, match=message):
            function(y_true, y_pred)


def test_docstring_examples_run():
    result = doctest.testmod(metrics)
    assert result.attempted > 0 and result.failed == 0
