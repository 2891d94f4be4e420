"""dg.einsum against torch.einsum, the oracle.

Every equation runs on the same float64 operands in deepgrad and in torch: the
outputs must have torch's shape and values (to 1e-12), and after backward with
one random upstream gradient every operand's gradient must equal torch's (to
1e-10). A table covers each feature of the equation language (explicit and
implicit output, ellipsis, diagonals, sums, scalars, spaces, uppercase,
size-1 broadcasting); hypothesis draws random equations; gradcheck checks the
backward against finite differences without trusting torch; every malformed
call raises an error naming einsum where torch raises too.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad import nn

VALUES_RTOL = 1e-12
GRAD_RTOL = 1e-10
ATOL = 1e-12


def operands(shapes: list[tuple[int, ...]], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-2, 2, shape) for shape in shapes]


def compare_with_torch(equation: str, arrays: list[np.ndarray], seed: int = 0) -> None:
    """Same float64 operands: torch's output shape and values, and torch's
    gradient for every operand after backward with one random upstream gradient."""
    ours = [dg.tensor(a, dtype=dg.float64, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = dg.einsum(equation, *ours)
    expected = torch.einsum(equation, *theirs)
    assert out.shape == tuple(expected.shape), equation
    assert out.dtype == dg.float64
    np.testing.assert_allclose(
        out.array, expected.detach().numpy(), rtol=VALUES_RTOL, atol=ATOL
    )
    upstream = np.random.default_rng(seed + 1).uniform(-2, 2, out.shape)
    (out * dg.tensor(upstream)).sum().backward()
    (expected * torch.from_numpy(upstream)).sum().backward()
    for position, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
        assert mine.grad is not None, f"{equation}: operand {position} got no gradient"
        np.testing.assert_allclose(
            mine.grad.array,
            reference.grad.numpy(),
            rtol=GRAD_RTOL,
            atol=ATOL,
            err_msg=f"{equation}: gradient of operand {position}",
        )


# (equation, operand shapes): each feature of torch's equation language
EQUATIONS = [
    # products
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),  # implicit: the letters seen once, sorted
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 2, 5)]),  # attention scores
    ("bhqk,bhkd->bhqd", [(2, 3, 4, 2), (2, 3, 2, 5)]),  # attention's weighted sum
    ("i,i->", [(4,), (4,)]),
    ("i,i", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,j", [(3,), (4,)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("bi,bj->bij", [(2, 3), (2, 4)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),  # bilinear form
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("i,j,k->ijk", [(2,), (3,), (4,)]),
    # one operand: diagonals, traces, permutations, sums
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),  # implicit: i appears twice, so it is summed: the trace
    ("ii->", [(3, 3)]),
    ("iij->ji", [(3, 3, 2)]),
    ("iji->j", [(2, 3, 2)]),
    ("iii->i", [(2, 2, 2)]),
    ("ij->ji", [(2, 3)]),
    ("ji", [(2, 3)]),  # implicit output "ij": a transpose
    ("ijkl->lkji", [(2, 3, 1, 4)]),
    ("ij->", [(2, 3)]),
    ("ijk->j", [(2, 3, 4)]),
    ("ij->j", [(2, 3)]),
    # ellipsis
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),  # batch shapes (2,1) and (5,)
    ("...ij,...jk", [(3, 2, 4), (4, 3)]),  # implicit: "..." first
    ("...ij->...ji", [(2, 3, 4)]),
    ("...ij->ij", [(5, 2, 3)]),  # "..." missing from the output: summed
    ("...ij->...", [(5, 2, 3)]),
    ("i...->...", [(3, 2, 4)]),
    ("ab...,...c", [(2, 3, 4), (5,)]),  # implicit: (4, 2, 3, 5)
    ("...i,...i->...", [(2, 1, 3), (4, 3)]),
    ("ij->...ij", [(2, 3)]),  # "..." of no dimensions
    ("i...,i...", [(3, 2), (3, 1)]),
    # scalars, spaces, uppercase
    ("->", [()]),
    ("", [()]),
    (",->", [(), ()]),
    ("i,->i", [(3,), ()]),
    (" i j , j k -> i k ", [(2, 3), (3, 4)]),
    ("Ab,bA", [(2, 3), (3, 2)]),
    ("bA,c", [(2, 3), (3,)]),  # implicit: A before b before c
    ("aA->Aa", [(2, 3)]),
    # size-1 dimensions broadcast against the other operands
    ("i,i->i", [(1,), (3,)]),
    ("i,i->", [(3,), (1,)]),
    ("ij,jk", [(2, 1), (3, 4)]),
    ("ii,i->i", [(1, 1), (3,)]),
    ("bij,bjk->bik", [(1, 2, 3), (4, 3, 2)]),
    # empty dimensions
    ("ij,jk->ik", [(0, 3), (3, 2)]),
    ("ij,jk->ik", [(2, 0), (0, 3)]),
]


@pytest.mark.parametrize(("equation", "shapes"), EQUATIONS)
def test_einsum_matches_torch_values_and_gradients(equation, shapes) -> None:
    """The equation's output (shape and values, 1e-12) and every operand's
    gradient (1e-10) are torch's."""
    compare_with_torch(equation, operands(shapes))


