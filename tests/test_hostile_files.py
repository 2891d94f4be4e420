"""Hostile and damaged files are refused quickly, in bounded memory, with one error.

Model files raise ModelFileError and data files ValueError, each naming the file,
never a MemoryError, a KeyError or a traceback of the parser underneath. The
memory bounds are shown by loading in a fresh Python whose address space is
capped (RLIMIT_AS), where today's loaders die of MemoryError.
"""

from __future__ import annotations

import gzip
import io as stdio
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

import deepgrad as dg
from deepgrad import io, modelfile, nn
from deepgrad.data import files as data_files
from deepgrad.data import load_csv, load_idx, load_npz
from deepgrad.data.files import read_idx, write_idx
from deepgrad.io import ModelFileError

# The address space a capped loader gets: ample for deepgrad and the small files
# it should load, far below what today's loaders allocate for the hostile ones.
MEMORY_CAP = 2**30


def _run_capped(code: str) -> str:
    """Run ``code`` in a fresh Python capped at MEMORY_CAP bytes; its stdout.

    One BLAS thread, since each thread reserves address space of its own.
    """
    pytest.importorskip("resource")  # Unix only
    preamble = (
        "import resource\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_CAP}, {MEMORY_CAP}))\n"
    )
    threads = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    result = subprocess.run(
        [sys.executable, "-c", preamble + code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **threads},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _outcomes(load: str, paths: list[Path]) -> str:
    """Code that prints, for each path, what ``load(path)`` did: ``ok`` or the
    error's class and message on one line."""
    return (
        f"{load}\n"
        f"for path in {[str(path) for path in paths]!r}:\n"
        "    try:\n"
        "        load(path)\n"
        "        print('ok')\n"
        "    except Exception as error:\n"
        "        print(type(error).__name__, ' '.join(str(error).split()))\n"
    )


def _sparse_file(path: Path, head: bytes, size: int) -> Path:
    """``head``, then zeros up to ``size`` bytes that take no disk (a hole)."""
    with open(path, "wb") as file:
        file.write(head)
        file.truncate(size)
    if path.stat().st_blocks * 512 > 2**30:  # a file system without holes
        path.unlink()
        pytest.skip("this file system cannot hold sparse files")
    return path


# ----------------------------------------------------------------------- model files


def _checkpoint(folder: Path) -> Path:
    """A checkpoint with every part a model file holds: Linear, BatchNorm1d,
    optimizer buffers and training state."""
    dg.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2)
    )
    optimizer = dg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    inputs = dg.tensor(np.ones((4, 3), np.float32))
    optimizer.zero_grad()
    model(inputs).sum().backward()
    optimizer.step()
    return dg.save(
        model, folder / "model.dg", optimizer=optimizer, training_state={"epoch": 1}
    )


def _metadata(path: Path) -> dict[str, str]:
    with safe_open(str(path), framework="numpy") as handle:
        return handle.metadata()


def _resign(
    path: Path,
    tensors: Callable[[dict], dict] | None = None,
    **changes: str | None,
) -> None:
    """Change metadata entries (None removes one) and tensors, then sign the file
    with a valid sha256, as a crafted file would be."""
    metadata = {**_metadata(path), **changes}
    metadata = {key: value for key, value in metadata.items() if value is not None}
    arrays = load_file(str(path))
    if tensors is not None:
        arrays = tensors(arrays)
    metadata["sha256"] = modelfile._digest(metadata, arrays)
    save_file(arrays, str(path), metadata=metadata)


def _edit_architecture(path: Path, edit: Callable[[dict], object]) -> None:
    architecture = json.loads(_metadata(path)["architecture"])
    edited = edit(architecture)
    _resign(path, architecture=json.dumps(architecture if edited is None else edited))


def _layer_config(index: int, **changes: object) -> Callable[[dict], None]:
    return lambda architecture: architecture["config"]["layers"][index][
        "config"
    ].update(changes)


def _edit_json(key: str, edit: Callable[[dict], object]) -> Callable[[Path], None]:
    def rewrite(path: Path) -> None:
        value = json.loads(_metadata(path)[key])
        edited = edit(value)
        _resign(path, **{key: json.dumps(value if edited is None else edited)})

    return rewrite


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _sequential_nested(depth: int) -> dict:
    node: dict = {"class": "ReLU", "config": {}}
    for _ in range(depth):
        node = {"class": "Sequential", "config": {"layers": [{"name": "0", **node}]}}
    return node


