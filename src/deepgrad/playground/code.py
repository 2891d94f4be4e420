"""The page's "Copy as code": a run as ``dg`` Python and as a ``deepgrad train``
command, each giving the page's loss curve when run.

Both build what the session built: the same data, the network
:func:`deepgrad.recipes.initialised_network` makes (its layers written out, its
weights drawn by :func:`deepgrad.recipes.initialise` from the same seed), the
same optimizer and the same ``Classifier.fit`` call.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from deepgrad import nn
from deepgrad.data import Dataset
from deepgrad.playground.config import RunConfig
from deepgrad.playground.data import DATASETS, builtin_name
from deepgrad.recipes import LOSSES, OPTIMIZERS, default_log_every

DATA_FILE = "playground-data.csv"  # what the page's "data CSV" link downloads


def _python(value: Any) -> str:
    """A string or number as Python source, strings in double quotes."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _layer(module: nn.Module) -> str:
    if isinstance(module, nn.Linear):
        return f"nn.Linear({module.in_features}, {module.out_features})"
    if isinstance(module, nn.BatchNorm1d):
        return f"nn.BatchNorm1d({module.num_features})"
    if isinstance(module, nn.Dropout):
        return f"nn.Dropout({module.p!r})"
    return f"nn.{type(module).__name__}()"


def _optimizer_options(config: RunConfig) -> str:
    """make_optimizer's keyword arguments, those that differ from the defaults."""
    options = [f"lr={config.lr!r}"]
    if config.momentum:
        options.append(f"momentum={config.momentum!r}")
    if config.nesterov:
        options.append("nesterov=True")
    if config.weight_decay:
        options.append(f"weight_decay={config.weight_decay!r}")
    return ", ".join(options)


def _data_lines(config: RunConfig, dataset: Dataset) -> tuple[str, str]:
    """(the import, the line that makes ``dataset``)."""
    kind = DATASETS[config.dataset][1]
    if kind == "csv":
        return (
            "from deepgrad.data import load_csv",
            f"dataset = load_csv({_python(config.file)}, target={_python(config.target)})",
        )
    if kind == "custom":
        points = [list(point) for point in config.points]
        return (
            "from deepgrad.playground.data import clicked_points",
            f"dataset = clicked_points({points!r})",
        )
    if kind == "function":
        return (
            "from deepgrad.playground.data import function_boundary",
            f"dataset = function_boundary({_python(config.dataset)}, {config.samples}, "
            f"{config.noise!r}, seed={config.data_seed})",
        )
    if kind == "generated":
        return (
            "from deepgrad.data import load_dataset",
            f"dataset = load_dataset({_python(config.dataset)}, n_samples={config.samples}, "
            f"noise={config.noise!r}, seed={config.data_seed})",
        )
    return "from deepgrad.data import load_dataset", (
        f"dataset = load_dataset({_python(config.dataset)})"
    )


