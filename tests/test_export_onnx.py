"""deepgrad.export.to_onnx and `deepgrad export`, checked by running the graphs.

Every exported graph passes onnx.checker and runs in onnxruntime (or, for the one
operator onnxruntime lacks in float64, onnx's reference evaluator) on batches of
1 and 7 rows, and its outputs must equal deepgrad's in eval mode to 1e-5: for
every layer export supports, in float32 and float64, and for Classifiers
(scaling included) as `deepgrad predict` computes them.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deepgrad as dg
from cli_helpers import error_line, run
from deepgrad import nn
from deepgrad.data import Standardizer, load_dataset
from deepgrad.export import (
    CONVERTERS,
    DEFAULT_OPSET,
    MIN_OPSET,
    UnsupportedLayerError,
    to_onnx,
)
from deepgrad.train import Classifier

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOLERANCE = 1e-5
DTYPES = [np.float32, np.float64]


def run_graph(path: Path, inputs: np.ndarray, runtime: str = "onnxruntime") -> list:
    """The graph's outputs for ``inputs``, in onnxruntime or onnx's reference."""
    if runtime == "reference":
        from onnx.reference import ReferenceEvaluator

        return ReferenceEvaluator(str(path)).run(None, {"input": inputs})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: inputs})


def eval_output(model: nn.Module, inputs: np.ndarray) -> np.ndarray:
    model.eval()
    with dg.no_grad():
        return model(dg.tensor(inputs)).array


def randomised_batch_norm(num_features: int, **options) -> nn.BatchNorm1d:
    """A BatchNorm1d whose running statistics and affine parameters are not 0 and 1."""
    layer = nn.BatchNorm1d(num_features, **options)
    layer.running_mean.array[...] = np.random.default_rng(1).normal(size=num_features)
    layer.running_var.array[...] = np.random.default_rng(2).uniform(
        0.5, 2, num_features
    )
    if layer.affine:
        layer.weight.array[...] = np.random.default_rng(3).normal(size=num_features)
        layer.bias.array[...] = np.random.default_rng(4).normal(size=num_features)
    return layer


def randomised(model: nn.Module) -> nn.Module:
    """The model with every parameter moved off its initial value (LayerNorm's
    ones and zeros, PReLU's equal slopes), so the exported weights matter."""
    rng = np.random.default_rng(6)
    for parameter in model.parameters():
        parameter.array += rng.normal(0, 0.5, parameter.shape).astype(parameter.dtype)
    return model


# Each converter's layer in models that exercise it: (model, one sample's shape),
# the models built in float32 and converted with .double().
CASES = {
    nn.Linear: [
        lambda: (nn.Sequential(nn.Linear(5, 4)), (5,)),
        lambda: (nn.Sequential(nn.Linear(5, 4, bias=False)), (5,)),
    ],
    nn.ReLU: [lambda: (nn.Sequential(nn.Linear(5, 6), nn.ReLU()), (5,))],
    nn.LeakyReLU: [
        lambda: (nn.Sequential(nn.Linear(5, 6), nn.LeakyReLU(0.2)), (5,)),
        lambda: (nn.Sequential(nn.Linear(5, 6), nn.LeakyReLU(1)), (5,)),  # an int
    ],
    nn.Sigmoid: [lambda: (nn.Sequential(nn.Linear(5, 6), nn.Sigmoid()), (5,))],
    nn.Tanh: [lambda: (nn.Sequential(nn.Linear(5, 6), nn.Tanh()), (5,))],
    nn.GELU: [
        lambda: (nn.Sequential(nn.Linear(5, 6), nn.GELU()), (5,)),
        lambda: (nn.Sequential(nn.Linear(5, 6), nn.GELU("tanh")), (5,)),
    ],
    nn.Softmax: [
        lambda: (nn.Sequential(nn.Linear(5, 3), nn.Softmax(dim=1)), (5,)),
        lambda: (nn.Sequential(nn.Linear(5, 3), nn.Softmax(dim=-1)), (5,)),
        lambda: (nn.Sequential(nn.Linear(5, 3), nn.Softmax()), (5,)),  # legacy dim
    ],
    nn.LogSoftmax: [
        lambda: (nn.Sequential(nn.Linear(5, 3), nn.LogSoftmax(dim=1)), (5,)),
        lambda: (nn.Sequential(nn.Linear(5, 3), nn.LogSoftmax()), (5,)),
    ],
    nn.Dropout: [lambda: (nn.Sequential(nn.Linear(5, 6), nn.Dropout(0.5)), (5,))],
    nn.Identity: [lambda: (nn.Sequential(nn.Identity(), nn.Linear(5, 2)), (5,))],
    nn.Flatten: [
        lambda: (nn.Sequential(nn.Flatten(), nn.Linear(6, 2)), (2, 3)),
        lambda: (nn.Sequential(nn.Flatten(1, 2), nn.Linear(4, 2)), (2, 3, 4)),
        lambda: (nn.Sequential(nn.Flatten(2, 3), nn.Linear(12, 2)), (2, 3, 4)),
        lambda: (nn.Sequential(nn.Linear(4, 2), nn.Flatten(0)), (3, 4)),
    ],
    nn.BatchNorm1d: [
        lambda: (nn.Sequential(nn.Linear(5, 6), randomised_batch_norm(6)), (5,)),
        lambda: (nn.Sequential(randomised_batch_norm(5, affine=False)), (5,)),
        lambda: (nn.Sequential(randomised_batch_norm(3)), (3, 4)),  # (N, C, L)
    ],
    nn.ELU: [
        lambda: (nn.Sequential(nn.Linear(5, 6), nn.ELU()), (5,)),
        lambda: (nn.Sequential(nn.Linear(5, 6), nn.ELU(alpha=0.3)), (5,)),
    ],
    nn.SiLU: [lambda: (nn.Sequential(nn.Linear(5, 6), nn.SiLU()), (5,))],
    nn.Mish: [lambda: (nn.Sequential(nn.Linear(5, 6), nn.Mish()), (5,))],
    nn.Softplus: [
        lambda: (nn.Sequential(nn.Linear(5, 6), nn.Softplus()), (5,)),
        # beta x > threshold takes x on part of the inputs
        lambda: (nn.Sequential(nn.Linear(5, 6), nn.Softplus(2.0, 0.5)), (5,)),
    ],
    nn.Hardtanh: [
        lambda: (nn.Sequential(nn.Linear(5, 6), nn.Hardtanh()), (5,)),
        lambda: (nn.Sequential(nn.Linear(5, 6), nn.Hardtanh(-0.2, 0.5)), (5,)),
    ],
    nn.PReLU: [
        lambda: (randomised(nn.Sequential(nn.Linear(5, 6), nn.PReLU())), (5,)),
        lambda: (randomised(nn.Sequential(nn.Linear(5, 6), nn.PReLU(6))), (5,)),
        lambda: (randomised(nn.Sequential(nn.PReLU(3))), (3, 4)),  # (N, C, L)
    ],
    nn.LayerNorm: [
        lambda: (randomised(nn.Sequential(nn.Linear(5, 6), nn.LayerNorm(6))), (5,)),
        lambda: (randomised(nn.Sequential(nn.LayerNorm([3, 4], eps=0.1))), (3, 4)),
        lambda: (randomised(nn.Sequential(nn.LayerNorm(4, bias=False))), (3, 4)),
        lambda: (
            nn.Sequential(nn.Linear(5, 6), nn.LayerNorm(6, elementwise_affine=False)),
            (5,),
        ),
    ],
    nn.Embedding: [
        # Flatten's end_dim=-1 reads the rank the Embedding added
        lambda: (
            nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 2)),
            (3,),
        ),
        lambda: (nn.Sequential(nn.Flatten(), nn.Embedding(10, 3)), (2, 2)),
    ],
}
# Layers whose input is indices into their rows (CASES builds them with 10)
INDEX_INPUTS = {nn.Embedding}
EXAMPLES = [
    pytest.param(layer, build, dtype, id=f"{layer.__name__}-{index}-{dtype.__name__}")
    for layer, builds in CASES.items()
    for index, build in enumerate(builds)
    for dtype in DTYPES
]


