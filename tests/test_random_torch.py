"""deepgrad's random numbers are PyTorch's (2.13, CPU), bit for bit.

After ``dg.manual_seed(s)`` and ``torch.manual_seed(s)``, every random function
draws the same values: compared as bit patterns (``np.array_equal`` on the
bytes), for several seeds (one above 2**31, one above 2**32 whose low 32 bits
seed the engine, a negative one taken modulo 2**64), sizes on both sides of
the 16 where ``normal_`` switches paths (1, 2, 15, 16, 17, 100, 1000, 10**5),
float32 and float64. Each test also compares the generator's state afterwards
with ``torch.get_rng_state()``, so the two streams stay in step for whatever
is drawn next.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad import nn
from deepgrad import random as dg_random
from deepgrad.data.loader import array_loader
from deepgrad.nn import init
from deepgrad.utils.data import DataLoader, TensorDataset

torch = pytest.importorskip("torch")

SEEDS = [0, 1, 42, 2**31 + 5, 2**40 + 7, -3]
SIZES = [1, 2, 15, 16, 17, 100, 1000, 10**5]
DTYPES = [(np.float32, torch.float32), (np.float64, torch.float64)]


def same_bits(ours, theirs) -> bool:
    """Equal shape, dtype and bytes: -0.0 != 0.0 and every NaN payload counts."""
    ours = np.asarray(ours.array if isinstance(ours, dg.Tensor) else ours)
    theirs = theirs.detach().numpy() if torch.is_tensor(theirs) else np.asarray(theirs)
    return (
        ours.shape == theirs.shape
        and ours.dtype == theirs.dtype
        and np.array_equal(
            np.ascontiguousarray(ours).view(np.uint8),
            np.ascontiguousarray(theirs).view(np.uint8),
        )
    )


def seeded(seed: int) -> None:
    dg.manual_seed(seed)
    torch.manual_seed(seed)


def assert_streams_in_step() -> None:
    assert same_bits(dg.get_rng_state(), torch.get_rng_state())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("dtype", "torch_dtype"), DTYPES)
def test_rand_randn_and_normal_are_torchs(seed, size, dtype, torch_dtype):
    """rand (uniform_ of 24 or 53 bits), randn (the scalar Box-Muller path below
    16 elements, the blocks of 16 from 16 on) and normal(mean, std, size) with
    its fused multiply-add, drawn one after the other from the same stream."""
    seeded(seed)
    for _ in range(2):  # the second round starts mid-stream (cached normal too)
        assert same_bits(
            dg.rand(size, dtype=dtype), torch.rand(size, dtype=torch_dtype)
        )
        assert same_bits(
            dg.randn(size, dtype=dtype), torch.randn(size, dtype=torch_dtype)
        )
        assert same_bits(
            dg.normal(0.3, 1.7, (size,), dtype=dtype),
            torch.normal(0.3, 1.7, (size,), dtype=torch_dtype),
        )
    assert_streams_in_step()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("dtype", "torch_dtype"), DTYPES)
def test_inplace_uniform_normal_random_and_bernoulli_are_torchs(
    seed, size, dtype, torch_dtype
):
    """Tensor.uniform_(a, b) (fma(u, b - a, a) in the dtype), normal_(mean, std),
    random_() over 2**24 + 1 or 2**53 + 1 values, random_(low, high) and
    bernoulli_(p) (one float64 uniform per element, u < p)."""
    seeded(seed)
    pairs = [
        (lambda t: t.uniform_(-0.37, 0.81)),
        (lambda t: t.normal_(-2.5, 0.01)),
        (lambda t: t.random_()),
        (lambda t: t.random_(-7, 300)),
        (lambda t: t.bernoulli_(0.3)),
    ]
    for fill in pairs:
        ours = fill(dg.zeros(size, dtype=dtype))
        theirs = fill(torch.zeros(size, dtype=torch_dtype))
        assert same_bits(ours, theirs)
    assert_streams_in_step()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("size", SIZES)
def test_randint_randperm_and_int64_random_are_torchs(seed, size):
    """randint below 2**32 (one word each), from 2**32 up (random64), negative
    lows, int32 output; randperm's swaps; int64 random_() over [0, 2**63)."""
    seeded(seed)
    cases = [
        (dg.randint(10, (size,)), torch.randint(10, (size,))),
        (dg.randint(-5, 17, (size,)), torch.randint(-5, 17, (size,))),
        (dg.randint(0, 2**40, (size,)), torch.randint(0, 2**40, (size,))),
        (
            dg.randint(-(2**33), 2**33, (size,)),
            torch.randint(-(2**33), 2**33, (size,)),
        ),
        (
            dg.randint(3, 1000, (size,), dtype=dg.int32),
            torch.randint(3, 1000, (size,), dtype=torch.int32),
        ),
        (dg.randperm(size), torch.randperm(size)),
        (
            dg.zeros(size, dtype=dg.int64).random_(),
            torch.zeros(size, dtype=torch.int64).random_(),
        ),
    ]
    for ours, theirs in cases:
        assert same_bits(ours, theirs)
    assert_streams_in_step()


