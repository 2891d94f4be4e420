"""Grad mode and anomaly detection are per thread: one thread's switch leaves the
others alone, and a new thread starts with the defaults (recording on, anomaly off).

PyTorch is the oracle for grad mode, which it keeps per thread too. Its anomaly
mode is process-wide; deepgrad's is per thread, like its grad mode. The random
generator stays process-wide in both.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad import nn
from deepgrad.train import fit

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_LABELS = np.array([[0], [1], [1], [0]], dtype=np.float64)


@pytest.fixture
def frequent_switches() -> Iterator[None]:
    """Let the interpreter switch threads every 10 us, so that they interleave."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(previous)


def in_thread(function: Callable[[], Any]) -> Any:
    """Run ``function`` in a new thread; return its result (or raise its error)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = function()
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


@contextlib.contextmanager
def alongside(
    work: Callable[[threading.Barrier, threading.Event], None], threads: int = 1
) -> Iterator[None]:
    """Run ``work(ready, stop)`` in other threads while the block runs.

    The block starts once every thread has called ``ready.wait()``, and ends by
    setting ``stop`` and waiting for the threads.
    """
    ready, stop = threading.Barrier(threads + 1), threading.Event()
    workers = [
        threading.Thread(target=work, args=(ready, stop)) for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    ready.wait()
    try:
        yield
    finally:
        stop.set()
        for worker in workers:
            worker.join()


def lab_weights(seed: int = 42) -> list[dg.Tensor]:
    rng = np.random.default_rng(seed)
    shapes = [(2, 4), (4,), (4, 4), (4,), (4, 1), (1,)]
    return [
        dg.tensor(rng.standard_normal(shape), requires_grad=True) for shape in shapes
    ]


def train_lab(weights: list[dg.Tensor], steps: int) -> list[float]:
    """The lab's loop: forward, BCE, backward, ``W -= lr * W.grad`` in no_grad."""
    X, y = dg.tensor(XOR_INPUTS), dg.tensor(XOR_LABELS)
    W1, b1, W2, b2, W3, b3 = weights
    losses = []
    for _ in range(steps):
        a1 = (X @ W1 + b1).sigmoid()
        a2 = (a1 @ W2 + b2).sigmoid()
        loss = F.binary_cross_entropy((a2 @ W3 + b3).sigmoid(), y)
        loss.backward()
        with dg.no_grad():
            for weight in weights:
                weight -= 0.5 * weight.grad
                weight.grad.zero_()
        losses.append(loss.item())
    return losses


# ---------------------------------------------------------------------------
# Grad mode
# ---------------------------------------------------------------------------
def test_a_thread_sitting_in_no_grad_leaves_another_threads_training_alone():
    # the probe: every step failed ("does not require grad") while
    # another thread was inside no_grad
    def sit_in_no_grad(ready: threading.Barrier, stop: threading.Event) -> None:
        with dg.no_grad():
            ready.wait()
            stop.wait()

    expected = train_lab(lab_weights(), steps=300)
    with alongside(sit_in_no_grad):
        losses = train_lab(lab_weights(), steps=300)

    assert losses == expected  # every step's gradient was right


def test_threads_switching_grad_mode_all_the_time_never_disturb_a_trainer(
    frequent_switches,
):
    def evaluate_again_and_again(
        ready: threading.Barrier, stop: threading.Event
    ) -> None:
        probe = dg.tensor([1.0, 2.0], requires_grad=True)
        ready.wait()
        while not stop.is_set():
            with dg.no_grad():
                assert not (probe * 2).requires_grad
            with dg.enable_grad():
                assert (probe * 2).requires_grad

    expected_weights = lab_weights()
    expected = train_lab(expected_weights, steps=1000)
    with alongside(evaluate_again_and_again, threads=2):
        weights = lab_weights()
        losses = train_lab(weights, steps=1000)

    assert losses == expected
    for weight, expected_weight in zip(weights, expected_weights, strict=True):
        np.testing.assert_array_equal(weight.array, expected_weight.array)


def xor_model(seed: int) -> nn.Sequential:
    dg.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid()
    ).double()


def fit_xor(model: nn.Sequential, fast: bool) -> list[np.ndarray]:
    """fit, validating on 1000 samples under no_grad after every epoch."""
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((1064, 2))
    labels = (inputs[:, :1] * inputs[:, 1:] > 0).astype(np.float64)
    optimizer = dg.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    fit(
        model,
        nn.BCELoss(),
        optimizer,
        (inputs[:64], labels[:64]),
        epochs=30,
        batch_size=16,
        validation=(inputs[64:], labels[64:]),
        verbose=0,
        seed=1,
        fast=fast,
    )
    return [parameter.array.copy() for parameter in model.parameters()]