def test_every_converter_has_test_cases():
    """A layer added to CONVERTERS without a case here fails this test."""
    assert set(CASES) == set(CONVERTERS)


@pytest.mark.parametrize(("layer", "build", "dtype"), EXAMPLES)
def test_each_layer_exports_to_a_graph_equal_to_deepgrad(tmp_path, layer, build, dtype):
    """The graph of every supported layer, random weights, gives deepgrad's eval
    output to 1e-5 for batches of 1 and 7 (a dynamic batch dimension), declares
    it as 'batch', and passes onnx.checker."""
    dg.manual_seed(0)
    model, sample_shape = build()
    if dtype is np.float64:
        model.double()
    model.train()  # export is inference: Dropout and BatchNorm as in eval()
    path = tmp_path / "model.onnx"
    to_onnx(model, path, input_shape=sample_shape)

    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    graph = onnx.load(str(path)).graph
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    # onnxruntime has no float64 Erf, which exact GELU needs
    exact_gelu = any(
        isinstance(m, nn.GELU) and m.approximate == "none" for m in model.modules()
    )
    runtime = "reference" if exact_gelu and dtype is np.float64 else "onnxruntime"
    rng = np.random.default_rng(5)
    for batch in (1, 7):
        if layer in INDEX_INPUTS:
            inputs = rng.integers(0, 10, size=(batch, *sample_shape))
        else:  # values past Softplus's threshold and Hardtanh's bounds too
            inputs = rng.normal(scale=3, size=(batch, *sample_shape)).astype(dtype)
        (output,) = run_graph(path, inputs, runtime)
        expected = eval_output(model, inputs)
        assert output.dtype == expected.dtype == dtype
        assert output.shape == expected.shape
        np.testing.assert_allclose(output, expected, rtol=TOLERANCE, atol=TOLERANCE)