def test_the_table_covers_at_least_25_equations() -> None:
    """The table above is as wide as the task asks (each entry checked by the
    parametrized test)."""
    assert len({equation for equation, _ in EQUATIONS}) >= 25


def test_one_tensor_twice_gets_both_gradients() -> None:
    """x used as two operands ("i,i->", x.x) receives the gradient of each use,
    summed, as torch's 2x."""
    x = dg.tensor(operands([(4,)])[0], requires_grad=True)
    reference = torch.tensor(x.array, requires_grad=True)
    dg.einsum("i,i->", x, x).backward()
    torch.einsum("i,i->", reference, reference).backward()
    np.testing.assert_allclose(x.grad.array, reference.grad.numpy(), rtol=GRAD_RTOL)


def test_operands_as_one_list_or_tuple_and_in_sublist_form() -> None:
    """torch's other calling forms: a single list or tuple of operands, and the
    sublist form (integers 0-51 and Ellipsis), with torch's values."""
    a, b = operands([(2, 3), (3, 4)])
    ta, tb = torch.tensor(a), torch.tensor(b)
    expected = torch.einsum("ij,jk->ik", ta, tb).numpy()
    for ours in (
        dg.einsum("ij,jk->ik", [dg.tensor(a), dg.tensor(b)]),
        dg.einsum("ij,jk->ik", (dg.tensor(a), dg.tensor(b))),
        dg.einsum(dg.tensor(a), [0, 1], dg.tensor(b), [1, 30], [0, 30]),
    ):
        np.testing.assert_allclose(ours.array, expected, rtol=VALUES_RTOL)
    batched = operands([(5, 2, 3)])[0]
    ours = dg.einsum(dg.tensor(batched), [..., 0, 1], [..., 1, 0])
    theirs = torch.einsum(torch.tensor(batched), [..., 0, 1], [..., 1, 0])
    np.testing.assert_allclose(ours.array, theirs.numpy(), rtol=VALUES_RTOL)
    implicit = dg.einsum(dg.tensor(a), [27, 0], dg.tensor(b), [0, 26])
    theirs = torch.einsum(ta, [27, 0], tb, [0, 26])
    assert implicit.shape == tuple(theirs.shape)
    np.testing.assert_allclose(implicit.array, theirs.numpy(), rtol=VALUES_RTOL)


def test_dtypes_are_kept_as_torch_does() -> None:
    """float32 operands give a float32 result, int64 an int64 one, with torch's
    values."""
    a, b = operands([(2, 3), (3, 4)])
    ours = dg.einsum(
        "ij,jk->ik", dg.tensor(a, dtype=dg.float32), dg.tensor(b, dtype=dg.float32)
    )
    theirs = torch.einsum(
        "ij,jk->ik", torch.tensor(a, dtype=torch.float32), torch.tensor(b).float()
    )
    assert ours.dtype == dg.float32
    np.testing.assert_allclose(ours.array, theirs.numpy(), rtol=1e-6)
    ints = np.arange(6).reshape(2, 3)
    ours = dg.einsum("ij,kj->ik", dg.tensor(ints), dg.tensor(ints))
    theirs = torch.einsum("ij,kj->ik", torch.tensor(ints), torch.tensor(ints))
    assert ours.dtype == dg.int64
    np.testing.assert_array_equal(ours.array, theirs.numpy())


