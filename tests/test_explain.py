"""deepgrad.explain: the trace's numbers are the engine's, its formulas hold, it prints.

Also the `deepgrad explain` command and a model's HTML summary (``_repr_html_``).
"""

from __future__ import annotations

import copy
import io
import re

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad import cli, nn
from deepgrad.explain import format_trace, trace

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float64)

# f'(Z) written out from the textbook, independent of the engine's backward
DERIVATIVES = {
    "sigmoid": lambda z, a: a * (1 - a),
    "tanh": lambda z, a: 1 - a**2,
    "relu": lambda z, a: (z > 0).astype(z.dtype),
}
MODULES = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def lab_network(activation: str = "sigmoid", dtype=dg.float64) -> nn.Sequential:
    """The lab's 2-4-4-1 network with a sigmoid output, seeded."""
    dg.manual_seed(42)
    act = MODULES[activation]
    return nn.Sequential(
        nn.Linear(2, 4, dtype=dtype),
        act(),
        nn.Linear(4, 4, dtype=dtype),
        act(),
        nn.Linear(4, 1, dtype=dtype),
        nn.Sigmoid(),
    )


def linears(model: nn.Module) -> list[nn.Linear]:
    return [module for module in model.modules() if isinstance(module, nn.Linear)]


def render(renderable, width: int = 100) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, color_system=None).print(renderable)
    return buffer.getvalue()


# -- the numbers are the engine's ---------------------------------------------------
def test_each_dW_and_db_equals_the_param_grad_of_loss_backward_on_a_copy():
    model = lab_network()
    result = trace(model, XOR_X, XOR_Y, nn.BCELoss())

    reference = copy.deepcopy(model)
    nn.BCELoss()(reference(dg.tensor(XOR_X)), dg.tensor(XOR_Y)).backward()
    for layer, linear in zip(result.layers, linears(reference), strict=True):
        np.testing.assert_array_equal(layer.dW, linear.weight.grad.numpy())
        np.testing.assert_array_equal(layer.db, linear.bias.grad.numpy())


def test_each_delta_equals_retain_grad_on_a_manually_computed_Z():
    model = lab_network()
    result = trace(model, XOR_X, XOR_Y, nn.BCELoss())

    activation = dg.tensor(XOR_X)
    pre_activations = []
    for linear in linears(copy.deepcopy(model)):
        pre_activation = F.linear(activation, linear.weight, linear.bias)
        pre_activation.retain_grad()
        pre_activations.append(pre_activation)
        activation = dg.sigmoid(pre_activation)
    F.binary_cross_entropy(activation, dg.tensor(XOR_Y)).backward()
    for layer, pre_activation in zip(result.layers, pre_activations, strict=True):
        np.testing.assert_allclose(
            layer.Z, pre_activation.detach().numpy(), rtol=0, atol=0
        )
        np.testing.assert_allclose(
            layer.dZ, pre_activation.grad.numpy(), rtol=1e-12, atol=1e-15
        )


def test_sigmoid_bce_output_delta_is_prediction_minus_target_over_n():
    result = trace(lab_network(dtype=dg.float32), XOR_X, XOR_Y, nn.BCELoss())
    last = result.layers[-1]
    np.testing.assert_allclose(last.dZ, (last.A - XOR_Y) / 4, rtol=0, atol=1e-6)
    assert last["dZ"].formula == "dL/dA3 * sigmoid'(Z3) = (A3 - y) / N"
    assert last["dZ"].residual < 1e-6


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_chain_rule_identities_hold_numerically(activation):
    result = trace(lab_network(activation), XOR_X, XOR_Y, nn.BCELoss())
    layers = result.layers
    for index, layer in enumerate(layers):
        # dL/dZ_l = dL/dA_l * f'(Z_l)
        name = "sigmoid" if index == len(layers) - 1 else activation
        derivative = DERIVATIVES[name](layer.Z, layer.A)
        np.testing.assert_allclose(layer.dZ, layer.dA * derivative, atol=1e-12)
        # dL/dW_l = (dL/dZ_l)^T · A_{l-1}, dL/db_l = sum of dL/dZ_l over the batch
        previous = XOR_X if index == 0 else layers[index - 1].A
        np.testing.assert_allclose(layer.dW, layer.dZ.T @ previous, atol=1e-12)
        np.testing.assert_allclose(layer.db, layer.dZ.sum(axis=0), atol=1e-12)
        # dL/dA_{l-1} = dL/dZ_l · W_l
        if index > 0:
            weight = linears(lab_network(activation))[index].weight.detach().numpy()
            np.testing.assert_allclose(
                layers[index - 1].dA, layer.dZ @ weight, atol=1e-12
            )
    assert result.max_residual < 1e-10


