"""deepgrad.nn.init against torch.nn.init.

The two libraries draw different random numbers, so the oracle is the
distribution: on a large tensor, deepgrad's samples must have torch's mean,
standard deviation and (for bounded initialisers) range. A wrong fan, gain or
bound formula moves the standard deviation by far more than the 1.5% allowed.
Gains and fans are deterministic and compared exactly.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from deepgrad.nn import init
from deepgrad.nn.module import Parameter
from deepgrad.tensor import Tensor, manual_seed

torch = pytest.importorskip("torch")
torch_init = torch.nn.init

NONLINEARITIES = [
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "selu",
]


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_calculate_gain_equals_torch(nonlinearity):
    expected = torch_init.calculate_gain(nonlinearity)
    assert init.calculate_gain(nonlinearity) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("slope", [0, 0.2, 1, 3, math.sqrt(5)])
def test_leaky_relu_gain_uses_the_slope_as_torch(slope):
    expected = torch_init.calculate_gain("leaky_relu", slope)
    assert init.calculate_gain("leaky_relu", slope) == pytest.approx(expected, 1e-15)


@pytest.mark.parametrize(
    ("nonlinearity", "param"), [("swish", None), ("leaky_relu", "0.2")]
)
def test_calculate_gain_rejects_what_torch_rejects(nonlinearity, param):
    with pytest.raises(ValueError):
        torch_init.calculate_gain(nonlinearity, param)
    with pytest.raises(ValueError, match=str(param if param else nonlinearity)):
        init.calculate_gain(nonlinearity, param)


@pytest.mark.parametrize("shape", [(3, 5), (4, 3, 5), (8, 4, 3, 3), (2, 3, 4, 5, 6)])
def test_fan_in_and_fan_out_equal_torch(shape):
    expected = torch_init._calculate_fan_in_and_fan_out(torch.empty(shape))
    actual = init._calculate_fan_in_and_fan_out(Tensor(np.empty(shape)))
    assert actual == expected


@pytest.mark.parametrize("shape", [(), (5,)])
def test_fan_needs_two_dimensions_as_in_torch(shape):
    with pytest.raises(ValueError):
        torch_init._calculate_fan_in_and_fan_out(torch.empty(shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(Tensor(np.empty(shape)))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(Tensor(np.empty(shape)))


def test_kaiming_rejects_an_unknown_mode_as_torch():
    with pytest.raises(ValueError):
        torch_init.kaiming_normal_(torch.empty(3, 5), mode="fan_avg")
    with pytest.raises(ValueError, match="fan_avg not supported"):
        init.kaiming_normal_(Tensor(np.empty((3, 5))), mode="fan_avg")


# name, keyword arguments, whether the distribution has hard bounds
INITIALISERS = [
    ("uniform_", {"a": -0.3, "b": 0.7}, True),
    ("normal_", {"mean": 1.0, "std": 0.5}, False),
    ("trunc_normal_", {"std": 0.02, "a": -0.04, "b": 0.04}, True),
    ("trunc_normal_", {"mean": 0.0, "std": 1.0, "a": 1.5, "b": 3.0}, True),
    ("xavier_uniform_", {"gain": 5.0 / 3}, True),
    ("xavier_normal_", {}, False),
    ("kaiming_uniform_", {}, True),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, True),
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}, True),
    ("kaiming_normal_", {}, False),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}, False),
]


@pytest.mark.parametrize("shape", [(512, 256), (128, 64, 3, 3)])
@pytest.mark.parametrize(("name", "kwargs", "bounded"), INITIALISERS)
def test_initialiser_samples_have_torchs_distribution(name, kwargs, bounded, shape):
    torch.manual_seed(0)
    expected = getattr(torch_init, name)(
        torch.empty(shape, dtype=torch.float64), **kwargs
    )
    expected = expected.numpy()
    manual_seed(0)
    actual = getattr(init, name)(Tensor(np.zeros(shape)), **kwargs).array

    std = expected.std()
    assert actual.std() == pytest.approx(std, rel=0.015)
    # both means are noisy: each has standard error std / sqrt(n)
    assert abs(actual.mean() - expected.mean()) < 6 * std / math.sqrt(actual.size)
    if bounded:
        # n > 10^4 samples come within a 10^-3 fraction of each end of the range
        tolerance = 1e-3 * (expected.max() - expected.min())
        assert expected.min() - tolerance <= actual.min() <= expected.min() + tolerance
        assert expected.max() - tolerance <= actual.max() <= expected.max() + tolerance


@pytest.mark.parametrize(
    ("name", "args"), [("constant_", (0.25,)), ("zeros_", ()), ("ones_", ())]
)
def test_constant_initialisers_equal_torch(name, args):
    expected = getattr(torch_init, name)(torch.empty(3, 4), *args).numpy()
    actual = getattr(init, name)(Tensor(np.empty((3, 4), np.float32)), *args)
    np.testing.assert_array_equal(actual.array, expected)


@pytest.mark.parametrize("name", ["uniform_", "xavier_normal_", "kaiming_uniform_"])
def test_initialiser_writes_in_place_keeps_dtype_and_records_nothing(name):
    weight = Parameter(np.zeros((4, 3), np.float32))
    array = weight.array
    assert getattr(init, name)(weight) is weight
    assert weight.array is array and weight.dtype == np.float32
    assert weight.is_leaf and weight.requires_grad and weight.grad_fn is None
    assert np.any(array != 0)


def test_manual_seed_makes_initialisation_reproducible():
    manual_seed(3)
    first = init.kaiming_normal_(Tensor(np.zeros((5, 4)))).array
    manual_seed(3)
    second = init.kaiming_normal_(Tensor(np.zeros((5, 4)))).array
    third = init.kaiming_normal_(Tensor(np.zeros((5, 4)))).array
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(second, third)


def test_an_explicit_generator_is_used_instead_of_the_global_one():
    draws = [
        init.xavier_uniform_(
            Tensor(np.zeros((5, 4))), generator=np.random.default_rng(7)
        )
        for _ in range(2)
    ]
    np.testing.assert_array_equal(draws[0].array, draws[1].array)


def test_random_initialisers_reject_integer_tensors():
    with pytest.raises(TypeError, match="floating point"):
        init.normal_(Tensor(np.zeros((2, 2), np.int64)))


def test_kaiming_on_a_zero_element_tensor_warns_like_torch():
    with pytest.warns(UserWarning, match="zero-element") as expected:
        torch_init.kaiming_uniform_(torch.empty(0, 3))
    with pytest.warns(UserWarning, match="zero-element") as actual:
        init.kaiming_uniform_(Tensor(np.empty((0, 3), np.float32)))
    assert str(actual[0].message) == str(expected[0].message)


def test_trunc_normal_warns_when_the_mean_is_far_from_the_bounds():
    with pytest.warns(UserWarning, match="more than 2 std"):
        init.trunc_normal_(Tensor(np.zeros(10)), mean=10.0, std=1.0, a=-1.0, b=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        init.trunc_normal_(Tensor(np.zeros(10)))