def swaps_one_by_one(offsets: np.ndarray, n: int) -> np.ndarray:
    """randperm_cpu's forward Fisher-Yates as torch writes it, the reference
    for random._forward_swaps: 0..n-1, then for i = 0..n-2 swap i and i + offset."""
    order = list(range(n))
    for i, offset in enumerate(offsets.tolist()):
        j = i + offset
        order[i], order[j] = order[j], order[i]
    return np.array(order, np.int64)


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(0, 3000),
    seed=st.integers(0, 2**32 - 1),
    pattern=st.sampled_from(["random", "stay", "next", "last", "few targets"]),
)
def test_randperm_swaps_resolved_at_once_equal_the_swap_loop(n, seed, pattern):
    """randperm's vectorised swaps give the loop's permutation for any n and any
    offsets: random ones (randperm's), and the extremes: every element staying
    (offset 0), each swapped with the next (the deepest chain of moves), each
    with the last, and offsets crowding onto a few positions."""
    limits = np.arange(n, 1, -1, dtype=np.int64)  # offsets[i] < n - i
    words = np.random.default_rng(seed).integers(0, 2**32, len(limits))
    offsets = {
        "random": words % limits,
        "stay": np.zeros_like(limits),
        "next": np.ones_like(limits),
        "last": limits - 1,
        "few targets": np.maximum(limits - 1 - words % 3, 0),  # onto n-3..n-1
    }[pattern].astype(np.uint64)
    assert np.array_equal(
        dg_random._forward_swaps(offsets, n), swaps_one_by_one(offsets, n)
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_randperm_of_an_epoch_of_mnist_is_torchs(seed):
    """randperm(60000), an epoch's shuffle of MNIST-sized data, is torch's bit for
    bit, from the default generator and from a Generator of its own."""
    seeded(seed)
    assert same_bits(dg.randperm(60_000), torch.randperm(60_000))
    assert_streams_in_step()
    ours = dg.randperm(60_000, generator=dg.Generator().manual_seed(seed))
    theirs = torch.randperm(60_000, generator=torch.Generator().manual_seed(seed))
    assert same_bits(ours, theirs)


@pytest.mark.parametrize("n", [0, 1, 2, 17, 60_000])
def test_discarding_a_randperm_draws_what_randperm_draws(n):
    """discard_randperm (the permutation torch's sampler throws away) leaves the
    generator where torch's randperm(n) leaves torch's."""
    generator = dg.Generator().manual_seed(9)
    dg_random.discard_randperm(generator, n)
    torch_generator = torch.Generator().manual_seed(9)
    torch.randperm(n, generator=torch_generator)
    assert same_bits(generator.get_state(), torch_generator.get_state())


@pytest.mark.parametrize("seed", SEEDS[:4])
@pytest.mark.parametrize("size", [3, 40])
@pytest.mark.parametrize(("dtype", "torch_dtype"), DTYPES)
def test_normal_with_tensor_mean_and_std_is_torchs(seed, size, dtype, torch_dtype):
    """normal(mean_tensor, std_tensor) broadcasts them and draws randn * std +
    mean, as torch; Tensor.bernoulli_(p_tensor) draws against each p."""
    rng = np.random.default_rng(size)
    mean = rng.standard_normal((2, size)).astype(dtype)
    std = rng.random(size).astype(dtype)
    seeded(seed)
    assert same_bits(
        dg.normal(dg.tensor(mean), dg.tensor(std)),
        torch.normal(torch.from_numpy(mean), torch.from_numpy(std)),
    )
    assert same_bits(
        dg.zeros(2, size, dtype=dtype).bernoulli_(dg.tensor(std)),
        torch.zeros(2, size, dtype=torch_dtype).bernoulli_(torch.from_numpy(std)),
    )
    assert_streams_in_step()


@pytest.mark.parametrize("rows", [5, 40])
@pytest.mark.parametrize(("dtype", "torch_dtype"), DTYPES)
def test_inplace_fills_of_a_transposed_view_follow_memory_order(
    rows, dtype, torch_dtype
):
    """On a non-contiguous (transposed) tensor torch fills in memory order and
    normal_ takes its one-at-a-time path even from 16 elements: so does deepgrad."""
    fills = [
        (lambda t: t.normal_(0.5, 2.0)),
        (lambda t: t.uniform_(-1.0, 2.0)),
        (lambda t: t.random_(0, 100)),
        (lambda t: t.bernoulli_(0.3)),
    ]
    seeded(7)
    for fill in fills:
        ours = dg.zeros(rows, 7, dtype=dtype).T
        assert not ours.array.flags.c_contiguous
        theirs = torch.zeros(rows, 7, dtype=torch_dtype).t()
        fill(ours), fill(theirs)
        assert same_bits(ours.array.copy(), theirs.contiguous())
    assert_streams_in_step()


@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("shape", [(3, 4), (5, 1, 7), (64, 33)])
def test_multidimensional_shapes_draw_in_row_major_order(seed, shape):
    """randn and rand of an n-d shape are the flat draws, reshaped (as torch)."""
    seeded(seed)
    assert same_bits(dg.randn(*shape), torch.randn(*shape))
    assert same_bits(dg.rand(shape), torch.rand(shape))
    assert same_bits(
        dg.randn(*shape, dtype=dg.float64), torch.randn(*shape, dtype=torch.float64)
    )


@pytest.mark.parametrize("seed", SEEDS[:4])
@pytest.mark.parametrize(("dtype", "torch_dtype"), DTYPES)
def test_bernoulli_and_multinomial_are_torchs(seed, dtype, torch_dtype):
    """bernoulli(p_tensor) (a uniform of p's dtype per element), bernoulli(x, p),
    and multinomial with and without replacement, rows and a single vector."""
    seeded(seed)
    probabilities = np.linspace(0, 1, 37).astype(dtype)
    weights = np.random.default_rng(seed % 2**32).random((4, 9)).astype(dtype)
    assert same_bits(
        dg.bernoulli(dg.tensor(probabilities)),
        torch.bernoulli(torch.from_numpy(probabilities)),
    )
    assert same_bits(
        dg.bernoulli(dg.tensor(probabilities), 0.25),
        torch.bernoulli(torch.from_numpy(probabilities), 0.25),
    )
    for replacement in (False, True):
        assert same_bits(
            dg.multinomial(dg.tensor(weights), 5, replacement),
            torch.multinomial(torch.from_numpy(weights), 5, replacement),
        )
        assert same_bits(
            dg.multinomial(dg.tensor(weights[0]), 3, replacement),
            torch.multinomial(torch.from_numpy(weights[0]), 3, replacement),
        )
    assert_streams_in_step()


@pytest.mark.parametrize("seed", SEEDS[:4])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
@pytest.mark.parametrize(("dtype", "torch_dtype"), DTYPES)
def test_dropout_masks_are_torchs(seed, p, dtype, torch_dtype):
    """F.dropout and nn.Dropout in training: the same zeros and the same scaled
    values as torch (bernoulli_(1 - p), then / (1 - p) in the dtype)."""
    x = np.random.default_rng(0).standard_normal((33, 17)).astype(dtype)
    seeded(seed)
    assert same_bits(
        F.dropout(dg.tensor(x), p), torch.nn.functional.dropout(torch.tensor(x), p)
    )
    assert same_bits(nn.Dropout(p)(dg.tensor(x)), torch.nn.Dropout(p)(torch.tensor(x)))
    assert_streams_in_step()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("dtype", "torch_dtype"), DTYPES)