def test_result_owns_its_array() -> None:
    """A permutation ("ij->ji") is NumPy's view of the operand; deepgrad copies it,
    so writing into the result cannot change the operand behind the version
    counter's back (torch returns a tracked view instead)."""
    x = dg.tensor(operands([(2, 3)])[0])
    before = x.array.copy()
    out = dg.einsum("ij->ji", x)
    out.add_(1.0)
    np.testing.assert_array_equal(x.array, before)


def test_no_graph_without_grad_and_inside_no_grad() -> None:
    """An einsum records a node only when an operand requires grad and grad mode
    is on, as torch."""
    a, b = operands([(2, 3), (3, 4)])
    assert not dg.einsum("ij,jk", dg.tensor(a), dg.tensor(b)).requires_grad
    leaf = dg.tensor(a, requires_grad=True)
    assert dg.einsum("ij,jk", leaf, dg.tensor(b)).requires_grad
    with dg.no_grad():
        assert not dg.einsum("ij,jk", leaf, dg.tensor(b)).requires_grad


def test_changing_an_operand_in_place_before_backward_raises() -> None:
    """The backward reads the other operands: changing one in place between the
    forward pass and backward() raises, as in torch."""
    a, b = operands([(2, 3), (3, 4)])
    weight = dg.tensor(a, requires_grad=True)
    data = dg.tensor(b)
    out = dg.einsum("ij,jk->ik", weight, data)
    data.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
    reference_weight = torch.tensor(a, requires_grad=True)
    reference_data = torch.tensor(b)
    expected = torch.einsum("ij,jk->ik", reference_weight, reference_data)
    reference_data.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        expected.sum().backward()


# ---------------------------------------------------------------------------
# random equations
# ---------------------------------------------------------------------------
ALPHABET = "abcdE"


@st.composite
def random_equations(draw) -> tuple[str, list[tuple[int, ...]]]:
    """1-3 operands of 0-3 letters each (repeats allowed: diagonals), sizes 1-4
    per letter, some operands' dimensions size 1 (broadcast), sometimes a
    leading "..." of broadcast batch shapes; explicit output (a permutation of a
    subset of the letters, "..." or not) or implicit."""
    count = draw(st.integers(1, 3))
    sizes = {letter: draw(st.integers(1, 4)) for letter in ALPHABET}
    with_ellipsis = draw(st.booleans())
    batch = draw(st.lists(st.integers(1, 3), min_size=0, max_size=2))
    terms, shapes = [], []
    for _ in range(count):
        letters = draw(st.lists(st.sampled_from(ALPHABET), min_size=0, max_size=3))
        ones = draw(st.sets(st.sampled_from(ALPHABET)))  # size 1 in this operand
        shape = [1 if letter in ones else sizes[letter] for letter in letters]
        term = "".join(letters)
        if with_ellipsis:
            own = batch[len(batch) - draw(st.integers(0, len(batch))) :]
            own = [draw(st.sampled_from([n, 1])) for n in own]
            term, shape = "..." + term, own + shape
        terms.append(term)
        shapes.append(tuple(shape))
    equation = ",".join(terms)
    if draw(st.booleans()):
        seen = sorted({letter for term in terms for letter in term if letter != "."})
        output = draw(st.permutations(seen))[: draw(st.integers(0, len(seen)))]
        prefix = "..." if with_ellipsis and draw(st.booleans()) else ""
        equation += "->" + prefix + "".join(output)
    return equation, shapes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=random_equations(), seed=st.integers(0, 2**16))
def test_random_equations_match_torch(case, seed) -> None:
    """Random equations: torch's output and every operand's gradient."""
    equation, shapes = case
    compare_with_torch(equation, operands(shapes, seed), seed)


