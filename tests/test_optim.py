"""deepgrad.optim on its own: errors, zero_grad, skipped parameters, state, checkpoints.

The numbers themselves are checked against PyTorch in tests/oracle/test_optim_oracle.py.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from deepgrad import optim
from deepgrad.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from deepgrad.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    ReduceLROnPlateau,
    StepLR,
)
from deepgrad.tensor import Tensor, no_grad

ALL_OPTIMIZERS = [SGD, Adam, AdamW, RMSprop, Adagrad]


def _param(values=(1.0, -2.0, 3.0), dtype=np.float64) -> Tensor:
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def _with_grad(param: Tensor, grad=None) -> Tensor:
    grad = np.ones_like(param.array) if grad is None else np.asarray(grad)
    param.grad = Tensor(grad.astype(param.array.dtype))
    return param


# -- constructor errors -----------------------------------------------------------
@pytest.mark.parametrize("optimizer_class", ALL_OPTIMIZERS)
def test_empty_parameter_list_is_rejected(optimizer_class):
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optimizer_class([])


@pytest.mark.parametrize("optimizer_class", ALL_OPTIMIZERS)
def test_negative_lr_is_rejected_naming_the_value(optimizer_class):
    with pytest.raises(ValueError, match=r"Invalid learning rate: -0\.1"):
        optimizer_class([_param()], lr=-0.1)


@pytest.mark.parametrize("optimizer_class", ALL_OPTIMIZERS)
def test_negative_weight_decay_is_rejected_naming_the_value(optimizer_class):
    with pytest.raises(ValueError, match=r"Invalid weight_decay value: -0\.01"):
        optimizer_class([_param()], weight_decay=-0.01)


@pytest.mark.parametrize("optimizer_class", [Adam, AdamW, RMSprop, Adagrad])
def test_negative_eps_is_rejected_naming_the_value(optimizer_class):
    with pytest.raises(ValueError, match=r"Invalid epsilon value: -1e-08"):
        optimizer_class([_param()], eps=-1e-8)


@pytest.mark.parametrize("optimizer_class", [SGD, RMSprop])
def test_negative_momentum_is_rejected_naming_the_value(optimizer_class):
    with pytest.raises(ValueError, match=r"Invalid momentum value: -0\.9"):
        optimizer_class([_param()], momentum=-0.9)


@pytest.mark.parametrize("optimizer_class", [Adam, AdamW])
@pytest.mark.parametrize(
    ("betas", "message"),
    [
        ((1.0, 0.999), r"Invalid beta parameter at index 0: 1\.0"),
        ((-0.1, 0.999), r"Invalid beta parameter at index 0: -0\.1"),
        ((0.9, 1.5), r"Invalid beta parameter at index 1: 1\.5"),
        ((0.9,), r"Expected betas to be a pair \(beta1, beta2\), received: \(0\.9,\)"),
    ],
)
def test_betas_outside_zero_one_are_rejected(optimizer_class, betas, message):
    with pytest.raises(ValueError, match=message):
        optimizer_class([_param()], betas=betas)


@pytest.mark.parametrize(
    ("optimizer_class", "option", "message"),
    [
        (RMSprop, "alpha", r"Invalid alpha value: -0\.5"),
        (Adagrad, "lr_decay", r"Invalid lr_decay value: -0\.5"),
        (
            Adagrad,
            "initial_accumulator_value",
            r"Invalid initial_accumulator_value value: -0\.5",
        ),
    ],
)
def test_other_negative_options_are_rejected(optimizer_class, option, message):
    with pytest.raises(ValueError, match=message):
        optimizer_class([_param()], **{option: -0.5})


def test_nan_lr_is_rejected():
    with pytest.raises(ValueError, match="Invalid learning rate: nan"):
        SGD([_param()], lr=float("nan"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"nesterov": True}, r"received: momentum=0, dampening=0"),
        (
            {"nesterov": True, "momentum": 0.9, "dampening": 0.1},
            r"received: momentum=0\.9, dampening=0\.1",
        ),
    ],
    ids=["without-momentum", "with-dampening"],
)
def test_nesterov_needs_momentum_and_no_dampening(options, message):
    with pytest.raises(
        ValueError, match="Nesterov momentum requires a momentum and zero dampening"
    ):
        SGD([_param()], **options)
    with pytest.raises(ValueError, match=message):
        SGD([_param()], **options)


def test_invalid_option_in_a_param_group_is_rejected():
    """Per-group options are validated too, not only the defaults."""
    with pytest.raises(ValueError, match=r"Invalid learning rate: -1"):
        SGD([{"params": [_param()]}, {"params": [_param()], "lr": -1}], lr=0.1)


def test_nesterov_default_with_dampening_group_is_rejected():
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        SGD(
            [{"params": [_param()], "dampening": 0.5}],
            lr=0.1,
            momentum=0.9,
            nesterov=True,
        )


def test_non_tensor_parameter_is_rejected_naming_its_type():
    with pytest.raises(
        TypeError,
        match="optimizer can only optimize Tensors, but one of the params is ndarray",
    ):
        SGD([_param(), np.zeros(3)], lr=0.1)


def test_single_tensor_instead_of_iterable_is_rejected():
    with pytest.raises(TypeError, match=r"wrap it in a list, \[tensor\]"):
        SGD(_param(), lr=0.1)


def test_set_of_parameters_is_rejected_for_its_unstable_order():
    """A set would match state to parameters differently from run to run."""
    with pytest.raises(TypeError, match="ordered collections"):
        SGD({_param(), _param()}, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        SGD([{"params": {_param(), _param()}}], lr=0.1)


def test_non_leaf_tensor_is_rejected():
    leaf = _param()
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        SGD([leaf * 2.0], lr=0.1)


def test_parameter_in_two_groups_is_rejected_naming_the_group():
    shared = _param()
    with pytest.raises(
        ValueError,
        match=r"some parameters appear in more than one parameter group: parameter 1 "
        r"of the new group \(shape \(3,\)\) is already in group 0",
    ):
        Adam([{"params": [shared]}, {"params": [_param(), shared]}])


def test_add_param_group_rejects_a_parameter_already_optimised():
    param = _param()
    optimizer = SGD([param], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optimizer.add_param_group({"params": [param]})


def test_duplicate_parameter_in_one_group_warns():
    param = _param()
    with pytest.warns(UserWarning, match="duplicate parameters"):
        SGD([param, param], lr=0.1)


# -- parameter groups -------------------------------------------------------------
def test_param_groups_take_defaults_for_options_they_do_not_set():
    first, second = _param(), _param()
    optimizer = Adam([{"params": [first]}, {"params": second, "lr": 0.5}], lr=0.01)
    assert optimizer.param_groups[0]["lr"] == 0.01
    assert optimizer.param_groups[1]["lr"] == 0.5
    assert optimizer.param_groups[1]["params"] == [second]
    assert optimizer.param_groups[1]["betas"] == (0.9, 0.999)


def test_add_param_group_fills_defaults_and_is_stepped():
    first, added = _param(), _param()
    optimizer = SGD([first], lr=0.1, momentum=0.9)
    optimizer.add_param_group({"params": [added], "lr": 1.0})
    _with_grad(added)
    optimizer.step()
    assert optimizer.param_groups[1]["momentum"] == 0.9
    np.testing.assert_allclose(added.array, [0.0, -3.0, 2.0])


def test_pytorch_default_hyper_parameters():
    """The defaults are torch 2.x's: SGD lr 1e-3, AdamW weight_decay 1e-2, ..."""
    defaults = {
        SGD: {"lr": 1e-3, "momentum": 0, "dampening": 0, "weight_decay": 0},
        Adam: {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0},
        AdamW: {"lr": 1e-3, "eps": 1e-8, "weight_decay": 1e-2},
        RMSprop: {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "momentum": 0},
        Adagrad: {"lr": 1e-2, "lr_decay": 0, "eps": 1e-10},
    }
    for optimizer_class, expected in defaults.items():
        group = optimizer_class([_param()]).param_groups[0]
        assert {key: group[key] for key in expected} == expected, optimizer_class