@settings(max_examples=15, deadline=None)
@given(
    widths=st.lists(st.integers(1, 9), min_size=2, max_size=4),
    batch=st.integers(1, 12),
    activation=st.sampled_from(
        [nn.ReLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU]
        + [nn.ELU, nn.SiLU, nn.Mish, nn.Softplus, nn.Hardtanh, nn.PReLU]
    ),
    dtype=st.sampled_from(DTYPES),
)
def test_mlps_of_drawn_shapes_match_deepgrad(
    tmp_path_factory, widths, batch, activation, dtype
):
    """MLPs of hypothesis-drawn widths and batch sizes: onnxruntime's output
    equals deepgrad's to 1e-5, whatever the shapes."""
    layers = []
    for fan_in, fan_out in zip(widths, widths[1:], strict=False):
        layers += [nn.Linear(fan_in, fan_out), activation()]
    model = nn.Sequential(*layers)
    if dtype is np.float64:
        model.double()
    path = tmp_path_factory.mktemp("mlp") / "mlp.onnx"
    to_onnx(model, path)
    inputs = np.random.default_rng(batch).normal(size=(batch, widths[0])).astype(dtype)
    (output,) = run_graph(path, inputs)
    np.testing.assert_allclose(
        output, eval_output(model, inputs), rtol=TOLERANCE, atol=TOLERANCE
    )


def test_nested_sequentials_export_in_order(tmp_path):
    """Sequentials inside Sequentials export as their layers in order."""
    dg.manual_seed(0)
    model = nn.Sequential(
        nn.Sequential(nn.Linear(4, 6), nn.ReLU()),
        nn.Sequential(nn.Sequential(nn.Linear(6, 3)), nn.Softmax(dim=1)),
    )
    to_onnx(model, tmp_path / "nested.onnx")
    inputs = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)
    (output,) = run_graph(tmp_path / "nested.onnx", inputs)
    np.testing.assert_allclose(output, eval_output(model, inputs), atol=TOLERANCE)


@pytest.mark.parametrize("opset", [MIN_OPSET, DEFAULT_OPSET, 21])
def test_the_graph_records_its_opset_and_producer(tmp_path, opset):
    """The file states the opset asked for (the default unless given), deepgrad as
    its producer, and runs at that opset."""
    model = nn.Sequential(nn.Linear(3, 2), nn.GELU("tanh"), nn.Flatten())
    kwargs = {} if opset == DEFAULT_OPSET else {"opset": opset}
    to_onnx(model, tmp_path / "model.onnx", **kwargs)

    saved = onnx.load(str(tmp_path / "model.onnx"))
    assert [(entry.domain, entry.version) for entry in saved.opset_import] == [
        ("", opset)
    ]
    assert saved.producer_name == "deepgrad"
    assert {prop.key: prop.value for prop in saved.metadata_props}["producer"] == (
        f"deepgrad {dg.__version__}"
    )
    inputs = np.ones((2, 3), dtype=np.float32)
    (output,) = run_graph(tmp_path / "model.onnx", inputs)
    np.testing.assert_allclose(output, eval_output(model, inputs), atol=TOLERANCE)


