"""Helpers shared by the tests of deepgrad.train."""

from __future__ import annotations

import numpy as np

from deepgrad.fast import CompiledStep


def weights_of(model) -> dict[str, np.ndarray]:
    """A copy of every parameter and buffer, by state_dict name."""
    return {name: value.array.copy() for name, value in model.state_dict().items()}


def assert_same_weights(actual, expected):
    """Two weights_of dicts hold the same names and bit-identical arrays."""
    assert actual.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


def interrupt_compiled_step(monkeypatch, at_step: int) -> dict[str, int]:
    """Ctrl-C inside the compiled step's ``at_step``-th backward pass (counting
    from 1); returns the counter, which a test may reset between runs."""
    calls = {"count": 0}
    backward = CompiledStep._backward

    def interrupting(self, *args):
        calls["count"] += 1
        if calls["count"] == at_step:
            raise KeyboardInterrupt
        return backward(self, *args)

    monkeypatch.setattr(CompiledStep, "_backward", interrupting)
    return calls