# -- zero_grad and skipped parameters -----------------------------------------------
def test_zero_grad_sets_grads_to_none_by_default():
    params = [_with_grad(_param()), _with_grad(_param())]
    optimizer = SGD(params, lr=0.1)
    optimizer.zero_grad()
    assert all(param.grad is None for param in params)


def test_zero_grad_without_set_to_none_zeros_the_same_array():
    param = _with_grad(_param(dtype=np.float32), [1.0, 2.0, 3.0])
    grad_array = param.grad.array
    SGD([param], lr=0.1).zero_grad(set_to_none=False)
    assert param.grad.array is grad_array
    assert param.grad.array.dtype == np.float32
    np.testing.assert_array_equal(param.grad.array, [0.0, 0.0, 0.0])


def test_zero_grad_leaves_params_without_grad_as_none():
    param = _param()
    SGD([param], lr=0.1).zero_grad(set_to_none=False)
    assert param.grad is None


@pytest.mark.parametrize("optimizer_class", ALL_OPTIMIZERS)
def test_params_without_grad_are_not_updated(optimizer_class):
    with_grad, without_grad = _with_grad(_param()), _param()
    optimizer = optimizer_class([with_grad, without_grad], lr=0.1, weight_decay=0.1)
    for _ in range(3):
        optimizer.step()
    np.testing.assert_array_equal(without_grad.array, [1.0, -2.0, 3.0])
    assert not np.array_equal(with_grad.array, [1.0, -2.0, 3.0])