@pytest.mark.parametrize("opset", [MIN_OPSET - 1, 10_000, "17"])
def test_an_opset_out_of_range_is_refused(tmp_path, opset):
    """An opset export cannot write is a ValueError naming the range; no file."""
    with pytest.raises(ValueError, match=f"opset must be an integer from {MIN_OPSET}"):
        to_onnx(nn.Sequential(nn.Linear(2, 1)), tmp_path / "m.onnx", opset=opset)
    assert not (tmp_path / "m.onnx").exists()


@settings(max_examples=15, deadline=None)
@given(
    beta=st.sampled_from([0.5, 1.0, 2.0, 3.0]),
    threshold=st.sampled_from([0.5, 1.0, 20.0]),
    values=st.lists(st.floats(-40, 40, width=32), min_size=1, max_size=12),
)
def test_softplus_takes_x_exactly_where_torch_does(
    tmp_path_factory, beta, threshold, values
):
    """Softplus(beta, threshold) on drawn float32 values, threshold / beta
    included (beta x == threshold keeps the curve, as torch): the graph's output
    equals torch.nn.Softplus's, and deepgrad's, to 1e-5."""
    torch = pytest.importorskip("torch")
    inputs = np.array(values + [threshold / beta], dtype=np.float32).reshape(-1, 1)
    model = nn.Sequential(nn.Softplus(beta, threshold))
    path = tmp_path_factory.mktemp("softplus") / "softplus.onnx"
    to_onnx(model, path, input_shape=(1,))
    (output,) = run_graph(path, inputs)
    expected = torch.nn.Softplus(beta, threshold)(torch.from_numpy(inputs)).numpy()
    np.testing.assert_allclose(output, expected, rtol=TOLERANCE, atol=TOLERANCE)
    np.testing.assert_allclose(
        output, eval_output(model, inputs), rtol=TOLERANCE, atol=TOLERANCE
    )


@pytest.mark.parametrize("opset", [MIN_OPSET, 16, DEFAULT_OPSET, 18])
@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_norm_exports_at_every_opset(tmp_path, opset, dtype):
    """LayerNorm is ONNX's LayerNormalization from opset 17 and the formula in
    ReduceMean/Sub/Mul/Sqrt/Div before it: both give deepgrad's output to 1e-5,
    over two trailing dimensions, with and without a bias."""
    dg.manual_seed(0)
    model = randomised(
        nn.Sequential(
            nn.LayerNorm([3, 4], eps=1e-3), nn.Linear(4, 4), nn.LayerNorm(4, bias=False)
        )
    )
    if dtype is np.float64:
        model.double()
    path = tmp_path / "layernorm.onnx"
    to_onnx(model, path, input_shape=(3, 4), opset=opset)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert ("LayerNormalization" in ops) == (opset >= 17)
    assert ("ReduceMean" in ops) == (opset < 17)
    inputs = np.random.default_rng(0).normal(3, 2, size=(7, 3, 4)).astype(dtype)
    (output,) = run_graph(path, inputs)
    np.testing.assert_allclose(
        output, eval_output(model, inputs), rtol=TOLERANCE, atol=TOLERANCE
    )


def test_an_embedding_model_takes_int64_indices(tmp_path):
    """A model starting with an Embedding exports a graph whose input is int64
    indices (its output is float), and one index out of range fails in the runtime
    rather than reading past the table."""
    dg.manual_seed(0)
    model = nn.Sequential(nn.Embedding(10, 4), nn.LayerNorm(4))
    path = tmp_path / "embedding.onnx"
    to_onnx(model, path, input_shape=(5,))
    graph = onnx.load(str(path)).graph
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    indices = np.arange(10).reshape(2, 5)
    (output,) = run_graph(path, indices)
    np.testing.assert_allclose(output, eval_output(model, indices), atol=TOLERANCE)
    with pytest.raises(Exception, match="indices"):
        run_graph(path, np.full((1, 5), 10))


def test_an_embedding_model_needs_the_shape_of_its_indices():
    """An Embedding does not fix how many indices a sample has: the error asks for
    input_shape."""
    with pytest.raises(ValueError, match="pass input_shape="):
        to_onnx(nn.Sequential(nn.Embedding(10, 4)), "never-written.onnx")