def _write_raw(header: bytes | dict, data: bytes = b"") -> Callable[[Path], None]:
    """A file of the 8-byte length, ``header`` (JSON-encoded if a dict) and data,
    unsigned: the parts a safetensors reader checks before any checksum."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()

    def write(path: Path) -> None:
        path.write_bytes(len(raw).to_bytes(8, "little") + raw + data)

    return write


def _f32(shape: list[int], start: int, stop: int) -> dict:
    return {"dtype": "F32", "shape": shape, "data_offsets": [start, stop]}


# (what the file is, how to make it from a valid checkpoint, what the error says)
CRAFTED_MODEL_FILES = [
    # --- the header, before any checksum can be computed
    (
        "header-of-a-terabyte",
        lambda path: path.write_bytes((2**40).to_bytes(8, "little") + b"{}"),
        "not a deepgrad model file.*header would be 1099511627776 bytes",
    ),
    ("header-not-json", _write_raw(b'{"a": '), "damaged.*not valid JSON"),
    (
        "header-nested-100000-deep",
        _write_raw(b'{"a": ' + _nested(100_000).encode() + b"}"),
        "damaged.*nests more than 64 levels",
    ),
    (
        "header-nested-70-deep",
        _write_raw(b'{"a": ' + _nested(70).encode() + b"}"),
        "damaged.*nests more than 64 levels",
    ),
    (
        "metadata-a-string",
        _write_raw({"__metadata__": "deepgrad"}),
        "damaged.*__metadata__ is not a table of strings",
    ),
    (
        "metadata-values-not-text",
        _write_raw({"__metadata__": {"format": 1}}),
        "damaged.*__metadata__ is not a table of strings",
    ),
    (
        "tensor-dtype-object",
        _write_raw({"w": {"dtype": "object", "shape": [1], "data_offsets": [0, 8]}}),
        "damaged.*tensor 'w' has the dtype 'object'",
    ),
    (
        "tensor-dtype-a-list",
        _write_raw({"w": {"dtype": [], "shape": [1], "data_offsets": [0, 4]}}),
        "damaged.*tensor 'w' has the dtype \\[\\]",
    ),
    (
        "tensor-shape-negative",
        _write_raw({"w": _f32([-1], 0, 4)}, bytes(4)),
        "damaged.*tensor 'w' has the shape \\[-1\\]",
    ),
    (
        "tensor-shape-text",
        _write_raw({"w": _f32("3", 0, 12)}, bytes(12)),  # type: ignore[arg-type]
        "damaged.*tensor 'w' has the shape '3'",
    ),
    (
        "tensor-of-9-dimensions",
        _write_raw({"w": _f32([1] * 9, 0, 4)}, bytes(4)),
        "damaged.*tensor 'w' has the shape",
    ),
    (
        "tensor-entry-not-an-object",
        _write_raw({"w": [0, 4]}, bytes(4)),
        "damaged.*tensor 'w' is described by \\[0, 4\\]",
    ),
    (
        "tensor-offsets-not-a-pair",
        _write_raw({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4]}}),
        "damaged.*data_offsets \\[4\\]",
    ),
    (
        "tensor-bytes-disagree-with-shape",
        _write_raw({"w": _f32([2], 0, 4)}, bytes(4)),
        "damaged.*shape \\(2,\\) and dtype F32 takes 8 bytes.*span 4",
    ),
    (
        "tensors-overlap",
        _write_raw({"a": _f32([1], 0, 4), "b": _f32([1], 0, 4)}, bytes(4)),
        "damaged.*starts at byte 0 of the data, where 4 was expected",
    ),
    (
        "tensors-leave-a-gap",
        _write_raw({"a": _f32([1], 0, 4), "b": _f32([1], 8, 12)}, bytes(12)),
        "damaged.*starts at byte 8 of the data, where 4 was expected",
    ),
    (
        "bytes-after-the-tensors",
        _write_raw({"a": _f32([1], 0, 4)}, bytes(20)),
        "damaged.*16 bytes follow its tensors",
    ),
    (
        "declares-a-6-4-GB-tensor-in-16-bytes",
        _write_raw({"w": _f32([40000, 40000], 0, 6_400_000_000)}, bytes(16)),
        "truncated: its tensors need 6400000000 bytes but only 16 are there",
    ),
    (
        "safetensors-of-another-program",
        _write_raw({"__metadata__": {"format": "pt"}, "w": _f32([1], 0, 4)}, bytes(4)),
        "not a deepgrad model file.*without deepgrad's metadata",
    ),
    (
        "no-checksum",
        lambda path: save_file(
            load_file(str(path)),
            str(path),
            metadata={k: v for k, v in _metadata(path).items() if k != "sha256"},
        ),
        "damaged.*sha256 checksum does not match",
    ),
    # --- re-signed with a valid sha256: consistent bytes, absurd contents
    (
        "linear-40000-by-40000",
        lambda path: _edit_architecture(
            path, _layer_config(0, in_features=40000, out_features=40000)
        ),
        "layer '0', Linear\\(in_features=40000, out_features=40000, bias=True, "
        "dtype='float32'\\), needs '0.weight' of shape \\(40000, 40000\\), and the "
        "file holds one of shape \\(5, 3\\)",
    ),
    (
        "batchnorm-wider-than-its-tensors",
        lambda path: _edit_architecture(path, _layer_config(1, num_features=7)),
        "layer '1', BatchNorm1d\\(num_features=7.*needs '1.weight' of shape \\(7,\\), "
        "and the file holds one of shape \\(5,\\)",
    ),
    (
        "a-weight-missing",
        lambda path: _resign(
            path, tensors=lambda t: {k: v for k, v in t.items() if k != "3.bias"}
        ),
        "layer '3', Linear.*needs '3.bias' of shape \\(2,\\), and the file holds no "
        "such tensor",
    ),
    (
        "a-tensor-no-layer-has",
        lambda path: _resign(path, tensors=lambda t: {**t, "4.weight": np.ones(2)}),
        "holds the tensor '4.weight', which no layer of its architecture has",
    ),
    (
        "integer-weights",
        lambda path: _resign(
            path,
            tensors=lambda t: {**t, "0.weight": np.zeros((5, 3), np.int64)},
        ),
        "needs '0.weight' of shape \\(5, 3\\), and the file holds one of dtype int64",
    ),
    (
        "architecture-not-json",
        lambda path: _resign(path, architecture="{"),
        "the file's architecture is not valid JSON",
    ),
    (
        "architecture-missing",
        lambda path: _resign(path, architecture=None),
        "the file's architecture is None, not a model's description",
    ),
    (
        "architecture-a-list",
        lambda path: _resign(path, architecture="[]"),
        "the file's architecture is \\[\\], not a model's description",
    ),
    (
        "architecture-100000-deep",
        lambda path: _resign(path, architecture=_nested(100_000)),
        "architecture is not valid JSON \\(it nests more than 64 levels deep\\)",
    ),
    (
        "sequentials-nested-30-deep",
        lambda path: _resign(path, architecture=json.dumps(_sequential_nested(30))),
        "architecture is not valid JSON \\(it nests more than 64 levels deep\\)",
    ),
    (
        "sequential-layers-not-a-list",
        lambda path: _edit_architecture(path, lambda a: a["config"].update(layers="0")),
        "the model, a Sequential, has no list of layers",
    ),
    (
        "sequential-layer-not-an-object",
        lambda path: _edit_architecture(
            path, lambda a: a["config"]["layers"].append(5)
        ),
        "the architecture holds a malformed entry 5",
    ),
    (
        "two-layers-of-one-name",
        lambda path: _edit_architecture(
            path, lambda a: a["config"]["layers"][1].update(name="0")
        ),
        "holds a layer named '0'; the layers of a Sequential have distinct names",
    ),
    (
        "layer-name-with-a-dot",
        lambda path: _edit_architecture(
            path, lambda a: a["config"]["layers"][2].update(name="a.b")
        ),
        "holds a layer named 'a.b'",
    ),
    (
        "layer-class-a-list",
        lambda path: _edit_architecture(
            path, lambda a: a["config"]["layers"][2].update({"class": ["ReLU"]})
        ),
        "names the unknown layer \\['ReLU'\\]",
    ),
    (
        "linear-argument-it-does-not-take",
        lambda path: _edit_architecture(path, _layer_config(0, kernel_size=3)),
        "cannot rebuild layer '0' as Linear.*kernel_size",
    ),
    (
        "linear-in-features-as-text",
        lambda path: _edit_architecture(path, _layer_config(0, in_features="3")),
        "layer '0', a Linear, has in_features='3', which is not a valid in_features",
    ),
    (
        "linear-in-features-a-boolean",
        lambda path: _edit_architecture(path, _layer_config(0, in_features=True)),
        "has in_features=True, which is not a valid in_features",
    ),
    (
        "linear-dtype-object",
        lambda path: _edit_architecture(path, _layer_config(0, dtype="object")),
        "has dtype='object', which is not a valid dtype",
    ),
    (
        "batchnorm-eps-nan",
        lambda path: _resign(
            path,
            architecture=_metadata(path)["architecture"].replace(
                '"eps": 1e-05', '"eps": NaN'
            ),
        ),
        "architecture is not valid JSON \\(the number NaN is not finite\\)",
    ),
    (
        "batchnorm-eps-overflowing-to-infinity",
        lambda path: _resign(
            path,
            architecture=_metadata(path)["architecture"].replace(
                '"eps": 1e-05', '"eps": 1e999'
            ),
        ),
        "architecture is not valid JSON \\(the number 1e999 is not finite\\)",
    ),
    (
        "training-flag-as-text",
        lambda path: _edit_architecture(path, lambda a: a.update(training="yes")),
        "not a model's description",
    ),
    (
        "extras-a-list",
        lambda path: _resign(path, extras="[]"),
        "the file's extras are \\[\\], not a JSON object naming their kind",
    ),
    (
        "extras-without-a-kind",
        lambda path: _resign(path, extras="{}"),
        "the file's extras are \\{\\}, not a JSON object naming their kind",
    ),
    (
        "standardizer-scale-nan",
        lambda path: _resign(
            path,
            extras='{"kind": "classifier", "standardizer": '
            '{"mean": [0, 0, 0], "scale": [1, NaN, 1]}}',
        ),
        "the file's extras is not valid JSON \\(the number NaN is not finite\\)",
    ),
    (
        "class-names-a-string",
        lambda path: _resign(
            path, extras='{"kind": "classifier", "class_names": "ab"}'
        ),
        "the classifier's class_names is 'ab', not a list",
    ),
    (
        "class-names-numbers",
        lambda path: _resign(
            path, extras='{"kind": "classifier", "class_names": [1, 2]}'
        ),
        "the classifier's class_names \\[1, 2\\] are not all text",
    ),
    (
        "optimizer-missing-its-keys",
        lambda path: _resign(path, optimizer='{"class": "SGD"}'),
        "optimizer state is \\{'class': 'SGD'\\}, not a JSON object with "
        "param_groups, state and indices",
    ),
    (
        "optimizer-groups-not-a-list",
        _edit_json("optimizer", lambda packed: packed.update(param_groups={})),
        "optimizer state is malformed: param_groups \\{\\} are not groups",
    ),
    (
        "optimizer-state-of-a-parameter-no-group-has",
        _edit_json("optimizer", lambda packed: packed["indices"].append(99)),
        "optimizer state is malformed: it has state for the parameter 99, which no "
        "param group holds",
    ),
    (
        "optimizer-state-under-a-bad-key",
        _edit_json("optimizer", lambda packed: packed["state"].update(x={})),
        "optimizer state is malformed: its state .* is not a table",
    ),
    (
        "optimizer-tensor-of-no-parameter",
        lambda path: _resign(
            path,
            tensors=lambda t: {
                **t,
                "optimizer/state/99/momentum_buffer": np.zeros(2, np.float32),
            },
        ),
        "the tensor 'optimizer/state/99/momentum_buffer' is no parameter's state",
    ),
    (
        "optimizer-tensors-without-an-optimizer",
        lambda path: _resign(path, optimizer=None),
        "optimizer state is missing, but it holds the optimizer tensor",
    ),
    (
        "training-state-a-list",
        lambda path: _resign(path, training_state="[]"),
        "the file's training_state is \\[\\], not a JSON object",
    ),
    (
        "training-state-100-deep",
        lambda path: _resign(path, training_state=_nested(100)),
        "training_state is not valid JSON \\(it nests more than 64 levels deep\\)",
    ),
]


@pytest.mark.parametrize(
    "make, message",
    [case[1:] for case in CRAFTED_MODEL_FILES],
    ids=[case[0] for case in CRAFTED_MODEL_FILES],
)
def test_crafted_model_files_raise_one_model_file_error_naming_the_fault(
    tmp_path, make, message
):
    # Proves: whatever a file declares, loading fails with a ModelFileError (a
    # ValueError: one line and exit 2 in the CLI) naming the file and the fault,
    # never a KeyError, TypeError, RecursionError or MemoryError from underneath.
    path = _checkpoint(tmp_path)
    make(path)
    with pytest.raises(ModelFileError, match=message) as caught:
        io.load_checkpoint(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_the_crafted_files_are_all_different_faults():
    ids = [case[0] for case in CRAFTED_MODEL_FILES + NEWER_LAYER_FILES]
    assert len(ids) == len(set(ids))


def _newer_layers(folder: Path) -> Path:
    """A model file of the layers added after the format: layer 0 an Embedding,
    1 a LayerNorm, 3 a PReLU, then ELU, Softplus, Hardtanh, SiLU and Mish."""
    dg.manual_seed(0)
    model = nn.Sequential(
        nn.Embedding(10, 3, padding_idx=0),
        nn.LayerNorm([2, 3]),
        nn.Flatten(),
        nn.PReLU(6),
        nn.ELU(),
        nn.Softplus(),
        nn.Hardtanh(),
        nn.SiLU(),
        nn.Mish(),
    )
    return dg.save(model, folder / "newer.dg")


# (what the file is, how to make it from _newer_layers' file, what the error says)
NEWER_LAYER_FILES = [
    (
        "embedding-of-a-billion-rows",
        lambda path: _edit_architecture(path, _layer_config(0, num_embeddings=10**9)),
        "layer '0', Embedding\\(num_embeddings=1000000000, embedding_dim=3, "
        "padding_idx=0, dtype='float32'\\), needs '0.weight' of shape "
        "\\(1000000000, 3\\), and the file holds one of shape \\(10, 3\\)",
    ),
    (
        "embedding-padding-idx-past-its-rows",
        lambda path: _edit_architecture(path, _layer_config(0, padding_idx=99)),
        "cannot rebuild Embedding\\(.*\\) from the architecture: Embedding: "
        "padding_idx must be within num_embeddings \\(10\\), received: 99",
    ),
    (
        "embedding-padding-idx-as-text",
        lambda path: _edit_architecture(path, _layer_config(0, padding_idx="0")),
        "layer '0', an Embedding, has padding_idx='0', which is not a valid padding_idx",
    ),
    (
        "embedding-given-its-weight-in-the-architecture",
        lambda path: _edit_architecture(path, _layer_config(0, _weight=[[0.0] * 3])),
        "cannot rebuild layer '0' as Embedding.*unexpected argument\\(s\\) _weight",
    ),
    (
        "layernorm-shape-wider-than-its-tensors",
        lambda path: _edit_architecture(path, _layer_config(1, normalized_shape=[7])),
        "layer '1', LayerNorm\\(normalized_shape=\\[7\\].*needs '1.weight' of "
        "shape \\(7,\\), and the file holds one of shape \\(2, 3\\)",
    ),
    (
        "layernorm-shape-empty",
        lambda path: _edit_architecture(path, _layer_config(1, normalized_shape=[])),
        "layer '1', a LayerNorm, has normalized_shape=\\[\\], which is not a valid "
        "normalized_shape",
    ),
    (
        "layernorm-shape-of-9-dimensions",
        lambda path: _edit_architecture(
            path, _layer_config(1, normalized_shape=[1] * 9)
        ),
        "has normalized_shape=\\[1, 1, 1, 1, 1, 1, ...\\], which is not a valid "
        "normalized_shape",
    ),
    (
        "layernorm-shape-as-text",
        lambda path: _edit_architecture(path, _layer_config(1, normalized_shape="6")),
        "has normalized_shape='6', which is not a valid normalized_shape",
    ),
    (
        "layernorm-without-the-weights-the-file-holds",
        lambda path: _edit_architecture(
            path, _layer_config(1, elementwise_affine=False)
        ),
        "holds the tensor '1.(weight|bias)', which no layer of its architecture has",
    ),
    (
        "layernorm-eps-a-boolean",
        lambda path: _edit_architecture(path, _layer_config(1, eps=True)),
        "has eps=True, which is not a valid eps",
    ),
    (
        "prelu-more-slopes-than-its-tensor",
        lambda path: _edit_architecture(path, _layer_config(3, num_parameters=7)),
        "layer '3', PReLU\\(num_parameters=7, init=0.25, dtype='float32'\\), needs "
        "'3.weight' of shape \\(7,\\), and the file holds one of shape \\(6,\\)",
    ),
    (
        "elu-alpha-as-text",
        lambda path: _edit_architecture(path, _layer_config(4, alpha="1")),
        "layer '4', an ELU, has alpha='1', which is not a valid alpha",
    ),
    (
        "softplus-beta-a-list",
        lambda path: _edit_architecture(path, _layer_config(5, beta=[2])),
        "layer '5', a Softplus, has beta=\\[2\\], which is not a valid beta",
    ),
    (
        "hardtanh-min-above-max",
        lambda path: _edit_architecture(path, _layer_config(6, min_val=2, max_val=1)),
        "cannot rebuild Hardtanh\\(\\{'min_val': 2, 'max_val': 1\\}\\) from the "
        "architecture: Hardtanh: min_val \\(2\\) cannot be greater than max_val",
    ),
    (
        "silu-with-an-argument-it-does-not-take",
        lambda path: _edit_architecture(path, _layer_config(7, inplace=True)),
        "cannot rebuild layer '7' as SiLU.*unexpected argument\\(s\\) inplace",
    ),
    (
        "mish-weight-it-does-not-hold",
        lambda path: _resign(path, tensors=lambda t: {**t, "8.weight": np.ones(2)}),
        "holds the tensor '8.weight', which no layer of its architecture has",
    ),
]


@pytest.mark.parametrize(
    "make, message",
    [case[1:] for case in NEWER_LAYER_FILES],
    ids=[case[0] for case in NEWER_LAYER_FILES],
)
def test_crafted_files_of_the_newer_layers_raise_one_model_file_error(
    tmp_path, make, message
):
    # Proves: a file of Embedding, LayerNorm, PReLU and the newer activations whose
    # architecture lies about them (sizes its tensors do not have, arguments of the
    # wrong kind or out of range, arguments the layer does not take) fails with a
    # ModelFileError naming the file, the layer and the fault, before any weight
    # of the declared size is allocated.
    path = _newer_layers(tmp_path)
    dg.load(path)  # the file as saved loads
    make(path)
    with pytest.raises(ModelFileError, match=message) as caught:
        dg.load(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_a_file_cut_at_any_offset_is_truncated_and_left_as_it_is(tmp_path):
    # Proves: truncation anywhere (in the length, the header, between tensors,
    # inside one) is reported as such, checked without reading past the header.
    data = _checkpoint(tmp_path).read_bytes()
    header_end = 8 + int.from_bytes(data[:8], "little")
    path = tmp_path / "cut.dg"
    for keep in [0, 4, 8, 9, header_end // 2, header_end - 1, header_end]:
        path.write_bytes(data[:keep])
        with pytest.raises(ModelFileError, match="truncated") as caught:
            io.load_checkpoint(path)
        assert str(path) in str(caught.value)
        assert path.read_bytes() == data[:keep]
    for keep in range(header_end + 1, len(data), 7):
        path.write_bytes(data[:keep])
        with pytest.raises(ModelFileError, match="truncated: its tensors need"):
            io.load_checkpoint(path)


def test_a_flipped_bit_anywhere_reads_as_damage_never_as_a_newer_version(tmp_path):
    # Proves: the checksum decides before the format version does, so no flipped
    # bit (in the length, the header's JSON, a name, a shape, the metadata or the
    # weights) loads, or asks the user to upgrade deepgrad.
    data = _checkpoint(tmp_path).read_bytes()
    path = tmp_path / "flipped.dg"
    for offset in range(len(data)):
        flipped = bytearray(data)
        flipped[offset] ^= 0x02  # "1" -> "3" in format_version
        path.write_bytes(bytes(flipped))
        with pytest.raises(ModelFileError) as caught:
            io.load_checkpoint(path)
        message = str(caught.value)
        assert "damaged" in message and "upgrade" not in message, (offset, message)


def test_a_flipped_byte_in_the_format_version_is_damage_not_a_newer_format(tmp_path):
    path = _checkpoint(tmp_path)
    data = path.read_bytes()
    version = b'"format_version":"1"'
    assert data.count(version) == 1
    path.write_bytes(data.replace(version, b'"format_version":"3"'))
    with pytest.raises(ModelFileError, match="damaged.*sha256") as caught:
        io.load_checkpoint(path)
    assert "upgrade" not in str(caught.value)


def test_a_newer_correctly_signed_file_still_asks_to_upgrade(tmp_path):
    path = _checkpoint(tmp_path)
    _resign(path, format_version="2")
    with pytest.raises(ModelFileError, match="version '2'.*upgrade deepgrad"):
        io.load_checkpoint(path)


def test_save_refuses_a_header_larger_than_load_reads(tmp_path, monkeypatch):
    # Proves: deepgrad never writes a file it would refuse to read (the header cap
    # is lowered here; in use it is 32 MiB, some 70,000 epochs of history).
    monkeypatch.setattr(modelfile, "_MAX_HEADER_SIZE", 4000)
    path = tmp_path / "long.dg"
    with pytest.raises(ModelFileError, match="cannot save.*more than the 4000"):
        dg.save(nn.Linear(2, 1), path, training_state={"losses": [0.5] * 1000})
    assert not path.exists()
    dg.save(nn.Linear(2, 1), path, training_state={"losses": [0.5] * 10})
    assert dg.load(path).in_features == 2


def test_a_header_larger_than_the_cap_is_refused_before_it_is_read(
    tmp_path, monkeypatch
):
    path = dg.save(nn.Linear(2, 1), tmp_path / "model.dg")
    header_size = int.from_bytes(path.read_bytes()[:8], "little")
    monkeypatch.setattr(modelfile, "_MAX_HEADER_SIZE", header_size - 1)
    with pytest.raises(ModelFileError, match="header would be .* at most"):
        dg.load(path)


def test_hostile_model_files_are_refused_in_a_gigabyte_of_address_space(tmp_path):
    # Proves: loading checks shapes against the file before building a layer and
    # never reads a whole file. Today Linear(40000, 40000) in a 1 KB file costs
    # 18.8 GB (here: a MemoryError inside the build), and a 6 GiB file is read
    # whole before its header is looked at (here: a MemoryError traceback).
    good = _checkpoint(tmp_path)
    linear = tmp_path / "linear.dg"
    linear.write_bytes(good.read_bytes())
    _edit_architecture(linear, _layer_config(0, in_features=40000, out_features=40000))
    junk = _sparse_file(
        tmp_path / "junk.dg", (2**20).to_bytes(8, "little") + b"junk", 6 * 2**30
    )
    padded = _sparse_file(tmp_path / "padded.dg", good.read_bytes(), 6 * 2**30)

    printed = _run_capped(
        _outcomes(
            "from deepgrad.io import load_checkpoint as load",
            [good, linear, junk, padded],
        )
    )

    lines = printed.splitlines()
    assert lines[0] == "ok"  # the cap leaves room to load a model
    assert lines[1].startswith("ModelFileError")
    assert "needs '0.weight' of shape (40000, 40000)" in lines[1]
    assert lines[2].startswith("ModelFileError")
    assert "not a deepgrad model file" in lines[2]
    assert lines[3].startswith("ModelFileError")
    assert f"damaged ({6 * 2**30 - len(good.read_bytes())} bytes follow" in lines[3]


@pytest.mark.parametrize("layer", list(modelfile.LAYERS))
def test_every_layer_a_file_holds_has_its_arguments_checked(layer):
    import inspect

    cls = modelfile.LAYERS[layer][0]
    named = inspect.signature(cls).parameters.values()
    # *args/**kwargs (Identity's, as torch's) are accepted and ignored, not stored;
    # private ones (Embedding's _weight and _freeze, from_pretrained's, as torch's)
    # are never in a file, and refused as unexpected when they are
    parameters = {
        p.name
        for p in named
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and not p.name.startswith("_")
    } - {"modules"}
    assert set(modelfile._ARGUMENTS[layer]) == parameters


# ------------------------------------------------------------------------ data files


def _csv_text(rows: int, seed: int = 0) -> str:
    """A header, then ``rows`` rows of 20 features and a text label."""
    rng = np.random.default_rng(seed)
    header = ",".join(f"f{j}" for j in range(20)) + ",label\n"
    lines = [
        ",".join(f"{value:.4f}" for value in row) + f",{label}\n"
        for row, label in zip(
            rng.normal(size=(rows, 20)),
            rng.choice(["cat", "dog", "eel"], rows),
            strict=True,
        )
    ]
    return header + "".join(lines)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
def test_csv_is_parsed_in_under_three_times_the_memory_of_its_features(tmp_path):
    # Proves: the parse streams (blocks of rows into preallocated float32): the
    # peak RSS it adds stays under 3x the float32 array it returns. Today every
    # row is kept as Python strings first: 38x (a 200 MB CSV took 2.8 GB).
    path = tmp_path / "large.csv"
    block = _csv_text(2000)
    path.write_text(block + block.split("\n", 1)[1] * 159)  # 320,000 rows, 42 MB
    # VmHWM is this process's peak RSS (ru_maxrss would start at the parent's)
    code = (
        "import re\n"
        "from deepgrad.data import load_csv\n"
        "def status(key):\n"
        "    with open('/proc/self/status') as status:\n"
        "        return int(re.search(key + r':\\s+(\\d+) kB', status.read())[1])\n"
        "before = status('VmRSS')\n"
        f"dataset = load_csv({str(path)!r}, target='label')\n"
        "added = (status('VmHWM') - before) * 1024\n"
        "print(dataset.X.shape, added / dataset.X.nbytes)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    shape, ratio = result.stdout.rsplit(" ", 1)
    assert shape == "(320000, 20)"
    assert float(ratio) < 3


@pytest.fixture
def small_blocks(monkeypatch):
    """Parse CSVs three rows at a time into arrays that start with room for one."""
    monkeypatch.setattr(data_files, "_BLOCK_ROWS", 3)
    monkeypatch.setattr(data_files, "_row_capacity", lambda path, columns: 1)


def test_csv_read_in_blocks_equals_the_file_read_whole(tmp_path, small_blocks):
    text = _csv_text(50, seed=1)
    path = tmp_path / "data.csv"
    path.write_text(text.replace("\n", "\n\n", 7))  # blank lines between blocks
    rows = [line.split(",") for line in text.splitlines()[1:]]
    labels = [row[-1] for row in rows]

    dataset = load_csv(path, target="label")

    expected = np.array([row[:-1] for row in rows], dtype=np.float64)
    np.testing.assert_array_equal(dataset.X, expected.astype(np.float32))
    assert dataset.class_names == sorted(set(labels))
    assert [dataset.class_names[i] for i in dataset.y] == labels
    assert dataset.y.dtype == np.int64 and dataset.description.startswith(
        "data.csv: 50 rows"
    )
    known = load_csv(path, target="label", class_names=["eel", "dog", "cat"])
    assert [["eel", "dog", "cat"][i] for i in known.y] == labels


@pytest.mark.parametrize(
    "line, cell, message",
    [
        (9, "x", "column 'b' is not numeric: 'x' on line 9"),
        (11, "", "column 'b' has a missing value on line 11"),
        (8, "1,2", "line 8 has 4 values but the header has 3"),
    ],
)
def test_csv_errors_in_a_later_block_name_their_line(
    tmp_path, small_blocks, line, cell, message
):
    lines = ["a,b,label"] + [f"{i},{i},{'xy'[i % 2]}" for i in range(2, 14)]
    lines[line - 1] = f"1,{cell},x"
    path = tmp_path / "data.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=message):
        load_csv(path, target="label")


def test_csv_missing_label_in_a_later_block_names_its_line(tmp_path, small_blocks):
    path = tmp_path / "data.csv"
    path.write_text("a,label\n" + "".join(f"{i},{i % 2}\n" for i in range(9)) + "9,\n")
    with pytest.raises(ValueError, match="missing label on line 11"):
        load_csv(path, target="label")


def test_csv_many_distinct_numbers_make_a_regression_target(
    tmp_path, small_blocks, monkeypatch
):
    # Past _MAX_TEXT_LABELS distinct numbers, only the numbers are kept: the
    # result is the one the whole column read as text gives.
    monkeypatch.setattr(data_files, "_MAX_TEXT_LABELS", 4)
    path = tmp_path / "prices.csv"
    prices = [f"{100 + i * 1.25}" for i in range(12)]
    path.write_text(
        "rooms,price\n" + "".join(f"{i},{p}\n" for i, p in enumerate(prices))
    )
    dataset = load_csv(path, target="price")
    assert dataset.task == "regression" and dataset.class_names is None
    np.testing.assert_array_equal(dataset.y, np.array(prices, dtype=np.float32))

    path.write_text("a,y\n" + "".join(f"{i},{20 - i}\n" for i in range(12)))
    classes = load_csv(path, target="y")
    assert classes.class_names == [str(i) for i in range(9, 21)]
    assert classes.y.tolist() == list(range(11, -1, -1))


def test_csv_text_after_many_distinct_numbers_names_its_line(
    tmp_path, small_blocks, monkeypatch
):
    monkeypatch.setattr(data_files, "_MAX_TEXT_LABELS", 4)
    path = tmp_path / "prices.csv"
    path.write_text("a,y\n" + "".join(f"{i},{i}.5\n" for i in range(8)) + "8,n/a\n")
    with pytest.raises(ValueError, match="then the text 'n/a' on line 10"):
        load_csv(path, target="y")


def test_csv_text_among_few_numbers_is_still_a_class(tmp_path, small_blocks):
    path = tmp_path / "mixed.csv"
    path.write_text("a,y\n" + "".join(f"{i},{i % 3}\n" for i in range(7)) + "7,other\n")
    assert load_csv(path, target="y").class_names == ["0", "1", "2", "other"]


def _gzip_bomb(header: bytes, gibibytes: float) -> bytes:
    """``header`` and then that many GiB of zeros, gzip-compressed: gzip members
    of 16 MiB of zeros each (some 16 KB), one after another."""
    zeros = gzip.compress(bytes(16 * 2**20), mtime=0)
    first = gzip.compress(header + bytes(16 * 2**20), mtime=0)
    return first + zeros * (int(gibibytes * 64) - 1)


def test_idx_gzip_bombs_are_refused_in_a_gigabyte_of_address_space(tmp_path):
    # Proves: the gzip stream is decompressed incrementally and no further than
    # the header says (plus a piece), and a declared size beyond MAX_ARRAY_BYTES
    # is refused before decompressing. Today both are decompressed whole: 1.5 GiB
    # from a 1.6 MB file, a MemoryError here (4.2 GB for a 2 GiB bomb uncapped).
    images = write_idx(tmp_path / "images.gz", np.zeros((3, 2, 2), np.uint8))
    small_header = tmp_path / "small-header.gz"
    small_header.write_bytes(
        _gzip_bomb(bytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28]), 1.5)
    )
    huge_header = tmp_path / "huge-header.gz"
    huge_header.write_bytes(_gzip_bomb(bytes([0, 0, 8, 2]) + b"\xff" * 8, 1.5))

    printed = _run_capped(
        _outcomes(
            "from deepgrad.data import load_idx as load",
            [images, small_header, huge_header],
        )
    )

    lines = printed.splitlines()
    assert lines[0] == "ok"
    assert lines[1] == (
        "ValueError small-header.gz has more than 1048576 bytes after the data its "
        "header describes (shape (1, 28, 28) of uint8); it is not a valid IDX file"
    )
    assert lines[2].startswith(
        "ValueError huge-header.gz: its images as float32 features takes "
        f"{4 * (2**32 - 1) ** 2} bytes, more than the {data_files.MAX_ARRAY_BYTES}"
    )


def test_idx_files_larger_than_the_limit_are_refused_before_their_data(
    tmp_path, monkeypatch
):
    path = write_idx(tmp_path / "images.idx", np.zeros((10, 5, 5), np.uint8))
    monkeypatch.setattr(data_files, "MAX_ARRAY_BYTES", 249)
    with pytest.raises(
        ValueError,
        match="its data, shape \\(10, 5, 5\\) of uint8, "
        "takes 250 bytes, more than the 249 deepgrad reads",
    ):
        read_idx(path)
    monkeypatch.setattr(data_files, "MAX_ARRAY_BYTES", 250)
    with pytest.raises(ValueError, match="as float32 features takes 1000 bytes"):
        load_idx(path)
    assert read_idx(path).shape == (10, 5, 5)


def test_idx_plain_file_truncated_or_padded_is_refused_from_its_length(tmp_path):
    content = write_idx(tmp_path / "full", np.zeros((4, 5, 5), np.uint8)).read_bytes()
    (tmp_path / "long").write_bytes(content + bytes(3))
    with pytest.raises(ValueError, match="has 3 bytes after the data"):
        read_idx(tmp_path / "long")


def _npz(path: Path, **members: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def _npy(array: np.ndarray) -> bytes:
    buffer = stdio.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _npy_header(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    buffer = stdio.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


LABELS = _npy(np.array([0, 1, 0]))


@pytest.mark.parametrize(
    "x_member, message",
    [
        (
            _npy_header((10**6, 10**6)) + bytes(64),
            "damaged: its array 'X' \\(the member 'X.npy'\\) declares shape "
            "\\(1000000, 1000000\\) of float32, 4000000000000 bytes, but holds 64",
        ),
        (
            _npy(np.ones((3, 3)))[:-8],
            "damaged: its array 'X' \\(the member 'X.npy'\\) declares shape \\(3, 3\\) "
            "of float64, 72 bytes, but holds 64",
        ),
        (
            b"not a NumPy array at all",
            "damaged: its array 'X' \\(the member 'X.npy'\\) has no readable .npy "
            "header",
        ),
        (
            _npy(np.ones((3, 3)))[:20],
            "damaged: its array 'X' \\(the member 'X.npy'\\) has no readable .npy "
            "header",
        ),
    ],
    ids=["huge-shape", "cut-short", "not-npy", "header-cut"],
)
def test_npz_member_that_lies_about_its_shape_is_damaged_not_an_object_array(
    tmp_path, x_member, message
):
    # Proves: a member's .npy header is read and its shape checked against the
    # member's size before anything is allocated. Today: a MemoryError traceback
    # (huge shape), "an object array" (cut short), an AttributeError (not .npy).
    path = _npz(tmp_path / "data.npz", **{"X.npy": x_member, "y.npy": LABELS})
    with pytest.raises(ValueError, match=message):
        load_npz(path)


def test_npz_damaged_compressed_member_names_the_member(tmp_path):
    path = tmp_path / "data.npz"
    np.savez_compressed(path, X=np.arange(3000.0).reshape(1000, 3), y=np.arange(1000))
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF  # inside X.npy's compressed stream
    path.write_bytes(bytes(data))
    with pytest.raises(
        ValueError, match="data.npz is damaged: its array 'X' \\(the member 'X.npy'\\)"
    ):
        load_npz(path)


def test_npz_arrays_larger_than_the_limit_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.zeros((10, 10), np.float32), y=np.arange(10) % 2)
    monkeypatch.setattr(data_files, "MAX_ARRAY_BYTES", 399)
    with pytest.raises(
        ValueError,
        match="its array 'X' of shape \\(10, 10\\) and "
        "dtype float32 takes 400 bytes, more than the 399",
    ):
        load_npz(path)


def test_npz_fortran_order_and_big_endian_arrays_read_as_numpy_reads_them(tmp_path):
    features = np.asfortranarray(np.arange(12.0).reshape(4, 3)).astype(">f8")
    path = tmp_path / "data.npz"
    np.savez(path, X=features, y=np.array([0, 1, 1, 0]))
    np.testing.assert_array_equal(load_npz(path).X, features.astype(np.float32))
