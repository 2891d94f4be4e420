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


@pytest.fixture(scope="session", autouse=True)
def _no_kernel_builds_from_the_user_cache(tmp_path_factory):
    """Kernels a developer built with `deepgrad kernels --build` live in ~/.cache;
    the suite must not pick them up ("auto" would run them and results would
    depend on the machine's cache). Tests that use a build ask for built_kernels."""
    folder = tmp_path_factory.mktemp("no-kernel-builds")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEEPGRAD_KERNELS_DIR", str(folder))
        yield


@pytest.fixture(scope="session")
def built_kernels_dir(tmp_path_factory):
    """A folder holding deepgrad.kernels built ahead of time (about 10 s, once a
    session); set DEEPGRAD_KERNELS_DIR to it to use the build."""
    from deepgrad import kernels_aot

    folder = tmp_path_factory.mktemp("kernel-build")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEEPGRAD_KERNELS_DIR", str(folder))
        kernels_aot.build()
    return folder


@pytest.fixture
def built_kernels(built_kernels_dir, monkeypatch):
    """The ahead-of-time build in use for this test (DEEPGRAD_KERNELS_DIR)."""
    from deepgrad import kernels_aot

    monkeypatch.setenv("DEEPGRAD_KERNELS_DIR", str(built_kernels_dir))
    kernels = kernels_aot.load()
    assert kernels is not None, "the session's build should load"
    return kernels
