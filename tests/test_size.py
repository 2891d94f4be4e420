"""dg.Size against torch.Size, the oracle.

``Tensor.shape`` and ``Tensor.size()`` return a dg.Size, which must behave as
torch.Size does for the same sizes (printing with deepgrad's name, ``dg.`` where
torch prints ``torch.``, as dtypes do): equality, hashing, indexing, slicing,
``+``, ``*``, ``numel()`` and the errors torch raises; and exactly as the plain
tuple it replaces wherever deepgrad and NumPy take a shape, including the
shapes deepgrad's own error messages print.
"""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import deepgrad as dg

SIZES = st.lists(st.integers(0, 5), max_size=5).map(tuple)


def test_shape_and_size_return_a_size() -> None:
    """x.shape and x.size() are dg.Size, equal to torch's; size(dim) is an int."""
    x, reference = dg.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    for ours, theirs in ((x.shape, reference.shape), (x.size(), reference.size())):
        assert type(ours) is dg.Size and isinstance(ours, tuple)
        assert ours == theirs == (2, 3, 4)
    assert type(x.size(1)) is int and x.size(-1) == reference.size(-1) == 4


@pytest.mark.parametrize("sizes", [(), (5,), (2, 3), (0, 4), (1, 1, 1, 1)])
def test_size_prints_as_torch_with_deepgrads_name(sizes) -> None:
    """repr, str and f-strings give torch's text with dg. for torch.; for a
    tensor's shape and for a Size built from the sizes."""
    expected = repr(torch.Size(sizes)).replace("torch.", "dg.")
    for size in (dg.Size(sizes), dg.zeros(sizes).shape):
        assert repr(size) == str(size) == f"{size}" == expected
    assert str(torch.zeros(sizes).shape).replace("torch.", "dg.") == expected


@settings(max_examples=40, deadline=None)
@given(sizes=SIZES, other=SIZES)
def test_size_operations_match_torch(sizes, other) -> None:
    """For drawn sizes: equality (with tuples, lists, Sizes), hashing, ordering,
    indexing, slicing, + and * give torch.Size's results, and a Size wherever
    torch gives a torch.Size but for slices (plain tuples, see deepgrad/size.py)."""
    ours, theirs = dg.Size(sizes), torch.Size(sizes)

    def same(mine, reference) -> None:
        assert isinstance(mine, dg.Size) == isinstance(reference, torch.Size)
        assert mine == reference

    assert (ours == sizes) is (theirs == sizes) is True
    assert (ours == list(sizes)) is (theirs == list(sizes)) is False
    assert (ours != sizes) is (theirs != sizes) is False
    assert ours == theirs and hash(ours) == hash(theirs) == hash(sizes)
    assert {sizes: "found"}[ours] == "found"
    assert (ours < other) is (theirs < other)
    assert ours.numel() == theirs.numel()
    for key in (slice(None), slice(1, None), slice(None, -1), slice(None, None, -1)):
        # the one difference: a slice is a plain tuple (indexing stays C-fast)
        assert type(ours[key]) is tuple and ours[key] == tuple(theirs[key])
    for index in range(-len(sizes), len(sizes)):
        assert type(ours[index]) is int and ours[index] == theirs[index]
    same(ours + other, theirs + other)
    same(other + ours, other + theirs)
    same(ours + dg.Size(other), theirs + torch.Size(other))
    same(ours * 2, theirs * 2)
    same(2 * ours, 2 * theirs)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    assert ours.count(1) == theirs.count(1)


def test_size_accepts_what_torch_accepts() -> None:
    """Built from lists, tuples, generators and NumPy ints (stored as Python
    ints); empty by default."""
    assert dg.Size([2, 3]) == dg.Size((2, 3)) == dg.Size(n for n in (2, 3))
    assert dg.Size() == torch.Size() == ()
    built = dg.Size([np.int64(2), np.int32(3)])
    assert built == torch.Size([np.int64(2), np.int32(3)])
    assert all(type(size) is int for size in built)


@pytest.mark.parametrize(
    "build",
    [
        lambda Size: Size([2.0]),
        lambda Size: Size(["a"]),
        lambda Size: Size([2, 3]) + (None,),
        lambda Size: (1.5,) + Size([2, 3]),
        lambda Size: Size([2, 3]) + [4],
        lambda Size: Size([2, 3]) * 1.5,
    ],
)
def test_size_rejects_what_torch_rejects(build) -> None:
    """Non-integer sizes (built, or added from a tuple), adding a list and
    multiplying by a float raise a TypeError in both."""
    with pytest.raises(TypeError):
        build(torch.Size)
    with pytest.raises(TypeError):
        build(dg.Size)


def test_size_non_integer_items_are_named() -> None:
    """The error names the first item that is not an int, as torch's does."""
    with pytest.raises(TypeError, match=r"item 0 is 'float'"):
        torch.Size([2.0])
    with pytest.raises(TypeError, match=r"^dg\.Size\(\) .*'int' \(item 0 is 'float'\)"):
        dg.Size([2.0])
    with pytest.raises(TypeError, match=r"item 2 is 'NoneType'"):
        dg.Size([2, 3]) + (None,)


def test_a_size_works_wherever_a_shape_does() -> None:
    """NumPy and deepgrad take a Size as the tuple it is: array creation,
    reshape, view, broadcasting, creation functions, unpacking, JSON."""
    x = dg.arange(6.0).reshape(2, 3)
    shape = x.shape
    assert np.empty(shape).shape == np.zeros(shape).shape == (2, 3)
    assert np.broadcast_shapes(shape, (3,)) == (2, 3)
    assert x.reshape(shape).shape == x.view(shape).shape == shape
    assert dg.zeros(shape).shape == dg.ones(*shape).shape == shape
    assert x.reshape(shape[::-1]).shape == (3, 2)
    assert x.array.reshape(shape[1:] + shape[:1]).shape == (3, 2)
    rows, columns = shape
    assert (rows, columns) == (2, 3)
    assert json.dumps({"shape": shape}) == '{"shape": [2, 3]}'


def test_a_size_survives_copies_and_pickling() -> None:
    """copy, deepcopy and pickle give back a dg.Size equal to the original."""
    shape = dg.zeros(2, 3).shape
    for copied in (
        copy.copy(shape),
        copy.deepcopy(shape),
        pickle.loads(pickle.dumps(shape)),
    ):
        assert type(copied) is dg.Size and copied == shape


def test_error_messages_print_shapes_as_tuples() -> None:
    """deepgrad's own messages keep printing shapes as tuples, (2, 3), as
    before Size: a Size formatted into a message would print dg.Size([2, 3])."""
    with pytest.raises(ValueError, match=r"shapes \(2, 3\) and \(2,\)") as caught:
        dg.ones(2, 3) + dg.ones(2)
    assert "Size" not in str(caught.value)
    with pytest.raises(ValueError, match=r"shape \(2, 3\)") as caught:
        dg.ones(2, 3).item()
    assert "Size" not in str(caught.value)
