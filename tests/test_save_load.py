"""dg.save / dg.load of what people save with torch.save (issue 14, item 10).

state_dicts, optimizer state_dicts, checkpoint dicts holding several of them,
nested containers of tensors, arrays and numbers: each round trip must give the
same structure, types and values back, from a path or a file object; torch's
own round trip of the same checkpoint is the oracle for what comes back. The
files are safetensors with JSON metadata, never pickle.
"""

from __future__ import annotations

import io
import json
import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from safetensors import safe_open

import deepgrad as dg
from deepgrad import nn
from deepgrad.io import ModelFileError


def _net() -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def _trained(optimizer_class=dg.optim.Adam, **options):
    dg.manual_seed(0)
    model = _net()
    optimizer = optimizer_class(model.parameters(), lr=0.01, **options)
    for _ in range(2):
        optimizer.zero_grad()
        (model(dg.randn(6, 3)) ** 2).mean().backward()
        optimizer.step()
    return model, optimizer


def _assert_same(loaded, original, where="obj"):
    """Same container types, keys, order, and values (arrays: dtype and bytes)."""
    assert type(loaded) is type(original) or (
        isinstance(original, dg.Tensor) and type(loaded) is dg.Tensor
    ), where
    if isinstance(original, dict):
        assert list(loaded) == list(original), where
        for key in original:
            _assert_same(loaded[key], original[key], f"{where}[{key!r}]")
    elif isinstance(original, list | tuple):
        assert len(loaded) == len(original), where
        for i, (a, b) in enumerate(zip(loaded, original, strict=True)):
            _assert_same(a, b, f"{where}[{i}]")
    elif isinstance(original, dg.Tensor | np.ndarray):
        a = loaded.array if isinstance(loaded, dg.Tensor) else loaded
        b = original.array if isinstance(original, dg.Tensor) else original
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(original, float) and math.isnan(original):
        assert math.isnan(loaded), where
    else:
        assert loaded == original, where


def test_state_dict_round_trip_loads_into_a_fresh_model(tmp_path):
    """model.load_state_dict(dg.load(path)) after dg.save(model.state_dict(),
    path): an OrderedDict as torch gives, the same outputs after loading."""
    model, _ = _trained()
    path = tmp_path / "weights.pt"
    assert dg.save(model.state_dict(), path) == path
    loaded = dg.load(path)
    _assert_same(loaded, model.state_dict())
    torch_path = tmp_path / "torch.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), torch_path)
    assert type(loaded) is type(torch.load(torch_path, weights_only=True))
    fresh = _net()
    assert not fresh.load_state_dict(loaded).missing_keys
    model.eval(), fresh.eval()
    inputs = dg.randn(5, 3)
    np.testing.assert_array_equal(
        model(inputs).detach().numpy(), fresh(inputs).detach().numpy()
    )


@pytest.mark.parametrize(
    ("optimizer_class", "options"),
    [
        (dg.optim.Adam, {"betas": (0.8, 0.99), "amsgrad": True}),
        (dg.optim.SGD, {"momentum": 0.9, "nesterov": True}),
        (dg.optim.RMSprop, {"centered": True, "momentum": 0.5}),
        (dg.optim.Adagrad, {}),
    ],
)
def test_optimizer_state_dict_round_trip_resumes_identically(
    tmp_path, optimizer_class, options
):
    """An optimizer's state_dict (int keys, tuples, arrays, numbers) comes back
    equal, and loading it into a fresh optimizer makes the next step equal."""
    model, optimizer = _trained(optimizer_class, **options)
    path = tmp_path / "optimizer.pt"
    dg.save(optimizer.state_dict(), path)
    loaded = dg.load(path)
    _assert_same(loaded, optimizer.state_dict())
    twin = _net()
    twin.load_state_dict(model.state_dict())
    twin_optimizer = optimizer_class(twin.parameters(), lr=0.5)
    twin_optimizer.load_state_dict(loaded)
    for net, opt in ((model, optimizer), (twin, twin_optimizer)):
        dg.manual_seed(3)
        opt.zero_grad()
        (net(dg.randn(6, 3)) ** 2).mean().backward()
        opt.step()
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_checkpoint_dict_round_trip_as_torch(tmp_path):
    """{"model": ..., "optimizer": ..., "epoch": 5, ...}: the same keys, types
    and values back, as torch.save/torch.load give for the torch twin."""
    model, optimizer = _trained()
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": 5,
        "loss": 0.125,
        "best": float("inf"),
        "history": [0.5, 0.25, float("nan")],
        "name": "run-1",
        "done": False,
        "notes": None,
        "shape": (3, 4),
        "mask": dg.tensor([True, False]),
        "counts": np.arange(4, dtype=np.int32),
        "step": np.float64(2.0),
    }
    path = tmp_path / "checkpoint.pt"
    dg.save(checkpoint, path)
    loaded = dg.load(path, weights_only=True, map_location="cpu")
    _assert_same(loaded, checkpoint)
    torch_checkpoint = {
        "epoch": 5,
        "loss": 0.125,
        "name": "run-1",
        "done": False,
        "notes": None,
        "shape": (3, 4),
        "model": torch.nn.Linear(2, 2).state_dict(),
    }
    torch.save(torch_checkpoint, tmp_path / "torch.pt")
    torch_loaded = torch.load(tmp_path / "torch.pt", weights_only=True)
    for key in torch_checkpoint:
        assert type(loaded[key]) is type(torch_loaded[key]), key