def test_each_step_states_its_chain_rule_formula():
    result = trace(lab_network(), XOR_X, XOR_Y, nn.BCELoss())
    formulas = {q.symbol: q.formula for q in result.quantities}
    assert formulas["Z1"] == "X · W1^T + b1"
    assert formulas["A2"] == "sigmoid(Z2)"
    assert formulas["dL/dA3"] == "(A3 - y) / (A3 (1 - A3) N)"
    assert formulas["dL/dW3"] == "(dL/dZ3)^T · A2"
    assert formulas["dL/db3"] == "sum over batch of dL/dZ3"
    assert formulas["dL/dA2"] == "dL/dZ3 · W3"
    assert formulas["dL/dZ2"] == "dL/dA2 * sigmoid'(Z2)"
    assert formulas["dL/dW1"] == "(dL/dZ1)^T · X"
    assert [q.symbol for q in result.layers[0].backward] == [
        "dL/dA1",
        "dL/dZ1",
        "dL/dW1",
        "dL/db1",
    ]


def test_softmax_cross_entropy_output_delta_is_softmax_minus_onehot_over_n():
    dg.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(2, 5, dtype=dg.float64), nn.Tanh(), nn.Linear(5, 3, dtype=dg.float64)
    )
    labels = np.array([0, 2, 1, 2])
    result = trace(model, XOR_X, labels, nn.CrossEntropyLoss())
    last = result.layers[-1]
    logits = last.Z
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(
        last.dZ, (probabilities - np.eye(3)[labels]) / 4, atol=1e-12
    )
    assert last.activation is None
    assert last["dZ"].formula == "(softmax(Z2) - onehot(y)) / N"
    assert [q.key for q in last.backward] == ["dZ", "dW", "db"]


def test_bce_with_logits_output_delta_is_sigmoid_minus_target_over_n():
    dg.manual_seed(1)
    model = nn.Sequential(
        nn.Linear(2, 3, dtype=dg.float64), nn.ReLU(), nn.Linear(3, 1, dtype=dg.float64)
    )
    result = trace(model, XOR_X, XOR_Y[:, 0], nn.BCEWithLogitsLoss())
    last = result.layers[-1]
    np.testing.assert_allclose(
        last.dZ, (1 / (1 + np.exp(-last.Z)) - XOR_Y) / 4, atol=1e-12
    )
    assert last["dZ"].formula == "(sigmoid(Z2) - y) / N"


def test_a_loss_without_closed_form_is_traced_but_not_checked():
    dg.manual_seed(2)
    model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
    result = trace(model, XOR_X, XOR_Y, nn.L1Loss())
    output = result.layers[-1]["dZ"]
    assert output.formula == "from the loss's backward"
    assert output.residual is None
    assert result.layers[0]["dZ"].residual is not None


@pytest.mark.parametrize(
    ("loss_fn", "targets"),
    [
        (nn.BCELoss(), XOR_Y),
        (nn.MSELoss(), XOR_Y),
    ],
)
def test_gradcheck_agrees_with_backprop_for_every_parameter(loss_fn, targets):
    result = trace(lab_network(dtype=dg.float32), XOR_X, targets, loss_fn)
    assert [row.symbol for row in result.gradcheck] == [
        "W1",
        "b1",
        "W2",
        "b2",
        "W3",
        "b3",
    ]
    assert [row.parameter for row in result.gradcheck][:2] == ["0.weight", "0.bias"]
    for row, quantity in zip(
        result.gradcheck,
        [q for layer in result.layers for q in layer.backward if q.key in "dWdb"],
        strict=True,
    ):
        assert row.rel_error < 1e-6
        assert row.numeric_norm == pytest.approx(row.backprop_norm, rel=1e-6)
        assert row.backprop_norm == pytest.approx(quantity.norm, rel=1e-5)
        assert row.shape == quantity.shape
    assert result.gradcheck_ok