def test_a_classifier_over_an_embedding_is_refused(tmp_path):
    """A Classifier's graph takes float features (and scales them); indices for an
    Embedding are not features, so export refuses and points to the bare model."""
    model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(8, 1))
    classifier = Classifier(model, loss_fn="BCEWithLogitsLoss")
    with pytest.raises(
        UnsupportedLayerError, match="starts with an Embedding.*export classifier.model"
    ):
        to_onnx(classifier, tmp_path / "c.onnx", input_shape=(2,))
    assert not (tmp_path / "c.onnx").exists()


class Doubler(nn.Module):
    def forward(self, input):
        return input * 2


class MyLinear(nn.Linear):
    """A subclass: its forward could be anything, so it is not exported as Linear."""


@pytest.mark.parametrize(
    ("model", "named"),
    [
        (
            nn.Sequential(nn.Linear(2, 3), Doubler()),
            "layer '1' of the model is a test_export_onnx.Doubler,",
        ),
        (
            nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), MyLinear(3, 1))),
            "layer '1' of layer '1' of the model is a test_export_onnx.MyLinear,",
        ),
    ],
)
def test_an_unsupported_layer_is_named_and_nothing_is_written(tmp_path, model, named):
    """A layer without a converter raises UnsupportedLayerError naming its class and
    place and the layers that are supported; an existing file is left as it was."""
    path = tmp_path / "model.onnx"
    path.write_bytes(b"old")
    with pytest.raises(UnsupportedLayerError) as raised:
        to_onnx(model, path, input_shape=(2,))
    assert named in str(raised.value)
    assert "it converts nn.Sequential models of Linear, ReLU" in str(raised.value)
    assert path.read_bytes() == b"old"


def test_batch_norm_without_running_statistics_is_refused():
    """BatchNorm1d(track_running_stats=False) normalises with each batch's own
    statistics: an inference graph cannot hold that, and the error says so."""
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3, track_running_stats=False))
    with pytest.raises(UnsupportedLayerError, match="track_running_stats=False"):
        to_onnx(model, "never-written.onnx")


def test_a_model_whose_input_shape_cannot_be_read_needs_input_shape(tmp_path):
    """A model starting with Flatten does not fix its input's shape: the error asks
    for input_shape, and a shape the model does not take is named."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 2))
    with pytest.raises(ValueError, match="pass input_shape="):
        to_onnx(model, tmp_path / "m.onnx")
    with pytest.raises(ValueError, match=r"does not take inputs of shape \(batch, 5\)"):
        to_onnx(model, tmp_path / "m.onnx", input_shape=(5,))


def test_exporting_leaves_the_model_unchanged(tmp_path):
    """Export runs the model in eval mode to read its output shape, then puts its
    training mode back; weights and running statistics are untouched."""
    model = nn.Sequential(nn.Linear(3, 4), randomised_batch_norm(4), nn.Dropout())
    before = {key: value.array.copy() for key, value in model.state_dict().items()}
    model.train()
    to_onnx(model, tmp_path / "m.onnx")
    assert model.training and all(layer.training for layer in model.modules())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.array, before[key])


# -- Classifiers ---------------------------------------------------------------------


def probabilities_from_csv(text: str) -> tuple[list[str], np.ndarray]:
    rows = list(csv.DictReader(io.StringIO(text)))
    columns = [name for name in rows[0] if name.startswith("probability_")]
    labels = [row["prediction"] for row in rows]
    return labels, np.array([[float(row[c]) for c in columns] for row in rows])


def test_a_trained_iris_model_exported_by_the_cli_predicts_as_deepgrad_predict(
    tmp_path,
):
    """`deepgrad train iris --epochs 5` then `deepgrad export`: the graph holds the
    standardisation and gives `deepgrad predict`'s probabilities (to 1e-5, the
    CSV's 6 decimals) and labels, for the whole set and for one row."""
    model_path, onnx_path = tmp_path / "iris.dg", tmp_path / "iris.onnx"
    trained = run("train", "iris", "--epochs", "5", "--seed", "0", "--out", model_path)
    assert trained.exit_code == 0, trained.output
    classifier = dg.load(model_path)
    assert classifier.standardizer is not None  # iris is standardised by default

    exported = run("export", model_path, onnx_path)
    assert exported.exit_code == 0, exported.output
    assert exported.stdout == (
        f"Wrote {onnx_path} (ONNX opset {DEFAULT_OPSET}): input (batch, 4) -> "
        "probabilities (batch, 3), label (batch)\n"
    )
    onnx.checker.check_model(onnx.load(str(onnx_path)), full_check=True)

    predicted = run("predict", model_path, "iris")
    assert predicted.exit_code == 0, predicted.output
    labels, probabilities = probabilities_from_csv(predicted.stdout)
    X = load_dataset("iris").X.astype(np.float32)
    onnx_probabilities, onnx_labels = run_graph(onnx_path, X)
    np.testing.assert_allclose(onnx_probabilities, probabilities, atol=TOLERANCE)
    assert onnx_labels.tolist() == labels
    np.testing.assert_allclose(
        onnx_probabilities, classifier.predict_proba(X), atol=TOLERANCE
    )
    one_probabilities, one_label = run_graph(onnx_path, X[100:101])
    np.testing.assert_allclose(
        one_probabilities, probabilities[100:101], atol=TOLERANCE
    )
    assert one_label.tolist() == labels[100:101]

    metadata = {
        prop.key: prop.value for prop in onnx.load(str(onnx_path)).metadata_props
    }
    assert metadata["class_names"] == '["setosa", "versicolor", "virginica"]'
    assert metadata["task"] == "multiclass"