# ---------------------------------------------------------------------------
# gradcheck: the backward against finite differences, torch aside
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("equation", "shapes"),
    [
        ("bhqd,bhkd->bhqk", [(1, 2, 3, 2), (1, 2, 2, 2)]),
        ("bn,anm,bm->ba", [(2, 3), (2, 3, 2), (2, 2)]),
        ("iij->ji", [(2, 2, 3)]),
        ("ii", [(3, 3)]),
        ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 2)]),
        ("ij,i->j", [(1, 3), (2,)]),
        ("ijk->j", [(2, 3, 2)]),
    ],
)
def test_gradcheck(equation, shapes) -> None:
    """backward() agrees with central differences of the forward pass."""
    tensors = [dg.tensor(a, requires_grad=True) for a in operands(shapes)]
    weights = dg.tensor(np.random.default_rng(5).uniform(-1, 1, 64))

    def weighted(*inputs):
        out = dg.einsum(equation, *inputs)
        return (out.reshape(-1) * weights[: out.numel()]).sum()

    assert dg.gradcheck(weighted, tensors)


# ---------------------------------------------------------------------------
# errors: torch raises for each, deepgrad names einsum and what is wrong
# ---------------------------------------------------------------------------
ERRORS = [
    ("i,i->", [(3,)], "fewer operands were provided"),
    ("i->", [(3,), (3,)], "more operands were provided"),
    ("ij->", [(3,)], r"number of subscripts in the equation \(2\) does not match"),
    ("i", [(2, 3)], r"number of subscripts in the equation \(1\) does not match"),
    ("...ijk->", [(2, 3)], r"\(3\) is more than the number of dimensions \(2\)"),
    ("i,->i", [(3,), (2,)], r"subscripts in the equation \(0\) does not match"),
    ("i,i->", [(3,), (4,)], "subscript i has size 4 for operand 1"),
    ("ij,jk", [(2, 3), (2, 4)], "subscript j has size 2 for operand 1"),
    ("...i,...j", [(2, 3), (4, 5)], "covered by ellipsis has size 4"),
    ("ii", [(2, 3)], "subscript i is repeated for operand 0"),
    ("ii->", [(3, 1)], "subscript i is repeated for operand 0"),
    ("i->j", [(3,)], "output subscript j does not appear"),
    ("i->I", [(3,)], "output subscript I does not appear"),
    ("i->ii", [(3,)], "output subscript i appears more than once"),
    ("i1->i", [(3, 3)], "invalid subscript given at index 1"),
    ("\u00e9->", [(3,)], "invalid subscript given at index 0"),
    ("i\t->i", [(3,)], "invalid subscript given at index 1"),
    ("i->i->i", [(3,)], "invalid subscript given at index 4"),
    ("i- >i", [(3,)], "invalid subscript given at index 1"),
    ("i.->i", [(3, 3)], "not part of any ellipsis"),
    (". ..i->i", [(2, 3)], "not part of any ellipsis"),
    ("...i...->", [(3, 3)], "an ellipsis was already found"),
]


@pytest.mark.parametrize(("equation", "shapes", "message"), ERRORS)
def test_malformed_equations_raise_as_torch(equation, shapes, message) -> None:
    """torch rejects the call; deepgrad raises a ValueError that names einsum and
    says what is wrong."""
    arrays = operands(shapes)
    with pytest.raises(RuntimeError):
        torch.einsum(equation, *(torch.tensor(a) for a in arrays))
    with pytest.raises(ValueError, match=r"^einsum\(\): .*" + message):
        dg.einsum(equation, *(dg.tensor(a) for a in arrays))