def test_keywords_and_file_objects_as_torch(tmp_path):
    """dg.save(obj=..., f=BytesIO) and dg.load(f=..., weights_only=True) work
    like torch's; an open binary file too."""
    model, _ = _trained()
    buffer = io.BytesIO()
    assert dg.save(obj={"model": model.state_dict()}, f=buffer) is None
    buffer.seek(0)
    _assert_same(dg.load(f=buffer, weights_only=True), {"model": model.state_dict()})
    with open(tmp_path / "file.pt", "wb") as handle:
        dg.save([dg.ones(2), 3], handle)
    with open(tmp_path / "file.pt", "rb") as handle:
        _assert_same(dg.load(handle), [dg.ones(2), 3])


def test_a_module_still_saves_architecture_and_weights(tmp_path):
    """dg.save(model, f) keeps today's model file: dg.load rebuilds the model,
    from a path or a file object."""
    model, _ = _trained()
    model.eval()
    loaded = dg.load(dg.save(model, tmp_path / "model.dg"))
    assert isinstance(loaded, nn.Sequential)
    buffer = io.BytesIO()
    dg.save(model, buffer)
    buffer.seek(0)
    from_buffer = dg.load(buffer)
    inputs = dg.randn(4, 3)
    for other in (loaded, from_buffer):
        np.testing.assert_array_equal(
            model(inputs).detach().numpy(), other(inputs).detach().numpy()
        )


def test_the_file_is_safetensors_with_json_structure_and_no_pickle(tmp_path):
    """Tensors under generated keys, the structure as JSON metadata; no pickle
    opcode in the file."""
    path = tmp_path / "state.pt"
    dg.save({"w": dg.ones(2, 3), "epoch": 1}, path)
    with safe_open(str(path), framework="numpy") as handle:
        metadata = handle.metadata()
        assert list(handle.keys()) == ["0"]
        np.testing.assert_array_equal(handle.get_tensor("0"), np.ones((2, 3)))
    assert metadata["format"] == "deepgrad-object"
    structure = json.loads(metadata["structure"])
    assert structure["dict"][1] == ["epoch", 1]
    assert b"\x80\x04" not in path.read_bytes()[:2]  # no pickle protocol header


def test_a_tensor_met_twice_is_saved_once_and_loaded_as_one():
    """Tied weights stay tied: the same Tensor object in two places loads as one."""
    shared = dg.arange(3.0)
    buffer = io.BytesIO()
    dg.save({"encoder": shared, "decoder": shared}, buffer)
    buffer.seek(0)
    loaded = dg.load(buffer)
    assert loaded["encoder"] is loaded["decoder"]


def test_parameters_and_requires_grad_come_back():
    """A Parameter loads as a Parameter; requires_grad is kept, as torch."""
    weight = nn.Parameter(np.ones(2, np.float32))
    buffer = io.BytesIO()
    dg.save([weight, dg.zeros(1, requires_grad=True), dg.zeros(1)], buffer)
    buffer.seek(0)
    loaded = dg.load(buffer)
    assert isinstance(loaded[0], nn.Parameter) and loaded[0].requires_grad
    assert [t.requires_grad for t in loaded[1:]] == [True, False]


LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=5),
    hnp.arrays(
        st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_]),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
    ).map(dg.from_numpy),
)
STRUCTURES = st.recursive(
    LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=4) | st.integers(0, 9), children, max_size=3),
    ),
    max_leaves=10,
)