def test_nn_init_functions_are_torchs(seed, dtype, torch_dtype):
    """uniform_, normal_, xavier_uniform_/normal_ and kaiming_uniform_/normal_
    fill a weight with torch's values (their bounds and stds are torch's too)."""
    names = [
        ("uniform_", {"a": -0.2, "b": 0.3}),
        ("normal_", {"mean": 0.1, "std": 0.02}),
        ("xavier_uniform_", {"gain": 1.3}),
        ("xavier_normal_", {}),
        ("kaiming_uniform_", {"a": math.sqrt(5)}),
        ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ]
    seeded(seed)
    for name, kwargs in names:
        for shape in [(4, 2), (30, 20)]:
            ours = getattr(init, name)(dg.zeros(*shape, dtype=dtype), **kwargs)
            theirs = getattr(torch.nn.init, name)(
                torch.zeros(*shape, dtype=torch_dtype), **kwargs
            )
            assert same_bits(ours, theirs), (name, shape)
    assert_streams_in_step()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("fan_in", "fan_out"), [(2, 4), (4, 4), (4, 1), (784, 128)])
def test_linear_default_initialisation_is_torchs(seed, fan_in, fan_out):
    """nn.Linear(in, out) after the same seed: kaiming_uniform_(a=sqrt(5)) weight,
    then U(-1/sqrt(in), 1/sqrt(in)) bias, both torch's."""
    seeded(seed)
    ours, theirs = nn.Linear(fan_in, fan_out), torch.nn.Linear(fan_in, fan_out)
    assert same_bits(ours.weight, theirs.weight)
    assert same_bits(ours.bias, theirs.bias)
    assert_streams_in_step()


