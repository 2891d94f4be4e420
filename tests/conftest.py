"""Fixtures shared by the test modules."""

from __future__ import annotations

import math

import pytest


@pytest.fixture
def nan_rule_only(monkeypatch):
    """Divergence by a non-finite loss alone: the weight-norm and the lasting-high-
    loss rules of deepgrad.train.divergence would stop these runs epochs earlier,
    before the paths that put back the last finite epoch's weights are reached."""
    from deepgrad.train import divergence

    monkeypatch.setattr(divergence, "WEIGHT_FACTOR", math.inf)
    monkeypatch.setattr(divergence, "LOSS_FACTOR", math.inf)
