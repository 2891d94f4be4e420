"""deepgrad.optim against torch.optim: trajectories, schedules and checkpoints.

Every optimizer starts from the same float64 parameters as PyTorch's single-tensor
(``foreach=False``) implementation and is fed the same gradients; after every one
of 50 steps the parameters must agree to a relative 1e-8. The absolute slack of
1e-13 only covers coordinates that pass near zero, where a few ulps of rounding
on O(1) terms are a large relative error. Schedulers must give PyTorch's learning
rates to a relative 1e-10 at every step, past the end of their schedules.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepgrad import optim
from deepgrad.tensor import Tensor

torch = pytest.importorskip("torch")

STEPS = 50
RTOL, ATOL = 1e-8, 1e-13
SHAPES = [(5,), (3, 4), ()]


def _initial_arrays(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) for shape in SHAPES]


def _make_pair(
    name: str, arrays: list[np.ndarray], options: dict, groups: list[dict] | None
) -> tuple[list[Tensor], list, optim.Optimizer, torch.optim.Optimizer]:
    """The same optimizer over the same parameters in deepgrad and in torch.

    ``groups`` lists each group's parameter indices and options; None puts all
    parameters in one plain list.
    """
    ours = [Tensor(array.copy(), requires_grad=True) for array in arrays]
    theirs = [torch.tensor(array.copy(), requires_grad=True) for array in arrays]
    our_optimizer = getattr(optim, name)(_param_groups(ours, groups), **options)
    their_optimizer = getattr(torch.optim, name)(
        _param_groups(theirs, groups), foreach=False, **options
    )
    return ours, theirs, our_optimizer, their_optimizer


def _param_groups(tensors: list, groups: list[dict] | None) -> list:
    """``groups`` with each parameter index replaced by its tensor."""
    if groups is None:
        return list(tensors)
    return [
        {**group, "params": [tensors[index] for index in group["params"]]}
        for group in groups
    ]


def _feed_gradients(
    rng: np.random.Generator, ours: list[Tensor], theirs: list, skip: int | None = None
) -> None:
    """Noisy gradients of 0.5 * |theta|^2, computed once and given to both sides."""
    for index, (our_param, their_param) in enumerate(zip(ours, theirs, strict=True)):
        if index == skip:
            our_param.grad, their_param.grad = None, None
            continue
        grad = our_param.array + rng.normal(size=our_param.array.shape)
        our_param.grad = Tensor(grad.copy())
        their_param.grad = torch.tensor(grad.copy())


def _assert_same_params(ours: list[Tensor], theirs: list, step: int) -> None:
    for index, (our_param, their_param) in enumerate(zip(ours, theirs, strict=True)):
        np.testing.assert_allclose(
            our_param.array,
            their_param.detach().numpy(),
            rtol=RTOL,
            atol=ATOL,
            err_msg=f"parameter {index} after step {step}",
        )


def _run_and_compare(
    name: str,
    options: dict,
    groups: list[dict] | None = None,
    steps: int = STEPS,
    skip_every: int | None = None,
) -> None:
    ours, theirs, our_optimizer, their_optimizer = _make_pair(
        name, _initial_arrays(), options, groups
    )
    rng = np.random.default_rng(1)
    for step in range(1, steps + 1):
        # every few steps one parameter gets no gradient and must be skipped
        skip = step % len(ours) if skip_every and step % skip_every == 0 else None
        _feed_gradients(rng, ours, theirs, skip=skip)
        our_optimizer.step()
        their_optimizer.step()
        _assert_same_params(ours, theirs, step)


SGD_OPTIONS = [
    {"lr": 0.1},
    {"lr": 0.1, "momentum": 0.9},
    {"lr": 0.1, "momentum": 0.9, "dampening": 0.5},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.1},
    {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    {"lr": 0.01, "momentum": 0.9, "dampening": 0.1, "maximize": True},
    {"lr": 0.1, "weight_decay": 0.2, "maximize": True},
]
ADAM_OPTIONS = [
    {"lr": 0.05},
    {"lr": 0.05, "amsgrad": True},
    {"lr": 0.05, "weight_decay": 0.1},
    {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True},
    {"lr": 0.02, "betas": (0.5, 0.9), "eps": 1e-6, "maximize": True},
    {
        "lr": 0.02,
        "betas": (0.8, 0.99),
        "weight_decay": 0.05,
        "amsgrad": True,
        "maximize": True,
    },
]
ADAMW_OPTIONS = [
    {"lr": 0.05},
    {"lr": 0.05, "amsgrad": True},
    {"lr": 0.05, "weight_decay": 0.3},
    {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True, "maximize": True},
    {"lr": 0.02, "betas": (0.5, 0.9), "weight_decay": 0.0},
]
RMSPROP_OPTIONS = [
    {"lr": 0.01},
    {"lr": 0.01, "centered": True},
    {"lr": 0.01, "momentum": 0.9},
    {"lr": 0.01, "centered": True, "momentum": 0.9},
    {"lr": 0.01, "alpha": 0.9, "weight_decay": 0.1, "eps": 1e-6},
    {
        "lr": 0.005,
        "centered": True,
        "momentum": 0.5,
        "weight_decay": 0.1,
        "maximize": True,
    },
]
ADAGRAD_OPTIONS = [
    {"lr": 0.1},
    {"lr": 0.1, "lr_decay": 0.01},
    {"lr": 0.1, "initial_accumulator_value": 0.1},
    {"lr": 0.1, "lr_decay": 0.05, "initial_accumulator_value": 0.5},
    {"lr": 0.1, "weight_decay": 0.1, "eps": 1e-6},
    {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "maximize": True},
]
ALL_CASES = (
    [("SGD", options) for options in SGD_OPTIONS]
    + [("Adam", options) for options in ADAM_OPTIONS]
    + [("AdamW", options) for options in ADAMW_OPTIONS]
    + [("RMSprop", options) for options in RMSPROP_OPTIONS]
    + [("Adagrad", options) for options in ADAGRAD_OPTIONS]
)


def _case_id(case: tuple[str, dict]) -> str:
    name, options = case
    return name + "-" + "-".join(f"{key}={value}" for key, value in options.items())


@pytest.mark.parametrize("case", ALL_CASES, ids=_case_id)
def test_trajectory_matches_torch_after_every_step(case):
    """50 steps on a vector, a matrix and a scalar stay within 1e-8 of PyTorch."""
    name, options = case
    _run_and_compare(name, options)


@pytest.mark.parametrize("case", ALL_CASES, ids=_case_id)
def test_params_without_grad_are_skipped_like_torch(case):
    """A parameter whose .grad is None some steps is left alone, state included."""
    name, options = case
    _run_and_compare(name, options, skip_every=3)


TWO_GROUPS = {
    "SGD": [
        {"params": [0], "lr": 0.05, "momentum": 0.9, "nesterov": True},
        {"params": [1, 2], "weight_decay": 0.1, "dampening": 0.3, "momentum": 0.5},
    ],
    "Adam": [
        {"params": [0, 2], "lr": 0.01, "amsgrad": True},
        {"params": [1], "betas": (0.8, 0.95), "weight_decay": 0.1},
    ],
    "AdamW": [
        {"params": [1], "lr": 0.01, "weight_decay": 0.5},
        {"params": [0, 2], "amsgrad": True},
    ],
    "RMSprop": [
        {"params": [0], "centered": True, "momentum": 0.9},
        {"params": [1, 2], "lr": 0.003, "alpha": 0.9},
    ],
    "Adagrad": [
        {"params": [2, 0], "lr": 0.05, "lr_decay": 0.1},
        {"params": [1], "weight_decay": 0.2},
    ],
}
GROUP_DEFAULTS = {
    "SGD": {"lr": 0.1},
    "Adam": {"lr": 0.05},
    "AdamW": {"lr": 0.05},
    "RMSprop": {"lr": 0.01},
    "Adagrad": {"lr": 0.1, "initial_accumulator_value": 0.1},
}


@pytest.mark.parametrize("name", sorted(TWO_GROUPS))
def test_two_param_groups_with_own_options_match_torch(name):
    """Per-group options override the defaults exactly as in PyTorch."""
    _run_and_compare(name, GROUP_DEFAULTS[name], groups=TWO_GROUPS[name])


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), max_size=3).map(tuple),
    lr=st.floats(1e-4, 0.5),
    momentum=st.sampled_from([0.0, 0.5, 0.9, 0.99]),
    dampening=st.sampled_from([0.0, 0.1, 0.9]),
    weight_decay=st.sampled_from([0.0, 1e-3, 0.5]),
    maximize=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_sgd_matches_torch_for_drawn_options(
    shape, lr, momentum, dampening, weight_decay, maximize, seed
):
    """SGD matches PyTorch for any shape, lr and momentum hypothesis draws."""
    rng = np.random.default_rng(seed)
    array = rng.normal(size=shape)
    ours = [Tensor(array.copy(), requires_grad=True)]
    theirs = [torch.tensor(array.copy(), requires_grad=True)]
    options = {
        "lr": lr,
        "momentum": momentum,
        "dampening": dampening,
        "weight_decay": weight_decay,
        "maximize": maximize,
    }
    our_optimizer = optim.SGD(ours, **options)
    their_optimizer = torch.optim.SGD(theirs, foreach=False, **options)
    for step in range(1, 21):
        _feed_gradients(rng, ours, theirs)
        our_optimizer.step()
        their_optimizer.step()
        _assert_same_params(ours, theirs, step)


def test_lr_changed_by_a_scheduler_is_used_at_the_next_step():
    """Adam under CosineAnnealingLR follows PyTorch: lr is read at every step."""
    ours, theirs, our_optimizer, their_optimizer = _make_pair(
        "Adam", _initial_arrays(), {"lr": 0.1}, None
    )
    our_scheduler = optim.lr_scheduler.CosineAnnealingLR(our_optimizer, T_max=10)
    their_scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        their_optimizer, T_max=10
    )
    rng = np.random.default_rng(2)
    for step in range(1, STEPS + 1):
        _feed_gradients(rng, ours, theirs)
        our_optimizer.step()
        their_optimizer.step()
        our_scheduler.step()
        their_scheduler.step()
        _assert_same_params(ours, theirs, step)


# -- checkpoints -----------------------------------------------------------------------
CHECKPOINT_CASES = [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.9}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "initial_accumulator_value": 0.1}),
]


@pytest.mark.parametrize("case", CHECKPOINT_CASES, ids=_case_id)
def test_state_dict_round_trip_continues_the_same_trajectory(case):
    """Saving mid-run and loading into a fresh optimizer changes nothing afterwards."""
    name, options = case
    groups = TWO_GROUPS[name]
    arrays = _initial_arrays()
    ours, _, our_optimizer, _ = _make_pair(name, arrays, options, groups)
    rng = np.random.default_rng(3)
    gradients = [[rng.normal(size=shape) for shape in SHAPES] for _ in range(STEPS)]

    def run(params, optimizer, steps):
        for step_gradients in steps:
            for param, grad in zip(params, step_gradients, strict=True):
                param.grad = Tensor(grad.copy())
            optimizer.step()

    run(ours, our_optimizer, gradients[:20])
    saved = copy.deepcopy(our_optimizer.state_dict())
    resumed = [Tensor(param.array.copy(), requires_grad=True) for param in ours]
    resumed_optimizer = getattr(optim, name)(_param_groups(resumed, groups), **options)
    resumed_optimizer.load_state_dict(saved)

    run(ours, our_optimizer, gradients[20:])
    run(resumed, resumed_optimizer, gradients[20:])
    for uninterrupted, restarted in zip(ours, resumed, strict=True):
        np.testing.assert_array_equal(restarted.array, uninterrupted.array)
    assert (
        resumed_optimizer.param_groups[1]["lr"] == our_optimizer.param_groups[1]["lr"]
    )


@pytest.mark.parametrize("case", CHECKPOINT_CASES, ids=_case_id)
def test_state_dict_has_torchs_layout(case):
    """Same state keys, param indices and group options as torch's state_dict."""
    name, options = case
    ours, theirs, our_optimizer, their_optimizer = _make_pair(
        name, _initial_arrays(), options, TWO_GROUPS[name]
    )
    rng = np.random.default_rng(4)
    for _ in range(3):
        _feed_gradients(rng, ours, theirs)
        our_optimizer.step()
        their_optimizer.step()
    our_state, their_state = our_optimizer.state_dict(), their_optimizer.state_dict()

    assert our_state["state"].keys() == their_state["state"].keys()
    for index, their_param_state in their_state["state"].items():
        our_param_state = our_state["state"][index]
        assert our_param_state.keys() == their_param_state.keys()
        for key, their_value in their_param_state.items():
            np.testing.assert_allclose(
                our_param_state[key], np.asarray(their_value), rtol=RTOL, atol=ATOL
            )
    for our_group, their_group in zip(
        our_state["param_groups"], their_state["param_groups"], strict=True
    ):
        for key, value in our_group.items():
            assert value == their_group[key], key