def test_linear_2_4_after_seed_42_has_pytorchs_weights():
    """The issue's example, as printed by PyTorch after torch.manual_seed(42)."""
    seeded(42)
    layer = nn.Linear(2, 4)
    torch_layer = torch.nn.Linear(2, 4)
    assert same_bits(layer.weight, torch_layer.weight)
    assert same_bits(layer.bias, torch_layer.bias)


def _torch_style(X, **options):
    return DataLoader(TensorDataset(X), **options)


def _fit_style(X, generator=None, **options):
    seed = None if generator is None else generator.initial_seed()
    return array_loader(X, seed=seed, **options)


LOADERS = {"utils.data.DataLoader": _torch_style, "fit's array_loader": _fit_style}


@pytest.mark.parametrize("make", LOADERS.values(), ids=list(LOADERS))
@pytest.mark.parametrize("seed", SEEDS[:4])
@pytest.mark.parametrize(("n", "batch_size"), [(10, 3), (17, 4), (1000, 32)])
def test_dataloader_shuffle_is_torchs(make, seed, n, batch_size):
    """Three epochs of DataLoader(shuffle=True), and of fit's loader, give torch's
    batches, and leave the default generator where torch's leaves it (base
    seed, sampler seed, randperm)."""
    X = np.arange(n, dtype=np.float32).reshape(n, 1)
    seeded(seed)
    loader = make(X, batch_size=batch_size, shuffle=True)
    torch_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(X)),
        batch_size=batch_size,
        shuffle=True,
    )
    for _ in range(3):
        ours = [batch.numpy().ravel().tolist() for (batch,) in loader]
        theirs = [batch.ravel().tolist() for (batch,) in torch_loader]
        assert ours == theirs
        assert_streams_in_step()


@pytest.mark.parametrize("make", LOADERS.values(), ids=list(LOADERS))
@pytest.mark.parametrize("seed", [0, 7, 2**35 + 1])
@pytest.mark.parametrize(
    ("batch_size", "drop_last"), [(5, False), (5, True), (1, False), (6, True)]
)
def test_dataloader_generator_is_torchs_generator_argument(
    make, seed, batch_size, drop_last
):
    """DataLoader(generator=dg.Generator().manual_seed(s)), and fit's loader with
    seed=s, shuffle as torch's DataLoader(generator=torch.Generator()
    .manual_seed(s)), their generator in step with torch's after every epoch
    (the sampler's discarded last randperm included), the default one untouched."""
    X = np.arange(23, dtype=np.float32).reshape(23, 1)
    seeded(1)
    loader = make(
        X,
        batch_size=batch_size,
        shuffle=True,
        drop_last=drop_last,
        generator=dg.Generator().manual_seed(seed),
    )
    torch_generator = torch.Generator().manual_seed(seed)
    torch_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(X)),
        batch_size=batch_size,
        shuffle=True,
        drop_last=drop_last,
        generator=torch_generator,
    )
    for _ in range(3):
        ours = [batch.numpy().ravel().tolist() for (batch,) in loader]
        theirs = [batch.ravel().tolist() for (batch,) in torch_loader]
        assert ours == theirs
        assert same_bits(
            np.array(loader.get_state()["generator"], np.uint8),
            torch_generator.get_state(),
        )
    assert_streams_in_step()