def test_mixed_dtypes_raise_as_matmul() -> None:
    """float32 with float64 (or int64 with float64) is rejected, as torch and
    deepgrad's matmul reject it: a TypeError naming einsum, the dtypes and the
    conversion to make."""
    a, b = operands([(3,), (3,)])
    for first, torch_first in (
        (dg.tensor(a, dtype=dg.float32), torch.tensor(a, dtype=torch.float32)),
        (dg.tensor([1, 2, 3]), torch.tensor([1, 2, 3])),
    ):
        with pytest.raises(RuntimeError):
            torch.einsum("i,i->", torch_first, torch.tensor(b))
        with pytest.raises(TypeError, match=r"einsum\(\): .*same dtype.*\.double\(\)"):
            dg.einsum("i,i->", first, dg.tensor(b))
    with pytest.raises(TypeError, match="same dtype"):
        dg.matmul(dg.tensor(a, dtype=dg.float32), dg.tensor(b))


def test_bad_operands_raise_as_torch() -> None:
    """No operand at all is a ValueError, a non-tensor operand a TypeError, in
    torch and in deepgrad; both name einsum."""
    with pytest.raises(ValueError):
        torch.einsum("ij,jk->ik")
    with pytest.raises(ValueError, match=r"einsum\(\): .*at least one operand"):
        dg.einsum("ij,jk->ik")
    with pytest.raises(TypeError):
        torch.einsum("i->i", [1.0, 2.0])
    with pytest.raises(TypeError, match=r"einsum\(\): operand 0 must be a Tensor"):
        dg.einsum("i->i", [1.0, 2.0])
    with pytest.raises(TypeError):
        torch.einsum("i,i->", torch.ones(2), np.ones(2))
    with pytest.raises(TypeError, match=r"einsum\(\): operand 1 must be a Tensor"):
        dg.einsum("i,i->", dg.ones(2), np.ones(2))


def test_bad_sublists_raise_as_torch() -> None:
    """A subscript outside [0, 52) in the sublist form is an error in both."""
    x = np.ones((2, 2))
    with pytest.raises(ValueError):
        torch.einsum(torch.tensor(x), [0, 52])
    with pytest.raises(ValueError, match=r"einsum\(\): subscript 52 .*\[0, 52\)"):
        dg.einsum(dg.tensor(x), [0, 52])


# ---------------------------------------------------------------------------
# inside a model
# ---------------------------------------------------------------------------
class Bilinear(nn.Module):
    """y_a = x1^T W_a x2 + b_a, written with einsum."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        super().__init__()
        self.weight = nn.Parameter(dg.tensor(weight))
        self.bias = nn.Parameter(dg.tensor(bias))

    def forward(self, x1, x2):
        return dg.einsum("bn,anm,bm->ba", x1, self.weight, x2) + self.bias


class TorchBilinear(torch.nn.Module):
    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(weight))
        self.bias = torch.nn.Parameter(torch.tensor(bias))

    def forward(self, x1, x2):
        return torch.einsum("bn,anm,bm->ba", x1, self.weight, x2) + self.bias


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_a_module_using_einsum_trains_as_in_torch(optimizer) -> None:
    """Five optimizer steps of a bilinear layer written with einsum (MSE loss)
    leave torch's parameters, to 1e-10."""
    weight, bias, x1, x2, target = operands([(2, 3, 4), (2,), (5, 3), (5, 4), (5, 2)])
    ours, theirs = Bilinear(weight, bias), TorchBilinear(weight, bias)
    options = {"lr": 0.05, "momentum": 0.9} if optimizer == "SGD" else {"lr": 0.05}
    ours_optimizer = getattr(dg.optim, optimizer)(ours.parameters(), **options)
    theirs_optimizer = getattr(torch.optim, optimizer)(theirs.parameters(), **options)
    for _ in range(5):
        ours_optimizer.zero_grad()
        F.mse_loss(ours(dg.tensor(x1), dg.tensor(x2)), dg.tensor(target)).backward()
        ours_optimizer.step()
        theirs_optimizer.zero_grad()
        torch.nn.functional.mse_loss(
            theirs(torch.tensor(x1), torch.tensor(x2)), torch.tensor(target)
        ).backward()
        theirs_optimizer.step()
    for name, parameter in theirs.named_parameters():
        np.testing.assert_allclose(
            getattr(ours, name).array,
            parameter.detach().numpy(),
            rtol=GRAD_RTOL,
            atol=ATOL,
            err_msg=name,
        )
    assert not np.allclose(ours.weight.array, weight)  # the steps did move it