@pytest.mark.parametrize("case", CHECKPOINT_CASES, ids=_case_id)
def test_loading_torchs_state_dict_continues_torchs_trajectory(case):
    """A torch checkpoint (tensors and all) loads into deepgrad and resumes exactly."""
    name, options = case
    arrays = _initial_arrays()
    _, theirs, _, their_optimizer = _make_pair(name, arrays, options, TWO_GROUPS[name])
    rng = np.random.default_rng(5)
    placeholders = [Tensor(array.copy()) for array in arrays]
    for _ in range(10):
        _feed_gradients(rng, placeholders, theirs)
        their_optimizer.step()

    ours = [
        Tensor(param.detach().numpy().copy(), requires_grad=True) for param in theirs
    ]
    our_optimizer = getattr(optim, name)(
        _param_groups(ours, TWO_GROUPS[name]), **options
    )
    our_optimizer.load_state_dict(their_optimizer.state_dict())
    for step in range(11, 11 + STEPS):
        _feed_gradients(rng, ours, theirs)
        our_optimizer.step()
        their_optimizer.step()
        _assert_same_params(ours, theirs, step)


# -- schedulers ------------------------------------------------------------------------
SCHEDULER_STEPS = 60
SCHEDULERS = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("StepLR", {"step_size": 1}),
    ("MultiStepLR", {"milestones": [5, 5, 20, 33], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.93}),
    ("CosineAnnealingLR", {"T_max": 15, "eta_min": 0.001}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("CosineAnnealingLR", {"T_max": 1, "eta_min": 0.01}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 0.9, "total_iters": 20}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.05, "total_iters": 30}),
]