@given(structure=STRUCTURES)
@settings(max_examples=40, deadline=None)
def test_any_nested_structure_round_trips(structure):
    """Dicts (str and int keys), lists, tuples of tensors of any dtype and shape,
    numbers, strings, bools, None: the same structure back."""
    buffer = io.BytesIO()
    dg.save(structure, buffer)
    buffer.seek(0)
    _assert_same(dg.load(buffer), structure)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (
            {"model": {"fc.weight": {1, 2}}},
            r"obj\['model'\]\['fc.weight'\]: cannot save a <class 'set'>",
        ),
        ([1, object()], r"obj\[1\]: cannot save a <class 'object'>"),
        ({"m": nn.Linear(1, 1)}, r"obj\['m'\]: .*save its state_dict\(\) instead"),
        ({(1, 2): 3}, r"obj: cannot save a dict key of <class 'tuple'>"),
        (
            {"z": np.zeros(2, np.complex64)},
            r"obj\['z'\]: cannot save an array of dtype complex64",
        ),
    ],
)
def test_unsupported_objects_are_named_with_their_place(tmp_path, obj, message):
    """A TypeError names the path within the structure and the type; nothing
    is written."""
    path = tmp_path / "bad.pt"
    with pytest.raises(TypeError, match=message):
        dg.save(obj, path)
    assert not path.exists()


def test_optimizer_keyword_goes_only_with_a_model(tmp_path):
    """dg.save(state_dict, f, optimizer=...) explains to put it in the dict."""
    model, optimizer = _trained()
    with pytest.raises(TypeError, match="put them in the dict"):
        dg.save(model.state_dict(), tmp_path / "x.pt", optimizer=optimizer)


def test_map_location_onto_a_gpu_is_the_device_error(tmp_path):
    """map_location='cuda' raises deepgrad's one device error."""
    path = dg.save({"a": 1}, tmp_path / "a.pt")
    assert dg.load(path, map_location=dg.device("cpu")) == {"a": 1}
    assert dg.load(path, map_location={"cuda:0": "cpu"}) == {"a": 1}
    with pytest.raises(RuntimeError, match="deepgrad runs on the CPU only"):
        dg.load(path, map_location="cuda")


def test_a_modified_object_file_fails_the_checksum(tmp_path):
    """A flipped byte in the tensors' data: ModelFileError naming the damage."""
    path = dg.save({"w": dg.ones(4)}, tmp_path / "w.pt")
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="sha256 checksum does not match"):
        dg.load(path)


def test_an_edited_structure_fails_the_checksum(tmp_path):
    """Editing the JSON structure (resigned or not) is refused: unsigned, damaged;
    resigned with an unknown kind, the structure is named as damaged."""
    from safetensors.numpy import load_file, save_file

    from deepgrad import modelfile

    path = dg.save({"w": dg.ones(2)}, tmp_path / "w.pt")
    with safe_open(str(path), framework="numpy") as handle:
        metadata = handle.metadata()
    tensors = load_file(str(path))
    metadata["structure"] = json.dumps({"pickle": "os.system"})
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ModelFileError, match="checksum"):
        dg.load(path)
    metadata["sha256"] = modelfile._digest(metadata, tensors)
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ModelFileError, match="damaged.*its structure holds"):
        dg.load(path)


def test_load_checkpoint_of_an_object_file_points_to_dg_load(tmp_path):
    """io.load_checkpoint reads model files only; an object file says so."""
    from deepgrad.io import load_checkpoint

    path = dg.save({"w": dg.ones(2)}, tmp_path / "w.pt")
    with pytest.raises(ModelFileError, match="read it with dg.load"):
        load_checkpoint(path)


def test_missing_file_is_named(tmp_path):
    """dg.load of a path that does not exist names it."""
    with pytest.raises(ModelFileError, match="absent.pt: no such"):
        dg.load(Path(tmp_path / "absent.pt"))


def test_loaded_state_dict_is_an_ordered_dict_and_loaded_values_are_writable():
    """OrderedDict stays OrderedDict; loaded tensors own writable arrays."""
    buffer = io.BytesIO()
    dg.save(OrderedDict(a=dg.ones(2)), buffer)
    buffer.seek(0)
    loaded = dg.load(buffer)
    assert type(loaded) is OrderedDict
    loaded["a"].add_(1)
    assert loaded["a"].tolist() == [2.0, 2.0]