def test_gradcheck_rel_errors_are_model_gradchecks():
    model = lab_network("tanh", dtype=dg.float32)
    result = trace(model, XOR_X, XOR_Y, nn.BCELoss())
    expected = dg.model_gradcheck(model, nn.BCELoss(), XOR_X, XOR_Y.astype(np.float32))
    assert {row.parameter: row.rel_error for row in result.gradcheck} == pytest.approx(
        expected, rel=1e-6, abs=1e-14
    )


def test_gradcheck_marks_a_relu_kink_instead_of_failing():
    # zero biases and the input (0, 0) put Z1 and Z2 of row 0 exactly at relu's kink
    model = lab_network("relu")
    for linear in linears(model):
        linear.bias.array[...] = 0
    result = trace(model, XOR_X, XOR_Y, nn.BCELoss())
    assert result.kinks == {"Z1": 4, "Z2": 4}
    at_kink = {row.symbol: row.at_kink for row in result.gradcheck}
    assert at_kink == {
        "W1": True,
        "b1": True,
        "W2": True,
        "b2": True,
        "W3": False,
        "b3": False,
    }
    assert max(row.rel_error for row in result.gradcheck) > 0.1  # b1 straddles it
    assert result.gradcheck_ok
    text = render(format_trace(result))
    assert "kink" in text and "FAIL" not in text


def test_trace_without_gradcheck_has_no_rows():
    result = trace(lab_network(), XOR_X, XOR_Y, nn.BCELoss(), gradcheck=False)
    assert result.gradcheck == ()


def test_trace_of_one_sample_has_batch_shapes_of_one_row():
    result = trace(lab_network(), XOR_X[2], XOR_Y[2], nn.BCELoss())
    assert result.inputs.shape == (1, 2)
    assert result.n == 1
    assert result.layers[0]["Z"].shape == (1, 4)
    assert result.layers[0]["dW"].shape == (4, 2)


def test_trace_leaves_the_callers_model_and_gradients_unchanged():
    model = lab_network()
    before = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
    trace(model, XOR_X, XOR_Y, nn.BCELoss())
    for name, parameter in model.named_parameters():
        assert parameter.grad is None
        np.testing.assert_array_equal(parameter.detach().numpy(), before[name])


def test_trace_rejects_a_model_that_is_not_sequential():
    with pytest.raises(TypeError, match="nn.Sequential"):
        trace(nn.Linear(2, 1), XOR_X, XOR_Y, nn.MSELoss())


def test_trace_names_an_unsupported_layer():
    model = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Sigmoid())
    with pytest.raises(ValueError, match=r"'1' \(BatchNorm1d\) is not supported"):
        trace(model, XOR_X, XOR_Y[:, :1].repeat(4, axis=1), nn.MSELoss())


def test_trace_rejects_inputs_of_the_wrong_width_and_count():
    with pytest.raises(ValueError, match=r"shape \(N, 2\).*received: \(4, 3\)"):
        trace(lab_network(), np.zeros((4, 3)), XOR_Y, nn.BCELoss())
    with pytest.raises(ValueError, match="4 samples but y has 3 targets"):
        trace(lab_network(), XOR_X, XOR_Y[:3], nn.BCELoss())


# -- printing -----------------------------------------------------------------------
def test_format_trace_prints_forward_backward_and_gradcheck_tables_in_100_columns():
    result = trace(lab_network(), XOR_X, XOR_Y, nn.BCELoss())
    text = render(format_trace(result))
    assert "Binary Cross Entropy Loss L = " in text
    forward = text.index("Forward pass")
    backward = text.index("Backward pass")
    gradcheck = text.index("Gradient check")
    assert forward < backward < gradcheck
    # backward goes from the output to layer 1
    assert text.index("dL/dW3") < text.index("dL/dW2") < text.index("dL/dW1")
    for formula in (
        "X · W1^T + b1",
        "dL/dA3 * sigmoid'(Z3)",
        "= (A3 - y) / N",
        "(dL/dZ3)^T · A2",
        "dL/dZ3 · W3",
        "sum over batch of dL/dZ1",
        "W1 (0.weight)",
    ):
        assert formula in text
    assert "FAIL" not in text
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 100


