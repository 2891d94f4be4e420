"""Model files: save -> load round trips, checkpoints, atomic writes, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import deepgrad as dg
from deepgrad import io, modelfile, nn
from deepgrad.io import ModelFileError


def _mlp(dtype=None) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(3, 5, dtype=dtype),
        nn.BatchNorm1d(5, dtype=dtype),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(5, 2, dtype=dtype),
    )


def _outputs(model, inputs: np.ndarray) -> np.ndarray:
    with dg.no_grad():
        return model(dg.tensor(inputs)).numpy()


def _metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as handle:
        return handle.metadata()


def _rewrite(path: Path, **changes: str) -> None:
    """Change metadata entries and re-sign the file, as a newer writer would."""
    metadata = {**_metadata(path), **changes}
    tensors = load_file(str(path))
    metadata["sha256"] = modelfile._digest(metadata, tensors)
    save_file(tensors, str(path), metadata=metadata)


@pytest.fixture
def saved(tmp_path):
    dg.manual_seed(0)
    model = _mlp()
    path = dg.save(model, tmp_path / "model.dg")
    return model, path


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_load_gives_identical_outputs_weights_and_batchnorm_stats(tmp_path, dtype):
    dg.manual_seed(1)
    model = _mlp(dtype)
    inputs = np.random.default_rng(0).normal(size=(8, 3)).astype(dtype)
    for _ in range(3):  # move BatchNorm's running statistics off their defaults
        _outputs(model, inputs)
    model.eval()

    loaded = dg.load(dg.save(model, tmp_path / "model.dg"))

    np.testing.assert_array_equal(_outputs(loaded, inputs), _outputs(model, inputs))
    assert _outputs(loaded, inputs).dtype == dtype
    assert not loaded.training
    original, restored = model.state_dict(), loaded.state_dict()
    assert list(restored) == list(original)
    for key, tensor in original.items():
        assert restored[key].dtype == tensor.dtype, key
        np.testing.assert_array_equal(restored[key].numpy(), tensor.numpy())
    assert int(restored["1.num_batches_tracked"].item()) == 3


def test_model_saved_in_training_mode_drops_out_the_same_units_for_the_same_seed(
    tmp_path,
):
    dg.manual_seed(2)
    model = _mlp()
    loaded = dg.load(dg.save(model, tmp_path / "model.dg"))
    inputs = np.ones((6, 3), np.float32)

    assert loaded.training
    dg.manual_seed(7)
    expected = _outputs(model, inputs)
    dg.manual_seed(7)
    np.testing.assert_array_equal(_outputs(loaded, inputs), expected)


def test_loading_does_not_consume_the_global_random_stream(saved):
    _, path = saved
    dg.manual_seed(3)
    expected = dg.randn(4).numpy()
    dg.manual_seed(3)
    dg.load(path)
    np.testing.assert_array_equal(dg.randn(4).numpy(), expected)


def test_every_builtin_layer_round_trips_with_its_constructor_arguments(tmp_path):
    dg.manual_seed(4)
    model = nn.Sequential(
        OrderedDict(
            [
                ("flatten", nn.Flatten()),
                ("hidden", nn.Linear(4, 6, bias=False)),
                ("norm", nn.BatchNorm1d(6, eps=1e-3, momentum=0.2, affine=False)),
                ("leaky", nn.LeakyReLU(0.2)),
                ("block", nn.Sequential(nn.Linear(6, 6), nn.GELU("tanh"), nn.Tanh())),
                ("plain", nn.BatchNorm1d(6, track_running_stats=False)),
                ("identity", nn.Identity()),
                ("sigmoid", nn.Sigmoid()),
                ("relu", nn.ReLU()),
                ("out", nn.Linear(6, 3)),
                ("log_softmax", nn.LogSoftmax(dim=1)),
                ("softmax", nn.Softmax(dim=1)),
            ]
        )
    )
    model.eval()
    inputs = np.random.default_rng(1).normal(size=(5, 2, 2)).astype(np.float32)

    loaded = dg.load(dg.save(model, tmp_path / "all.dg"))

    assert repr(loaded) == repr(model)
    assert list(loaded.state_dict()) == list(model.state_dict())
    np.testing.assert_array_equal(_outputs(loaded, inputs), _outputs(model, inputs))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_newer_layers_round_trip_with_their_arguments_and_weights(tmp_path, dtype):
    """Embedding (with padding_idx), LayerNorm (several trailing dims, no bias, no
    affine), ELU, SiLU, Mish, Softplus, Hardtanh and PReLU, with arguments other
    than their defaults and weights moved off their initial values: the loaded
    model has the same repr, state_dict (keys, dtypes, values) and outputs, bit
    for bit, on integer indices."""
    dg.manual_seed(5)
    model = nn.Sequential(
        OrderedDict(
            [
                ("embed", nn.Embedding(10, 3, padding_idx=-1, dtype=dtype)),
                ("norm", nn.LayerNorm([2, 3], eps=1e-3, dtype=dtype)),
                ("flatten", nn.Flatten()),
                ("hidden", nn.Linear(6, 6, dtype=dtype)),
                ("prelu", nn.PReLU(6, init=0.1, dtype=dtype)),
                ("elu", nn.ELU(alpha=0.5)),
                ("silu", nn.SiLU()),
                ("mish", nn.Mish()),
                ("softplus", nn.Softplus(beta=2.0, threshold=0.5)),
                ("hardtanh", nn.Hardtanh(-0.5, 0.75)),
                ("bare", nn.LayerNorm(6, bias=False, dtype=dtype)),
                ("plain", nn.LayerNorm(6, elementwise_affine=False)),
                ("shared", nn.PReLU(dtype=dtype)),
            ]
        )
    )
    rng = np.random.default_rng(2)
    for parameter in model.parameters():
        parameter.array += rng.normal(0, 0.5, parameter.shape).astype(dtype)
    model.eval()
    indices = rng.integers(0, 10, size=(7, 2))

    loaded = dg.load(dg.save(model, tmp_path / "newer.dg"))

    assert repr(loaded) == repr(model)
    original, restored = model.state_dict(), loaded.state_dict()
    assert list(restored) == list(original)
    for key, tensor in original.items():
        assert restored[key].dtype == tensor.dtype == dtype, key
        np.testing.assert_array_equal(restored[key].numpy(), tensor.numpy())
    assert loaded.embed.padding_idx == 9
    output = _outputs(loaded, indices)
    assert output.dtype == dtype
    np.testing.assert_array_equal(output, _outputs(model, indices))


def test_file_is_a_safetensors_file_with_state_dict_keys_and_json_metadata(saved):
    model, path = saved
    metadata = _metadata(path)

    assert set(load_file(str(path))) == set(model.state_dict())
    assert metadata["format"] == "deepgrad"
    assert metadata["format_version"] == "1"
    assert len(metadata["sha256"]) == 64
    assert "training_state" not in metadata
    architecture = json.loads(metadata["architecture"])
    assert architecture["class"] == "Sequential"
    assert architecture["config"]["layers"][0] == {
        "name": "0",
        "class": "Linear",
        "config": {
            "in_features": 3,
            "out_features": 5,
            "bias": True,
            "dtype": "float32",
        },
    }
    assert json.loads(metadata["extras"]) == {"kind": "module"}


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda params: dg.optim.Adam(params, lr=0.01, betas=(0.8, 0.9)),
        lambda params: dg.optim.SGD(params, lr=0.1, momentum=0.9),
    ],
    ids=["adam", "sgd-momentum"],
)
def test_checkpoint_resumes_training_exactly_as_an_uninterrupted_run(
    tmp_path, make_optimizer
):
    dg.manual_seed(5)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    optimizer = make_optimizer(model.parameters())
    inputs = dg.tensor(np.random.default_rng(2).normal(size=(8, 3)).astype(np.float32))
    targets = dg.tensor(np.random.default_rng(3).normal(size=(8, 1)).astype(np.float32))

    def step(net, opt):
        opt.zero_grad()
        nn.functional.mse_loss(net(inputs), targets).backward()
        opt.step()

    for _ in range(3):
        step(model, optimizer)
    path = dg.save(
        model, tmp_path / "ckpt.dg", optimizer=optimizer, training_state={"epoch": 3}
    )
    checkpoint = io.load_checkpoint(path)
    resumed_optimizer = make_optimizer(checkpoint.obj.parameters())
    resumed_optimizer.load_state_dict(checkpoint.optimizer_state)
    for _ in range(2):
        step(model, optimizer)
        step(checkpoint.obj, resumed_optimizer)

    assert checkpoint.training_state == {"epoch": 3}
    assert checkpoint.optimizer_state["param_groups"] == [
        {**group, "params": group["params"]}
        for group in optimizer.state_dict()["param_groups"]
    ]
    for key, tensor in model.state_dict().items():
        np.testing.assert_array_equal(
            checkpoint.obj.state_dict()[key].numpy(), tensor.numpy()
        )
    assert not any(
        name.startswith("optimizer/") for name in checkpoint.obj.state_dict()
    )


def test_a_file_without_checkpoint_parts_loads_with_none_for_them(saved):
    _, path = saved
    checkpoint = io.load_checkpoint(path)
    assert isinstance(checkpoint.obj, nn.Sequential)
    assert checkpoint.optimizer_state is None
    assert checkpoint.training_state is None


def test_training_state_that_is_not_json_raises_type_error_and_writes_nothing(tmp_path):
    path = tmp_path / "model.dg"
    with pytest.raises(TypeError, match="training_state.*JSON-able.*ndarray"):
        dg.save(_mlp(), path, training_state={"weights": np.zeros(2)})
    assert not path.exists()


class Doubler(nn.Module):
    def forward(self, input):
        return input * 2


class MyLinear(nn.Linear):
    pass


@pytest.mark.parametrize(
    "model, named",
    [
        (Doubler(), "Doubler"),
        (nn.Sequential(nn.Linear(2, 2), Doubler()), "layer '1' of model.*Doubler"),
        (MyLinear(2, 2), "MyLinear"),
    ],
    ids=["custom", "custom-inside-sequential", "subclass-of-linear"],
)
def test_saving_a_custom_module_names_its_class_and_suggests_sequential(
    tmp_path, model, named
):
    path = tmp_path / "custom.dg"
    with pytest.raises(ModelFileError, match=named) as caught:
        dg.save(model, path)
    assert "nn.Sequential of built-in layers" in str(caught.value)
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, TypeError)
    assert not path.exists()


def test_saving_something_that_is_neither_a_model_nor_tensors_raises_type_error(
    tmp_path,
):
    """A dict of arrays is saved since issue 14 (test_save_load.py); a set in it
    is not, and nothing is written."""
    with pytest.raises(
        TypeError, match=r"obj\['weight'\]: cannot save a <class 'set'>"
    ):
        dg.save({"weight": {1, 2}}, tmp_path / "dict.dg")
    assert not (tmp_path / "dict.dg").exists()


def test_saving_into_a_missing_folder_names_the_folder(tmp_path):
    with pytest.raises(ModelFileError, match="nowhere.*does not exist"):
        dg.save(_mlp(), tmp_path / "nowhere" / "model.dg")


def test_model_file_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)


def test_loading_a_missing_path_or_a_folder_names_the_path(tmp_path):
    with pytest.raises(ModelFileError, match=f"{tmp_path / 'absent.dg'}: no such"):
        dg.load(tmp_path / "absent.dg")
    with pytest.raises(ModelFileError, match="is not a file"):
        dg.load(tmp_path)


@pytest.mark.parametrize("keep", [0, 5, 8, 40, -1], ids=lambda k: f"keep{k}")
def test_a_truncated_file_is_reported_as_truncated_and_left_as_it_is(saved, keep):
    _, path = saved
    data = path.read_bytes()
    chopped = data[:keep] if keep >= 0 else data[:-1]
    path.write_bytes(chopped)

    with pytest.raises(ModelFileError, match="truncated") as caught:
        dg.load(path)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == chopped


def test_a_flipped_byte_in_the_weights_fails_the_checksum_and_leaves_the_file(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01  # inside the last tensor's bytes
    path.write_bytes(bytes(data))

    with pytest.raises(ModelFileError, match="modified or corrupted.*sha256"):
        dg.load(path)
    assert path.read_bytes() == bytes(data)


def test_an_edited_architecture_in_the_header_fails_the_checksum(saved):
    _, path = saved
    data = path.read_bytes()
    edited = data.replace(b'\\"p\\": 0.3', b'\\"p\\": 0.0', 1)
    assert edited != data
    path.write_bytes(edited)

    with pytest.raises(ModelFileError, match="modified or corrupted"):
        dg.load(path)


def test_an_unknown_format_version_asks_to_upgrade(saved):
    _, path = saved
    _rewrite(path, format_version="2")
    with pytest.raises(ModelFileError, match="unknown .* version '2'.*upgrade"):
        dg.load(path)


def test_an_unknown_layer_in_the_architecture_is_named(saved):
    _, path = saved
    architecture = {
        "class": "Sequential",
        "config": {"layers": [{"name": "0", "class": "Conv2d", "config": {}}]},
    }
    _rewrite(path, architecture=json.dumps(architecture))
    with pytest.raises(ModelFileError, match="unknown layer 'Conv2d'"):
        dg.load(path)


def test_a_plain_safetensors_file_is_not_a_deepgrad_file(tmp_path):
    path = tmp_path / "plain.safetensors"
    save_file({"weight": np.zeros((2, 2), np.float32)}, str(path))
    with pytest.raises(ModelFileError, match="not a deepgrad model file"):
        dg.load(path)


def test_random_bytes_are_not_a_deepgrad_file(tmp_path):
    path = tmp_path / "noise.dg"
    path.write_bytes(b"not a model " * 50)
    with pytest.raises(ModelFileError, match="not a deepgrad model file"):
        dg.load(path)


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_a_save_that_fails_midway_leaves_the_previous_file_intact(
    saved, monkeypatch, failure
):
    model, path = saved
    before = path.read_bytes()

    def write_half_then_fail(handle, payload):
        handle.write(payload[: len(payload) // 2])
        raise failure

    monkeypatch.setattr(modelfile, "_write_chunks", write_half_then_fail)
    dg.manual_seed(9)
    with pytest.raises(type(failure)):
        dg.save(nn.Sequential(nn.Linear(3, 2)), path)

    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    assert repr(dg.load(path)) == repr(model)


def test_saving_over_an_existing_file_replaces_it(saved):
    _, path = saved
    dg.save(nn.Sequential(nn.Linear(3, 1), nn.Sigmoid()), path)
    assert len(dg.load(path)) == 2
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_deepgrad_exposes_save_and_load_without_importing_safetensors_at_import():
    code = (
        "import sys, deepgrad as dg\n"
        "heavy = {'safetensors', 'sklearn', 'typer', 'rich', 'deepgrad.io'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
        "print(dg.save is dg.io.save, dg.load.__module__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split("\n")[:2] == ["[]", "True deepgrad.io"]


def test_unknown_attribute_of_deepgrad_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'sav'"):
        dg.sav  # noqa: B018


def test_classifier_round_trip_keeps_standardizer_class_names_and_task(tmp_path):
    train = pytest.importorskip("deepgrad.train")
    data = pytest.importorskip("deepgrad.data")
    if not hasattr(train, "Classifier") or not hasattr(data, "Standardizer"):
        pytest.skip(
            "deepgrad.train.Classifier / deepgrad.data.Standardizer not there yet"
        )
    dg.manual_seed(6)
    features = (
        np.random.default_rng(4).normal(5.0, 3.0, size=(12, 3)).astype(np.float32)
    )
    standardizer = data.Standardizer().fit(features)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 3))
    classifier = train.Classifier(
        model,
        loss_fn=nn.CrossEntropyLoss(),
        standardizer=standardizer,
        class_names=["cat", "dog", "eel"],
        task="multiclass",
    )

    loaded = dg.load(dg.save(classifier, tmp_path / "clf.dg"))

    assert isinstance(loaded, train.Classifier)
    assert loaded.class_names == ["cat", "dog", "eel"]
    assert loaded.task == "multiclass"
    assert loaded.loss_name == classifier.loss_name
    np.testing.assert_array_equal(loaded.standardizer.mean_, standardizer.mean_)
    np.testing.assert_array_equal(loaded.standardizer.scale_, standardizer.scale_)
    assert list(loaded.predict(features)) == list(classifier.predict(features))
    np.testing.assert_array_equal(
        np.asarray(loaded.predict_proba(features)),
        np.asarray(classifier.predict_proba(features)),
    )


def test_a_classifier_whose_standardizer_holds_nan_is_refused_at_save(tmp_path):
    # load refuses NaN in a standardizer, so save must not write such a file
    from deepgrad.data import Standardizer
    from deepgrad.train import Classifier

    standardizer = Standardizer().fit(np.array([[0.0, 1.0], [2.0, 3.0]], np.float32))
    standardizer.scale_ = np.array([np.nan, 1.0], np.float32)
    classifier = Classifier(nn.Sequential(nn.Linear(2, 1)), standardizer=standardizer)
    path = tmp_path / "model.dg"
    with pytest.raises(ValueError, match="holds NaN or an infinite number"):
        dg.save(classifier, path)
    assert list(tmp_path.iterdir()) == []