@pytest.mark.parametrize("optimizer_class", [SGD, Adam, AdamW, RMSprop])
def test_state_is_created_lazily_on_the_first_step_with_a_grad(optimizer_class):
    with_grad, without_grad = _with_grad(_param()), _param()
    options = {"momentum": 0.9} if optimizer_class in (SGD, RMSprop) else {}
    optimizer = optimizer_class([with_grad, without_grad], **options)
    assert len(optimizer.state) == 0
    optimizer.step()
    assert with_grad in optimizer.state
    assert without_grad not in optimizer.state


def test_adagrad_creates_its_state_with_the_optimizer_like_torch():
    """Adagrad's sum starts at initial_accumulator_value before any step; a
    parameter with no grad keeps step 0."""
    with_grad, without_grad = _with_grad(_param()), _param()
    optimizer = Adagrad([with_grad, without_grad], initial_accumulator_value=0.25)
    np.testing.assert_array_equal(optimizer.state[without_grad]["sum"], [0.25] * 3)
    optimizer.step()
    assert optimizer.state[with_grad]["step"] == 1.0
    assert optimizer.state[without_grad]["step"] == 0.0


def test_zero_grad_differs_from_no_grad_under_weight_decay():
    """A zero gradient still decays the weight; a None gradient skips it."""
    zeroed, skipped = _with_grad(_param()), _with_grad(_param())
    optimizer = SGD([zeroed, skipped], lr=0.1, weight_decay=0.5)
    zeroed.grad.array[...] = 0
    skipped.grad = None
    optimizer.step()
    np.testing.assert_allclose(zeroed.array, [0.95, -1.9, 2.85])
    np.testing.assert_array_equal(skipped.array, [1.0, -2.0, 3.0])


# -- in-place updates and dtypes ----------------------------------------------------
@pytest.mark.parametrize("optimizer_class", ALL_OPTIMIZERS)
def test_float32_params_and_state_stay_float32_and_are_updated_in_place(
    optimizer_class,
):
    param = _with_grad(_param(dtype=np.float32), [0.5, -0.5, 1.0])
    array = param.array
    options = {"momentum": 0.9} if optimizer_class in (SGD, RMSprop) else {}
    optimizer = optimizer_class([param], lr=0.1, **options)
    optimizer.step()
    optimizer.step()
    assert param.array is array
    assert param.array.dtype == np.float32
    for name, value in optimizer.state[param].items():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32, name
    assert isinstance(optimizer.state[param].get("step", 0.0), float)


def test_zero_dim_parameter_keeps_its_momentum_buffer():
    """A scalar parameter's momentum buffer is an array updated in place."""
    scalar = Tensor(np.array(1.0), requires_grad=True)
    optimizer = SGD([scalar], lr=0.1, momentum=0.5)
    for _ in range(2):
        _with_grad(scalar, 1.0)
        optimizer.step()
    assert optimizer.state[scalar]["momentum_buffer"] == 1.5  # 0.5 * 1 + 1
    assert scalar.array == pytest.approx(1.0 - 0.1 - 0.15)


def test_step_reads_lr_from_the_group_every_time():
    param = _param()
    optimizer = SGD([param], lr=0.1)
    _with_grad(param)
    optimizer.step()
    optimizer.param_groups[0]["lr"] = 1.0
    optimizer.step()
    np.testing.assert_allclose(param.array, [1.0 - 1.1, -2.0 - 1.1, 3.0 - 1.1])