def test_an_unshuffled_dataloader_draws_torchs_base_seed_every_epoch():
    """torch's DataLoader draws a base seed on every iter(), shuffled or not:
    deepgrad's does too, so the default generator stays in step with torch's."""
    X = np.arange(7, dtype=np.float32).reshape(7, 1)
    seeded(3)
    loader = DataLoader(TensorDataset(X), batch_size=2)
    torch_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(X)), batch_size=2
    )
    for _ in range(2):
        assert [b.numpy().tolist() for (b,) in loader] == [
            b.tolist() for (b,) in torch_loader
        ]
        assert_streams_in_step()


def test_fits_loader_draws_nothing_for_a_full_batch_or_without_shuffling():
    """The one documented difference, in fit's loader only: with every sample in
    one batch it keeps the rows in order and draws nothing (torch would permute
    them), and without shuffling it draws no base seed, so full-batch training
    matches a hand-written loop to the last bit."""
    X = np.arange(9, dtype=np.float32).reshape(9, 1)
    dg.manual_seed(4)
    state = dg.get_rng_state().numpy().copy()
    for loader in (
        array_loader(X, batch_size="full", shuffle=True),
        array_loader(X, batch_size=9, shuffle=True, seed=2),
        array_loader(X, batch_size=4, shuffle=False),
    ):
        batches = [batch.numpy().ravel().tolist() for (batch,) in loader]
        assert sum(batches, []) == list(range(9))
    assert same_bits(dg.get_rng_state(), state)


# -- Generator ------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_generator_state_is_torchs_bytes_and_round_trips_both_ways(seed):
    """get_state() is torch's 5056 bytes (seed, mt19937 words, position, cached
    normal); a state from either library continues the other's stream exactly."""
    ours, theirs = dg.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
    assert same_bits(ours.get_state(), theirs.get_state())
    dg.randn(3, generator=ours)  # leaves a cached normal
    torch.randn(3, generator=theirs)
    assert same_bits(ours.get_state(), theirs.get_state())

    from_torch = dg.Generator().set_state(theirs.get_state())
    to_torch = torch.Generator()
    to_torch.set_state(torch.from_numpy(ours.get_state().array.copy()))
    assert same_bits(
        dg.randn(1000, generator=from_torch), torch.randn(1000, generator=to_torch)
    )
    assert same_bits(
        dg.randn(5, generator=from_torch), torch.randn(5, generator=to_torch)
    )


def test_get_and_set_state_replay_the_same_numbers():
    """set_state(get_state()) rewinds the stream, the cached normal included."""
    generator = dg.Generator().manual_seed(5)
    dg.randn(1, generator=generator)
    state = generator.get_state()
    first = [dg.randn(n, generator=generator).array.copy() for n in (1, 3, 40)]
    generator.set_state(state)
    again = [dg.randn(n, generator=generator).array for n in (1, 3, 40)]
    for a, b in zip(first, again, strict=True):
        assert same_bits(a, b)


def test_a_generator_argument_leaves_the_default_stream_alone():
    """Draws with generator= come from that generator only: the default stream
    gives the same numbers as if they had not happened, and vice versa."""
    dg.manual_seed(3)
    expected = dg.rand(10).array.copy()
    dg.manual_seed(3)
    generator = dg.Generator().manual_seed(3)
    from_generator = dg.rand(10, generator=generator).array.copy()
    dg.randn(20, generator=generator)
    dg.randperm(30, generator=generator)
    assert same_bits(dg.rand(10), expected)
    assert same_bits(from_generator, expected)


def test_generator_seed_api_is_torchs():
    """Generator() starts from torch's default seed; initial_seed() returns the
    seed as torch keeps it (modulo 2**64); seed() reseeds from the OS."""
    assert dg.Generator().initial_seed() == torch.Generator().initial_seed()
    for seed in SEEDS + [2**64 - 1, -(2**63)]:
        assert (
            dg.Generator().manual_seed(seed).initial_seed()
            == torch.Generator().manual_seed(seed).initial_seed()
        )
    generator = dg.Generator()
    fresh = generator.seed()
    assert generator.initial_seed() == fresh
    dg.manual_seed(11)
    assert dg.initial_seed() == 11