def _scheduled_pair(specs: list[tuple[str, dict]], last_epoch_resume: bool = False):
    our_params = [Tensor(np.zeros(2), requires_grad=True), Tensor(np.zeros(3))]
    their_params = [torch.zeros(2, requires_grad=True), torch.zeros(3)]
    our_optimizer = optim.SGD(
        [{"params": [our_params[0]]}, {"params": [our_params[1]], "lr": 0.03}], lr=0.1
    )
    their_optimizer = torch.optim.SGD(
        [{"params": [their_params[0]]}, {"params": [their_params[1]], "lr": 0.03}],
        lr=0.1,
    )
    ours = [getattr(optim.lr_scheduler, n)(our_optimizer, **o) for n, o in specs]
    theirs = [
        getattr(torch.optim.lr_scheduler, n)(their_optimizer, **o) for n, o in specs
    ]
    return our_optimizer, their_optimizer, ours, theirs


def _assert_same_lrs(our_optimizer, their_optimizer, ours, theirs, step):
    for our_scheduler, their_scheduler in zip(ours, theirs, strict=True):
        assert our_scheduler.get_last_lr() == pytest.approx(
            their_scheduler.get_last_lr(), rel=1e-10, abs=0
        ), f"step {step}"
    assert [g["lr"] for g in our_optimizer.param_groups] == pytest.approx(
        [g["lr"] for g in their_optimizer.param_groups], rel=1e-10, abs=0
    ), f"step {step}"