@pytest.mark.parametrize("fast", [False, True], ids=["eager", "default"])
def test_two_threads_fitting_two_models_get_the_weights_of_fitting_them_in_turn(
    fast, frequent_switches
):
    # the issue: one eager fit's validation (no_grad) stopped the other's
    # recording, and its backward() raised; it happened in most rounds
    expected = [fit_xor(xor_model(seed), fast) for seed in (1, 2)]
    for _ in range(10):
        models = [xor_model(seed) for seed in (1, 2)]
        results: dict[int, Any] = {}

        def train(index: int, models=models, results=results) -> None:
            try:
                results[index] = fit_xor(models[index], fast)
            except Exception as error:  # noqa: BLE001 - reported below
                results[index] = error

        threads = [threading.Thread(target=train, args=(index,)) for index in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        for index in (0, 1):
            assert not isinstance(results[index], Exception), results[index]
            for weight, expected_weight in zip(
                results[index], expected[index], strict=True
            ):
                np.testing.assert_array_equal(weight, expected_weight)


@pytest.mark.parametrize("lib", [dg, torch], ids=["deepgrad", "torch"])
def test_a_new_thread_records_even_while_the_main_thread_is_in_no_grad(lib):
    def record() -> tuple[bool, bool]:
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        return lib.is_grad_enabled(), (x * 2).requires_grad

    with lib.no_grad():
        assert in_thread(record) == (True, True)
        assert not lib.is_grad_enabled()


@pytest.mark.parametrize("lib", [dg, torch], ids=["deepgrad", "torch"])
def test_set_grad_enabled_in_a_thread_switches_only_that_thread(lib):
    def switch_off() -> bool:
        lib.set_grad_enabled(False)  # a plain call, never switched back
        return lib.is_grad_enabled()

    assert in_thread(switch_off) is False
    assert lib.is_grad_enabled()


def test_a_decorated_function_called_from_two_threads_restores_each_threads_mode():
    # one no_grad object decorates the function: each call must remember the
    # mode of its own thread, even when the calls overlap
    both_inside, done = threading.Barrier(2), threading.Barrier(2)

    @dg.no_grad()
    def predict(x: dg.Tensor) -> bool:
        both_inside.wait()
        inside = dg.is_grad_enabled()
        done.wait()
        return inside or (x * 2).requires_grad

    def call_with_grad_mode(mode: bool) -> tuple[bool, bool]:
        dg.set_grad_enabled(mode)
        inside = predict(dg.tensor([1.0], requires_grad=True))
        return inside, dg.is_grad_enabled()

    results: dict[bool, Any] = {}
    threads = [
        threading.Thread(
            target=lambda m=mode: results.update({m: call_with_grad_mode(m)})
        )
        for mode in (True, False)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == {True: (False, True), False: (False, False)}


@pytest.mark.parametrize("lib", [dg, torch], ids=["deepgrad", "torch"])
def test_a_recursive_no_grad_function_restores_recording_as_in_torch(lib):
    @lib.no_grad()
    def depth(n: int) -> int:
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3
    assert lib.is_grad_enabled()


@pytest.mark.parametrize("lib", [dg, torch], ids=["deepgrad", "torch"])
def test_set_grad_enabled_as_a_decorator_switches_only_inside_calls_as_in_torch(lib):
    @lib.set_grad_enabled(False)
    def inside() -> bool:
        return lib.is_grad_enabled()

    assert lib.is_grad_enabled()
    assert inside() is False
    assert lib.is_grad_enabled()


# ---------------------------------------------------------------------------
# Anomaly detection
# ---------------------------------------------------------------------------
def log_of_zero() -> dg.Tensor:
    return dg.tensor([0.0], requires_grad=True).log()


def test_a_new_thread_starts_without_anomaly_detection():
    # PyTorch's switch is process-wide (torch.is_anomaly_enabled() is True in
    # the new thread); deepgrad's is per thread, like grad mode
    with dg.autograd.detect_anomaly():
        with pytest.raises(FloatingPointError, match="'LogBackward'"):
            log_of_zero()
        assert np.isneginf(in_thread(log_of_zero).array).all()


def test_anomaly_detection_in_a_thread_leaves_the_others_alone():
    def sit_in_detect_anomaly(ready: threading.Barrier, stop: threading.Event) -> None:
        with dg.autograd.detect_anomaly():
            ready.wait()
            stop.wait()

    with alongside(sit_in_detect_anomaly):
        assert np.isneginf(log_of_zero().array).all()  # no FloatingPointError
    assert np.isneginf(log_of_zero().array).all()