@pytest.mark.parametrize("seed", [2**64, -(2**63) - 1])
def test_out_of_range_seed_is_refused_naming_the_range(seed):
    """Seeds torch refuses (outside [-2**63, 2**64)) raise a ValueError."""
    with pytest.raises(ValueError, match=r"manual_seed expects a seed in \[-2\*\*63"):
        dg.manual_seed(seed)


@pytest.mark.parametrize("seed", [1.5, "3", None, True])
def test_non_integer_seed_is_refused(seed):
    """A float, string, None or bool seed raises a TypeError showing it."""
    with pytest.raises(TypeError, match="manual_seed expects an integer seed"):
        dg.manual_seed(seed)


@pytest.mark.parametrize(
    "state", [np.zeros(10, np.uint8), np.zeros(5056, np.float32), {"a": 1}, [1, 2]]
)
def test_set_state_refuses_what_is_not_a_state(state):
    """Wrong size, dtype or type: a ValueError naming the expected 5056 bytes."""
    with pytest.raises(ValueError, match="5056 uint8"):
        dg.Generator().set_state(state)


def test_set_state_refuses_an_invalid_mt19937_state():
    """A state whose position is out of range is refused, as torch refuses it."""
    state = dg.Generator().get_state().array.copy()
    state[8:12] = np.frombuffer(np.int32(0).tobytes(), np.uint8)  # left = 0
    with pytest.raises(ValueError, match="not a valid mt19937 state"):
        dg.Generator().set_state(state)


def test_generator_argument_must_be_a_generator():
    """A NumPy Generator (the old API) is refused with a message naming dg.Generator."""
    with pytest.raises(TypeError, match="dg.Generator"):
        dg.rand(3, generator=np.random.default_rng(0))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: dg.randint(5, 5, (3,)), "randint: expects low < high"),
        (lambda: dg.zeros(3).uniform_(1.0, 0.0), "uniform_: expects low <= high"),
        (lambda: dg.zeros(3).normal_(0.0, -1.0), "normal_: expects std >= 0"),
        (lambda: dg.zeros(3).bernoulli_(1.5), r"bernoulli_: expects 0 <= p <= 1"),
        (lambda: dg.randperm(-1), "randperm: n must be a non-negative integer"),
        (
            lambda: dg.multinomial(dg.tensor([0.5, 0.5]), 3),
            "cannot draw 3 samples from 2 categories",
        ),
        (
            lambda: dg.multinomial(dg.tensor([-1.0, 2.0]), 1),
            "multinomial: weights must be finite, non-negative",
        ),
    ],
)
def test_bad_arguments_raise_errors_naming_the_function(call, message):
    """Each random function names itself and what was wrong."""
    with pytest.raises(ValueError, match=message):
        call()


def test_rand_of_integer_dtype_is_refused():
    """rand(dtype=int64) raises a TypeError pointing to float32/float64."""
    with pytest.raises(TypeError, match="float32 or float64"):
        dg.rand(3, dtype=dg.int64)


def test_import_deepgrad_stays_light():
    """import deepgrad loads NumPy and the standard library only (the random
    module included), in a fresh interpreter."""
    import subprocess
    import sys

    code = (
        "import sys; import deepgrad; "
        "mods = {m.split('.')[0] for m in sys.modules}; "
        "print(sorted(m for m in mods if m in "
        "{'torch', 'scipy', 'sklearn', 'matplotlib', 'typer', 'rich', 'safetensors'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_one_multinomial_sample_with_replacement_takes_torchs_fast_path(seed):
    """torch draws a single sample (replacement or not) by the exponential keys
    of its no-replacement path, not by the cumulative search: makemore's
    sampling loop, one character at a time, gives torch's names."""
    probabilities = np.random.default_rng(seed % 2**32).random(27).astype(np.float32)
    probabilities[[0, 5, 6]] = 0.0
    seeded(seed)
    ours = [
        dg.multinomial(dg.tensor(probabilities), 1, replacement=True).item()
        for _ in range(30)
    ]
    theirs = [
        torch.multinomial(torch.from_numpy(probabilities), 1, replacement=True).item()
        for _ in range(30)
    ]
    assert ours == theirs
    assert_streams_in_step()