def binary_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(5, 3, size=(40, 3)).astype(np.float32)
    return X, np.where(X[:, 0] + X[:, 1] > 10, "yes", "no")


@pytest.mark.parametrize(
    ("loss", "outputs", "last"),
    [
        ("BCELoss", 1, [nn.Sigmoid()]),
        ("BCEWithLogitsLoss", 1, []),
        ("CrossEntropyLoss", 2, []),
        ("NLLLoss", 2, [nn.LogSoftmax(dim=1)]),
    ],
)
@pytest.mark.parametrize("names", [True, False])
def test_classifiers_of_each_loss_export_probabilities_and_labels(
    tmp_path, loss, outputs, last, names
):
    """Each classification loss's graph turns outputs into predict_proba's
    probabilities (one sigmoid unit as [1 - p, p]) and predict's labels: the
    class names, or int64 indices for a classifier without names."""
    dg.manual_seed(0)
    X, y = binary_data()
    if not names:
        y = (y == "yes").astype(np.int64)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, outputs), *last)
    classifier = Classifier(model, loss_fn=loss, standardizer=Standardizer())
    classifier.fit(X, y, epochs=3, verbose=0)
    to_onnx(classifier, tmp_path / "c.onnx")

    probabilities, labels = run_graph(tmp_path / "c.onnx", X)
    np.testing.assert_allclose(
        probabilities, classifier.predict_proba(X), atol=TOLERANCE
    )
    assert probabilities.shape == (40, 2)
    assert labels.tolist() == classifier.predict(X).tolist()
    assert labels.dtype == (object if names else np.int64)


@pytest.mark.parametrize("targets", [1, 2])
def test_a_regressor_exports_predictions_in_the_targets_units(tmp_path, targets):
    """A regressor's graph scales its features, runs the model and undoes the target
    scaling: `prediction` equals Classifier.predict (raveled for one target) to a
    relative 1e-5."""
    dg.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(5, 3, size=(30, 3)).astype(np.float32)
    y = (X @ np.array([1.0, 2.0, 3.0]) + 100).astype(np.float32)
    y = y if targets == 1 else np.stack([y, -2 * y], axis=1)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, targets))
    regressor = Classifier(
        model,
        task="regression",
        standardizer=Standardizer(),
        target_standardizer=Standardizer(),
    )
    regressor.fit(X, y, epochs=3, verbose=0)
    to_onnx(regressor, tmp_path / "r.onnx")

    session = ort.InferenceSession(str(tmp_path / "r.onnx"))
    assert [output.name for output in session.get_outputs()] == ["prediction"]
    for rows in (X[:1], X[:7]):
        (prediction,) = run_graph(tmp_path / "r.onnx", rows)
        expected = regressor.predict(rows)
        assert prediction.shape == expected.shape
        np.testing.assert_allclose(prediction, expected, rtol=TOLERANCE)


