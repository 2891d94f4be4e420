"""``Tensor.data`` as in PyTorch (issue 14, item 7), torch the oracle.

``t.data`` is a new leaf Tensor sharing ``t``'s memory, outside the graph, with
its own version counter; ``t.array`` is the NumPy array deepgrad reads inside;
``t.numpy()`` gives it to users. Each test runs the same steps in torch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepgrad as dg
from deepgrad import nn


def test_data_is_a_detached_tensor_sharing_memory_as_torch():
    """w.data: a Tensor, a leaf, no grad, same values; writing it writes w."""
    for lib in (dg, torch):
        weight = lib.tensor([1.0, 2.0], requires_grad=True)
        data = weight.data
        assert isinstance(data, lib.Tensor)
        assert data.is_leaf and not data.requires_grad
        data[0] = 10.0
        assert weight.tolist() == [10.0, 2.0]
    x = dg.ones(2)
    assert np.shares_memory(x.data.numpy(), x.numpy())


def test_gradient_step_through_data_trains_as_torch():
    """w.data -= lr * w.grad, outside no_grad, updates w in place (the same
    object, the same values as torch's, step after step)."""
    start = np.array([[0.5, -1.0], [2.0, 0.25]])
    inputs = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    ours = dg.tensor(start, requires_grad=True)
    theirs = torch.tensor(start, requires_grad=True)
    array = ours.array
    for _ in range(5):
        loss_ours = ((dg.tensor(inputs) @ ours).tanh() ** 2).mean()
        loss_theirs = ((torch.tensor(inputs) @ theirs).tanh() ** 2).mean()
        loss_ours.backward()
        loss_theirs.backward()
        ours.data -= 0.1 * ours.grad
        theirs.data -= 0.1 * theirs.grad
        ours.grad = None
        theirs.grad = None
        np.testing.assert_allclose(
            ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12
        )
    assert ours.array is array  # updated in place, never replaced
    first_loss = ((dg.tensor(inputs) @ dg.tensor(start)).tanh() ** 2).mean()
    assert loss_ours.item() < first_loss.item()


def test_in_place_ops_on_data_are_not_recorded_nor_checked_as_torch():
    """y = w * x saves x; changing x through x.data afterwards does not bump x's
    version, so backward uses the new values without an error, in both."""
    results = []
    for lib in (dg, torch):
        weight = lib.tensor([1.0, 2.0], requires_grad=True)
        x = lib.tensor([3.0, 4.0], requires_grad=True)
        y = (weight * x).sum()
        version = x._version
        x.data.add_(1.0)
        assert x._version == version
        assert not x.data.requires_grad
        y.backward()
        results.append(weight.grad.tolist())
    assert results[0] == results[1] == [4.0, 5.0]


def test_data_has_its_own_version_counter_as_torch():
    """In-place ops on w.data count on the alias only, unlike on w.detach()."""
    for lib in (dg, torch):
        weight = lib.ones(3)
        alias = weight.data
        alias.mul_(2)
        assert alias._version == 1 and weight._version == 0
        weight.detach().mul_(2)
        assert weight._version == 1
        assert weight.tolist() == [4.0, 4.0, 4.0]


def test_normal_and_uniform_through_data_initialise_a_parameter():
    """p.data.normal_(0, 0.01) and p.data.uniform_(-a, a) fill the Parameter
    in place, without an error, as in torch's init code."""
    layer = nn.Linear(50, 40)
    weight = layer.weight
    dg.manual_seed(0)
    weight.data.normal_(0, 0.01)
    assert layer.weight is weight
    assert abs(float(weight.array.std()) - 0.01) < 0.002
    layer.bias.data.uniform_(-0.5, 0.5)
    assert layer.bias.array.min() >= -0.5 and layer.bias.array.max() < 0.5
    layer.bias.data.zero_()
    assert not layer.bias.array.any()
    assert weight.requires_grad and weight.is_leaf


def test_assigning_data_replaces_the_storage_as_torch():
    """p.data = t makes p share t's memory (shape and dtype may change), keeps
    p a leaf that requires grad; a non-tensor is a TypeError in both."""
    for lib in (dg, torch):
        param = lib.zeros(2, requires_grad=True)
        new = lib.arange(6.0).reshape(2, 3).double()
        param.data = new
        assert param.shape == (2, 3) and param.requires_grad and param.is_leaf
        new[0, 0] = 100.0
        assert param[0, 0].item() == 100.0
        with pytest.raises(TypeError):
            param.data = [1.0, 2.0]


def test_data_assignment_half_converts_a_module_as_in_torch_code():
    """`for p in model.parameters(): p.data = p.data.double()` converts the
    model, and the optimizer built before still steps the same Parameters."""
    model = nn.Linear(3, 2)
    optimizer = dg.optim.SGD(model.parameters(), lr=0.1)
    for param in model.parameters():
        param.data = param.data.double()
    assert model.weight.dtype == np.float64
    model(dg.ones(4, 3, dtype=dg.float64)).sum().backward()
    before = model.weight.detach().numpy().copy()
    optimizer.step()
    assert not np.array_equal(before, model.weight.detach().numpy())


def test_numpy_stays_the_way_to_the_array():
    """x.numpy() is the array itself (shared), and x.data.numpy() the same memory."""
    x = dg.arange(4.0)
    assert x.numpy() is x.array
    x.numpy()[0] = 7.0
    assert x.data.numpy()[0] == 7.0