def python_code(
    config: RunConfig,
    dataset: Dataset,
    model: nn.Sequential,
    init: str,
    standardize: bool,
    epochs: int,
) -> str:
    """The run as a script: prints the log, leaves the loss curve in ``history``."""
    data_import, data_line = _data_lines(config, dataset)
    optimizer = OPTIMIZERS[config.optimizer][0]
    loss = LOSSES[_loss(config, dataset)].__name__
    layers = "".join(f"    {_layer(module)},\n" for module in model.children())
    validation = f"    validation={config.test_ratio!r},\n" if config.test_ratio else ""
    penalty = f"    l1={config.l1!r},\n" if config.l1 else ""
    scaling = (
        "    standardizer=Standardizer(),  # fitted on the training split\n"
        if standardize
        else ""
    )
    if dataset.task == "regression":
        scaling += "    target_standardizer=Standardizer(),  # learns targets of mean 0, std 1\n"
    scaling_import = "from deepgrad.data import Standardizer\n" if scaling else ""
    return (
        f"# deepgrad playground: {DATASETS[config.dataset][0]}, {epochs} epochs\n"
        "import deepgrad as dg\n"
        "from deepgrad import nn\n"
        f"{scaling_import}"
        f"{data_import}\n"
        "from deepgrad.recipes import initialise\n"
        "from deepgrad.train import Classifier\n"
        "\n"
        f"{data_line}\n"
        "model = nn.Sequential(\n"
        f"{layers}"
        ")\n"
        f"initialise(model, {_python(init)}, seed={config.seed})  # the page's first weights\n"
        "classifier = Classifier(\n"
        "    model,\n"
        f"    loss_fn=nn.{loss}(),\n"
        f"    optimizer=dg.optim.{optimizer}(model.parameters(), "
        f"{_optimizer_options(config)}),\n"
        f"{scaling}"
        "    class_names=dataset.class_names,\n"
        "    task=dataset.task,\n"
        "    feature_names=dataset.feature_names,\n"
        ")\n"
        "history = classifier.fit(\n"
        "    dataset.X,\n"
        "    dataset.y,\n"
        f"    epochs={epochs},\n"
        f"    batch_size={_python(config.batch_size)},\n"
        f"{validation}"
        f"    seed={config.seed},\n"
        f"    log_every={default_log_every(config.epochs)},\n"
        f"{penalty}"
        ")\n"
        'print(history.history["loss"][-1])\n'
    )


def _loss(config: RunConfig, dataset: Dataset) -> str:
    from deepgrad.recipes import DEFAULT_LOSS

    return config.loss or DEFAULT_LOSS[dataset.task]


def train_command(
    config: RunConfig, dataset: Dataset, init: str, standardize: bool, epochs: int
) -> tuple[str, str | None]:
    """(the ``deepgrad train`` command, the data file it reads or None).

    Built-in sets at the command line's defaults go by name; other data by the
    uploaded file's name, or by :data:`DATA_FILE`, which the page offers.
    """
    name = builtin_name(config, dataset)
    data_file = None
    words = ["deepgrad", "train"]
    if name is not None:
        words.append(name)
    elif DATASETS[config.dataset][1] == "csv":
        words += [str(config.file), "--target", str(config.target)]
    else:
        data_file = DATA_FILE
        words += [DATA_FILE, "--target", "label"]
    words += [
        "--hidden",
        ",".join(map(str, config.hidden)) or "none",
        "--activation",
        config.activation,
        "--loss",
        _loss(config, dataset),
        "--optimizer",
        config.optimizer,
        "--lr",
        repr(config.lr),
    ]
    if config.momentum:
        words += ["--momentum", repr(config.momentum)]
    if config.nesterov:
        words.append("--nesterov")
    if config.weight_decay:
        words += ["--weight-decay", repr(config.weight_decay)]
    if config.l1:
        words += ["--l1", repr(config.l1)]
    words += [
        "--epochs",
        str(epochs),
        "--batch-size",
        str(config.batch_size),
        "--seed",
        str(config.seed),
        "--init",
        init,
        "--standardize" if standardize else "--no-standardize",
    ]
    if config.dropout:
        words += ["--dropout", repr(config.dropout)]
    if config.batchnorm:
        words.append("--batchnorm")
    if config.test_ratio:
        words += ["--val", repr(config.test_ratio)]
    words += ["--log-every", str(default_log_every(config.epochs)), "--out", "model.dg"]
    return " ".join(shlex.quote(word) for word in words), data_file


def code_for(session_view: dict[str, Any]) -> dict[str, Any]:
    """Both forms for a session's run (the keys of ``Session.code_inputs``)."""
    python = python_code(**session_view)
    command, data_file = train_command(
        session_view["config"],
        session_view["dataset"],
        session_view["init"],
        session_view["standardize"],
        session_view["epochs"],
    )
    return {"python": python, "command": command, "data_file": data_file}