def test_a_regressor_trained_by_the_cli_exports_predict_s_numbers(tmp_path):
    """`deepgrad train data.csv --task regression` then `deepgrad export`: the
    graph's `prediction` equals `deepgrad predict`'s column (printed to 6
    significant digits) for every row."""
    rng = np.random.default_rng(0)
    X = rng.normal(50, 10, size=(60, 2))
    y = 3 * X[:, 0] - X[:, 1] + rng.normal(size=60)
    lines = ["a,b,price"] + [
        f"{a:.3f},{b:.3f},{t:.3f}" for (a, b), t in zip(X, y, strict=True)
    ]
    data = tmp_path / "prices.csv"
    data.write_text("\n".join(lines) + "\n")
    model_path, onnx_path = tmp_path / "prices.dg", tmp_path / "prices.onnx"
    trained = run(
        "train", data, "--target", "price", "--task", "regression",
        "--epochs", "5", "--out", model_path,
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    assert dg.load(model_path).target_standardizer is not None

    exported = run("export", model_path, onnx_path)
    assert exported.exit_code == 0, exported.output
    assert "-> prediction (batch)" in exported.stdout
    predicted = run("predict", model_path, data)
    assert predicted.exit_code == 0, predicted.output
    rows = list(csv.DictReader(io.StringIO(predicted.stdout)))
    expected = np.array([float(row["prediction"]) for row in rows])
    features = np.loadtxt(data, delimiter=",", skiprows=1, usecols=(0, 1))
    (prediction,) = run_graph(onnx_path, features.astype(np.float32))
    np.testing.assert_allclose(prediction, expected, rtol=TOLERANCE)


def test_a_fitted_estimator_exports_its_classifier(tmp_path):
    """An estimator holding its fitted Classifier as ``classifier_`` (the
    scikit-learn convention) exports as that Classifier."""

    class Estimator:
        def __init__(self, classifier):
            self.classifier_ = classifier

    dg.manual_seed(0)
    X, y = binary_data()
    classifier = Classifier(nn.Sequential(nn.Linear(3, 1)), standardizer=Standardizer())
    classifier.fit(X, y, epochs=2, verbose=0)
    to_onnx(Estimator(classifier), tmp_path / "e.onnx")
    probabilities, labels = run_graph(tmp_path / "e.onnx", X)
    np.testing.assert_allclose(
        probabilities, classifier.predict_proba(X), atol=TOLERANCE
    )
    assert labels.tolist() == classifier.predict(X).tolist()


def test_something_that_is_no_model_is_refused():
    """to_onnx names what it received when that is no Module or Classifier."""
    with pytest.raises(TypeError, match="received: str; load a model file"):
        to_onnx("model.dg", "model.onnx")


# -- the command line ----------------------------------------------------------------


@pytest.fixture(scope="module")
def bare_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bare") / "bare.dg"
    dg.save(nn.Sequential(nn.Linear(3, 2), nn.ReLU()), path)
    return path


def test_the_cli_exports_a_bare_model_at_the_opset_asked(tmp_path, bare_model):
    """`deepgrad export MODEL OUT --opset 15` writes the model's plain output."""
    result = run("export", bare_model, tmp_path / "bare.onnx", "--opset", "15")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Wrote {tmp_path / 'bare.onnx'} (ONNX opset 15)")
    model = dg.load(bare_model)
    inputs = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    (output,) = run_graph(tmp_path / "bare.onnx", inputs)
    np.testing.assert_allclose(output, eval_output(model, inputs), atol=TOLERANCE)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["model.txt"], "export writes an ONNX file: give a .onnx file"),
        (["missing/model.onnx"], "OUT"),
        (["model.onnx", "--opset", "3"], "opset must be an integer from 15"),
    ],
)
def test_the_cli_refuses_bad_output_and_options_in_one_line(
    tmp_path, monkeypatch, bare_model, arguments, message
):
    """A wrong suffix, a missing folder or a bad opset: one Error line, exit 2."""
    monkeypatch.chdir(tmp_path)
    result = run("export", bare_model, *arguments)
    assert result.exit_code == 2
    assert message in error_line(result)


def test_the_cli_without_onnx_names_the_extra(tmp_path, monkeypatch, bare_model):
    """Without the onnx package, `deepgrad export` says in one line which extra
    installs it, and exits 2."""
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now fails
    result = run("export", bare_model, tmp_path / "model.onnx")
    assert result.exit_code == 2
    assert error_line(result) == (
        "Error: this needs onnx, which is not installed: pip install 'deepgrad[onnx]'"
    )
    assert not (tmp_path / "model.onnx").exists()


def test_export_help_fits_80_columns():
    """`deepgrad export --help` reads at 80 columns, as the other commands' help."""
    import os
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "deepgrad", "export", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80", "NO_COLOR": "1"},
        check=True,
    )
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert any("export [OPTIONS] MODEL OUT" in line for line in lines)
    assert "--opset" in result.stdout and "…" not in result.stdout