def _step_all(our_optimizer, their_optimizer, ours, theirs, steps, start=1):
    for step in range(start, start + steps):
        our_optimizer.step()
        their_optimizer.step()
        for scheduler in [*ours, *theirs]:
            scheduler.step()
        _assert_same_lrs(our_optimizer, their_optimizer, ours, theirs, step)


@pytest.mark.parametrize("spec", SCHEDULERS, ids=_case_id)
def test_scheduler_lrs_match_torch_every_step(spec):
    """60 steps (past T_max, total_iters and every milestone) give PyTorch's lrs."""
    pair = _scheduled_pair([spec])
    _assert_same_lrs(*pair, step=0)
    _step_all(*pair, steps=SCHEDULER_STEPS)


def test_chained_schedulers_compose_like_torch():
    """Two schedulers on one optimizer multiply their effects, as PyTorch's do."""
    pair = _scheduled_pair(
        [
            ("ExponentialLR", {"gamma": 0.95}),
            ("MultiStepLR", {"milestones": [10, 30]}),
            ("CosineAnnealingLR", {"T_max": 12}),
        ]
    )
    _step_all(*pair, steps=SCHEDULER_STEPS)


@pytest.mark.parametrize("load_scheduler_state", [True, False])
@pytest.mark.parametrize("spec", SCHEDULERS, ids=_case_id)
def test_scheduler_state_dict_resumes_like_torch(spec, load_scheduler_state):
    """Rebuilt with last_epoch (and its state_dict, or not) a schedule goes on as
    PyTorch's; without the state, CosineAnnealingLR restarts from its closed form."""
    our_optimizer, their_optimizer, ours, theirs = _scheduled_pair([spec])
    _step_all(our_optimizer, their_optimizer, ours, theirs, steps=20)
    our_saved = copy.deepcopy((our_optimizer.state_dict(), ours[0].state_dict()))
    their_saved = copy.deepcopy((their_optimizer.state_dict(), theirs[0].state_dict()))

    fresh_ours, fresh_theirs = _scheduled_pair([])[:2]
    fresh_ours.load_state_dict(our_saved[0])
    fresh_theirs.load_state_dict(their_saved[0])
    name, options = spec
    resumed_ours = getattr(optim.lr_scheduler, name)(
        fresh_ours, **options, last_epoch=19
    )
    resumed_theirs = getattr(torch.optim.lr_scheduler, name)(
        fresh_theirs, **options, last_epoch=19
    )
    if load_scheduler_state:
        resumed_ours.load_state_dict(our_saved[1])
        resumed_theirs.load_state_dict(their_saved[1])
    _step_all(
        fresh_ours, fresh_theirs, [resumed_ours], [resumed_theirs], steps=40, start=21
    )