def test_format_trace_shows_values_with_the_given_decimals():
    result = trace(lab_network(), XOR_X, XOR_Y, nn.BCELoss())
    two = render(format_trace(result, decimals=2))
    assert f"L = {result.loss:.2f}" in two
    assert re.search(r"\[0\.\d\d, ", two)
    with pytest.raises(ValueError, match="decimals"):
        format_trace(result, decimals=-1)


def test_format_trace_flags_a_gradcheck_failure():
    result = trace(lab_network(), XOR_X, XOR_Y, nn.BCELoss(), tolerance=0.0)
    assert not result.gradcheck_ok
    assert "FAIL" in render(format_trace(result))


# -- the command --------------------------------------------------------------------
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(cli.app, ["explain", *args])


def test_explain_xor_prints_the_trace_and_the_gradient_check():
    result = invoke("xor", "--hidden", "4,4")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Backprop through xor (all rows), hidden 4,4, sigmoid, loss bce" in text
    assert "untrained" in text
    for expected in (
        "Forward pass",
        "Backward pass",
        "Gradient check",
        "dL/dA3 * sigmoid'(Z3)",
        "= (A3 - y) / N",
        "(dL/dZ2)^T · A1",
        "N = 4 samples",
    ):
        assert expected in text
    assert "FAIL" not in text


def test_explain_sample_traces_one_row():
    result = invoke("xor", "--sample", "1")
    assert result.exit_code == 0, result.output
    assert "(row 1)" in result.stdout
    assert "N = 1 sample" in result.stdout
    assert "X = [[0, 1]]   y = [[1]]" in result.stdout
    assert "1×4" in result.stdout  # Z1 of one row


def test_explain_after_training_reports_the_epochs_and_traces_the_trained_weights():
    untrained = invoke("xor", "--sample", "0")
    trained = invoke("xor", "--sample", "0", "--epoch", "300", "--lr", "0.5")
    assert trained.exit_code == 0, trained.output
    assert "after 300 epochs of sgd (loss " in trained.stdout
    loss = re.compile(r"L = (\d\.\d+)")
    assert loss.search(trained.stdout).group(1) != loss.search(untrained.stdout).group(
        1
    )


def test_explain_with_cross_entropy_states_the_softmax_identity():
    result = invoke("xor", "--loss", "ce", "--activation", "relu")
    assert result.exit_code == 0, result.output
    assert "(softmax(Z3) - onehot(y)) / N" in result.stdout
    assert "relu'(Z2)" in result.stdout


def test_explain_no_gradcheck_prints_the_trace_only():
    result = invoke("xor", "--no-gradcheck")
    assert result.exit_code == 0, result.output
    assert "Backward pass" in result.stdout
    assert "Gradient check" not in result.stdout


@pytest.mark.parametrize("index", ["4", "-1"])
def test_explain_bad_sample_index_exits_2_with_one_error_line(index):
    result = invoke("xor", "--sample", index)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"Error: --sample expects a row index from 0 to 3 (xor has 4 samples), "
        f"received: {index}"
    ]
    assert "Traceback" not in result.output


# -- the model summary as HTML ------------------------------------------------------
def test_repr_html_is_a_summary_table_with_the_parameter_count():
    html = lab_network()._repr_html_()
    assert html.count("<table>") == 1
    assert "<th>Layer (type)</th>" in html
    assert html.count("<tr>") == 1 + 6  # header and one row per layer
    assert "<td>0 (Linear)</td><td>(None, 4)</td>" in html
    assert "Total params: 37" in html  # 2*4+4 + 4*4+4 + 4*1+1
    assert "Trainable params: 37" in html


def test_repr_html_escapes_names_and_counts_frozen_parameters():
    model = lab_network()
    model[0].requires_grad_(False)
    html = model._repr_html_()
    assert 'Model: "Sequential"' in html
    assert "Trainable params: 25" in html
    assert "Non-trainable params: 12" in html


def test_repr_html_is_none_when_the_output_shapes_cannot_be_inferred():
    broken = nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1))
    assert broken._repr_html_() is None