def test_step_calls_the_closure_with_grad_enabled_and_returns_its_loss():
    param = _param()
    optimizer = SGD([param], lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = (param * param).sum()
        loss.backward()
        return loss

    with no_grad():
        loss = optimizer.step(closure)
    assert float(loss.array) == 14.0
    np.testing.assert_allclose(param.array, [0.8, -1.6, 2.4])


def test_base_optimizer_step_must_be_implemented():
    with pytest.raises(NotImplementedError):
        Optimizer([_with_grad(_param())], {"lr": 0.1}).step()


def test_repr_lists_each_group_options():
    text = repr(SGD([_param()], lr=0.1))
    assert text.startswith("SGD (\nParameter Group 0\n")
    assert "    lr: 0.1\n" in text


# -- state_dict ---------------------------------------------------------------------
def test_state_dict_replaces_params_with_indices_across_groups():
    first, second, third = (_with_grad(_param()) for _ in range(3))
    optimizer = Adam([{"params": [first, second]}, {"params": [third], "lr": 0.1}])
    optimizer.step()
    state = optimizer.state_dict()
    assert [group["params"] for group in state["param_groups"]] == [[0, 1], [2]]
    assert sorted(state["state"]) == [0, 1, 2]
    assert state["state"][2]["step"] == 1.0
    assert state["state"][2]["exp_avg"] is optimizer.state[third]["exp_avg"]
    assert state["param_groups"][1]["lr"] == 0.1


def test_load_state_dict_copies_arrays_and_casts_them_to_the_param_dtype():
    saved_param = _with_grad(_param())
    saved = SGD([saved_param], lr=0.1, momentum=0.9)
    saved.step()
    state = saved.state_dict()

    param = _param(dtype=np.float32)
    optimizer = SGD([param], lr=0.5, momentum=0.9)
    optimizer.load_state_dict(state)
    buffer = optimizer.state[param]["momentum_buffer"]
    assert buffer.dtype == np.float32
    assert buffer is not state["state"][0]["momentum_buffer"]
    assert optimizer.param_groups[0]["lr"] == 0.1
    assert optimizer.param_groups[0]["params"] == [param]


def test_loaded_param_groups_do_not_alias_the_saved_dict():
    optimizer = SGD([_param()], lr=0.1)
    state = copy.deepcopy(optimizer.state_dict())
    optimizer.load_state_dict(state)
    optimizer.param_groups[0]["lr"] = 5.0
    assert state["param_groups"][0]["lr"] == 0.1


def test_load_state_dict_with_wrong_number_of_groups_is_rejected():
    state = SGD([_param()], lr=0.1).state_dict()
    optimizer = SGD([{"params": [_param()]}, {"params": [_param()]}], lr=0.1)
    with pytest.raises(
        ValueError,
        match="different number of parameter groups: 1 saved, 2 in this optimizer",
    ):
        optimizer.load_state_dict(state)


def test_load_state_dict_with_wrong_group_size_is_rejected():
    state = SGD([_param(), _param()], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="group 0 has 2 saved and 1 here"):
        SGD([_param()], lr=0.1).load_state_dict(state)


def test_load_state_dict_with_unknown_state_index_is_rejected():
    state = SGD([_param()], lr=0.1).state_dict()
    state["state"][7] = {"momentum_buffer": np.zeros(3)}
    with pytest.raises(ValueError, match="state for parameter index 7"):
        SGD([_param()], lr=0.1).load_state_dict(state)


def test_adamw_stays_decoupled_after_loading_an_adam_checkpoint():
    state = Adam([_param()], weight_decay=0.1).state_dict()
    optimizer = AdamW([_param()])
    optimizer.load_state_dict(state)
    assert optimizer.param_groups[0]["decoupled_weight_decay"] is True


# -- schedulers ---------------------------------------------------------------------
def _sgd(lr: float = 0.1) -> SGD:
    return SGD([_param()], lr=lr)


def test_scheduler_sets_initial_lr_and_base_lrs():
    optimizer = SGD([{"params": [_param()]}, {"params": [_param()], "lr": 0.5}], lr=0.1)
    scheduler = StepLR(optimizer, step_size=2)
    assert [group["initial_lr"] for group in optimizer.param_groups] == [0.1, 0.5]
    assert scheduler.base_lrs == [0.1, 0.5]
    assert scheduler.last_epoch == 0
    assert scheduler.get_last_lr() == [0.1, 0.5]


def test_scheduler_rejects_something_that_is_not_an_optimizer():
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        StepLR([_param()], step_size=1)


def test_resuming_a_scheduler_without_initial_lr_is_rejected():
    with pytest.raises(
        KeyError,
        match=r"initial_lr' is not specified in "
        r"param_groups\[0\]",
    ):
        ExponentialLR(_sgd(), gamma=0.9, last_epoch=3)


def test_scheduler_stepped_before_the_optimizer_warns():
    scheduler = StepLR(_sgd(), step_size=1)
    with pytest.warns(UserWarning, match=r"lr_scheduler.step\(\)` before"):
        scheduler.step()


def test_scheduler_state_dict_round_trip_restores_the_schedule():
    optimizer = _sgd()
    scheduler = ExponentialLR(optimizer, gamma=0.5)
    optimizer.step()
    for _ in range(3):
        scheduler.step()
    state = scheduler.state_dict()
    assert "optimizer" not in state

    restored = ExponentialLR(_sgd(), gamma=0.9)
    restored.load_state_dict(state)
    assert restored.gamma == 0.5
    assert restored.last_epoch == 3
    assert restored.get_last_lr() == [0.0125]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"start_factor": 0.0},
            r"Starting multiplicative factor expected to be "
            r"greater than 0 and less or equal to 1, received: start_factor=0\.0",
        ),
        ({"start_factor": 1.5}, r"received: start_factor=1\.5"),
        (
            {"end_factor": -0.1},
            r"Ending multiplicative factor expected to be between "
            r"0 and 1, received: end_factor=-0\.1",
        ),
    ],
)
def test_linear_lr_rejects_factors_out_of_range(options, message):
    with pytest.raises(ValueError, match=message):
        LinearLR(_sgd(), **options)