def test_cosine_resumed_from_only_last_epoch_recurses_from_the_current_lr():
    """With last_epoch=19 on an optimizer still at its base lr, the schedule
    recurses from that lr exactly as PyTorch 2.13's does (its closed-form branch
    for this case is unreachable: _step_count is already 2 by the first step)."""
    our_optimizer, their_optimizer, _, _ = _scheduled_pair([])
    for optimizer in (our_optimizer, their_optimizer):
        for group in optimizer.param_groups:
            group["initial_lr"] = group["lr"]
    options = {"T_max": 15, "eta_min": 0.001, "last_epoch": 19}
    ours = optim.lr_scheduler.CosineAnnealingLR(our_optimizer, **options)
    theirs = torch.optim.lr_scheduler.CosineAnnealingLR(their_optimizer, **options)
    _step_all(our_optimizer, their_optimizer, [ours], [theirs], steps=40, start=21)


# A validation loss that improves, stalls, creeps by less than the threshold and
# drops again: (value, epochs) segments, 61 epochs in all.
_PLATEAU_SEGMENTS = [
    (1.0, 1),
    (0.9, 1),
    (0.8, 5),
    (0.79995, 1),
    (0.7, 4),
    (0.69, 6),
    (0.5, 2),
    (0.5, 8),
    (0.49, 10),
    (0.3, 3),
    (0.29999, 20),
]
PLATEAU_METRICS = [value for value, epochs in _PLATEAU_SEGMENTS for _ in range(epochs)]


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize(
    ("threshold_mode", "threshold"), [("rel", 1e-4), ("rel", 0.05), ("abs", 0.01)]
)
@pytest.mark.parametrize(
    "options",
    [
        {"patience": 2},
        {"patience": 1, "cooldown": 3, "factor": 0.5},
        {"patience": 0, "cooldown": 2, "factor": 0.5, "min_lr": [0.01, 0.001]},
        {"patience": 0, "factor": 0.9, "min_lr": 0.02, "eps": 1e-3},
    ],
    ids=["patience", "cooldown", "min_lr-list", "min_lr-eps"],
)
def test_reduce_lr_on_plateau_matches_torch(mode, threshold_mode, threshold, options):
    """Plateaus, sub-threshold changes, cooldown and min_lr give PyTorch's lrs."""
    our_optimizer, their_optimizer, _, _ = _scheduled_pair([])
    kwargs = {
        "mode": mode,
        "threshold_mode": threshold_mode,
        "threshold": threshold,
        **options,
    }
    ours = optim.lr_scheduler.ReduceLROnPlateau(our_optimizer, **kwargs)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(their_optimizer, **kwargs)
    for step, loss in enumerate(PLATEAU_METRICS, start=1):
        metric = loss if mode == "min" else 2.0 - loss  # "max": an accuracy-like rise
        ours.step(metric)
        theirs.step(metric)
        _assert_same_lrs(our_optimizer, their_optimizer, [ours], [theirs], step)
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter) == (
            theirs.best,
            theirs.num_bad_epochs,
            theirs.cooldown_counter,
        ), f"step {step}"
    assert ours.get_last_lr() != [0.1, 0.03], "the metric sequence never plateaued"