def test_step_lr_and_cosine_reject_a_non_positive_period():
    with pytest.raises(ValueError, match="Expected step_size >= 1, received: 0"):
        StepLR(_sgd(), step_size=0)
    with pytest.raises(ValueError, match="Expected T_max >= 1, received: 0"):
        CosineAnnealingLR(_sgd(), T_max=0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"factor": 1.0}, r"Factor should be < 1\.0, received: 1\.0"),
        ({"mode": "maximum"}, "mode maximum is unknown! Expected 'min' or 'max'"),
        ({"threshold_mode": "relative"}, "threshold mode relative is unknown!"),
        ({"min_lr": [0.0, 0.1]}, r"expected 1 min_lrs \(one per param group\), got 2"),
    ],
)
def test_reduce_lr_on_plateau_rejects_invalid_options(options, message):
    with pytest.raises(ValueError, match=message):
        ReduceLROnPlateau(_sgd(), **options)


def test_reduce_lr_on_plateau_with_min_lr_list_needs_one_per_group():
    optimizer = _sgd()
    scheduler = ReduceLROnPlateau(optimizer, patience=0, min_lr=[0.01])
    optimizer.add_param_group({"params": [_param()]})
    scheduler.step(1.0)
    with pytest.raises(RuntimeError, match="differs from when `ReduceLROnPlateau`"):
        scheduler.step(2.0)


def test_reduce_lr_on_plateau_reduces_after_patience_and_respects_cooldown():
    optimizer = _sgd(lr=1.0)
    scheduler = ReduceLROnPlateau(optimizer, factor=0.5, patience=1, cooldown=2)
    lrs = []
    for loss in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]:
        scheduler.step(loss)
        lrs.append(scheduler.get_last_lr()[0])
    # bad epochs 1, 2 -> reduce; two cooldown epochs; bad epochs 1, 2 -> reduce
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25]


def test_reduce_lr_on_plateau_state_dict_round_trip():
    scheduler = ReduceLROnPlateau(_sgd(), mode="max", patience=3)
    scheduler.step(0.5)
    restored = ReduceLROnPlateau(_sgd())
    restored.load_state_dict(scheduler.state_dict())
    assert (restored.mode, restored.best, restored.patience) == ("max", 0.5, 3)
    assert restored._is_better(0.6, restored.best)


def test_lr_scheduler_is_reachable_as_a_submodule():
    assert optim.lr_scheduler.StepLR is StepLR
