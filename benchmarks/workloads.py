"""The workloads' sizes, data and initial weights, shared by the parent and the children.

Only NumPy (and scikit-learn's generator, in the parent) are imported here, so a
child that benchmarks one library loads nothing of the others.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_LABELS = np.array([[0], [1], [1], [0]], dtype=np.float32)
W1_LEARNING_RATE = 0.1
# dg.manual_seed(42) then dg.randn, as in the lab: this seed reaches [0, 1, 1, 0]
W1_SEED = 42

W2_LAYERS = (784, 256, 128, 10)
W2_LEARNING_RATE = 1e-3
W2_DATA_SEED = 0
W2_WEIGHT_SEED = 1
W2_SHUFFLE_SEED = 2
# the hand-written references and the shapes of the GEMM roofline use this batch
W2_BATCH_SIZE = 128


@dataclass(frozen=True)
class Sizes:
    """How much work each workload does; ``full`` is issue 4's definition."""

    name: str
    w1_epochs: int
    w1_per_sample_steps: int
    w1_reps: int
    w1_per_sample_reps: int  # 20,000 steps: a slow variant that no target reads
    w2_samples: int
    w2_epochs: int
    w2_reps: int
    w2_threads: tuple[int, ...]
    w3_batch_sizes: tuple[int, ...]
    w3_batch_samples: int
    w3_batch1_steps: int
    w3_sample_counts: tuple[int, ...]
    w3_reps: int
    import_reps: int
    gemm_reps: int
    profile_steps: int
    # repetitions run in this many rounds, every contender once per round (a
    # slow patch of a shared machine then slows them all, not one)
    interleave: bool = False
    import_modules: tuple[str, ...] = (
        "numpy",
        "deepgrad",
        "torch",
        "sklearn.neural_network",
    )

    def to_dict(self) -> dict:
        return asdict(self)


SIZES = {
    "full": Sizes(
        name="full",
        interleave=True,
        w1_epochs=5000,
        w1_per_sample_steps=20_000,
        w1_reps=9,
        w1_per_sample_reps=3,
        w2_samples=60_000,
        w2_epochs=2,
        w2_reps=5,
        w2_threads=(1, 2),
        w3_batch_sizes=(1, 32, 128, 1024),
        w3_batch_samples=30_000,
        w3_batch1_steps=3000,
        w3_sample_counts=(10_000, 60_000, 240_000),
        w3_reps=2,
        import_reps=7,
        gemm_reps=5,
        profile_steps=200,
    ),
    "quick": Sizes(
        name="quick",
        w1_epochs=500,
        w1_per_sample_steps=2000,
        w1_reps=3,
        w1_per_sample_reps=3,
        w2_samples=4096,
        w2_epochs=1,
        w2_reps=2,
        w2_threads=(1, 2),
        w3_batch_sizes=(1, 32, 128, 1024),
        w3_batch_samples=2048,
        w3_batch1_steps=100,
        w3_sample_counts=(1024, 2048, 4096),
        w3_reps=1,
        import_reps=2,
        gemm_reps=2,
        profile_steps=30,
    ),
    "tiny": Sizes(
        name="tiny",
        w1_epochs=50,
        w1_per_sample_steps=200,
        w1_reps=1,
        w1_per_sample_reps=1,
        w2_samples=1024,
        w2_epochs=1,
        w2_reps=1,
        w2_threads=(1,),
        w3_batch_sizes=(1, 128),
        w3_batch_samples=512,
        w3_batch1_steps=16,
        w3_sample_counts=(256, 512),
        w3_reps=1,
        import_reps=2,
        gemm_reps=1,
        profile_steps=5,
        import_modules=("numpy", "deepgrad"),
    ),
}


def cache_dir() -> Path:
    """Where generated data sets are kept between runs (make_classification is slow)."""
    explicit = os.environ.get("DEEPGRAD_BENCH_CACHE")
    if explicit:
        path = Path(explicit)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(base) / "deepgrad-benchmarks"
    path.mkdir(parents=True, exist_ok=True)
    return path


def w2_data_path(n_samples: int) -> Path:
    """The folder of the W2 data set (X.npy, y.npy), generated on first use.

    Plain ``.npy`` files load straight into their arrays; an ``.npz`` would pass
    through a temporary copy and inflate every contender's peak RSS by the data size.
    """
    path = cache_dir() / f"w2_{n_samples}x{W2_LAYERS[0]}_seed{W2_DATA_SEED}"
    if not (path / "y.npy").exists():
        from sklearn.datasets import make_classification

        features, labels = make_classification(
            n_samples=n_samples,
            n_features=W2_LAYERS[0],
            n_informative=64,
            n_redundant=0,
            n_classes=W2_LAYERS[-1],
            n_clusters_per_class=1,
            random_state=W2_DATA_SEED,
        )
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "X.npy", features.astype(np.float32))
        np.save(path / "y.npy", labels.astype(np.int64))  # written last: complete
    return path


def load_w2_data(path: str | Path, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n_samples`` rows; more rows than stored repeat the stored set."""
    features = np.load(Path(path) / "X.npy")
    labels = np.load(Path(path) / "y.npy")
    if n_samples > len(features):
        repeats = -(-n_samples // len(features))
        features = np.concatenate([features] * repeats)
        labels = np.concatenate([labels] * repeats)
    return (
        np.ascontiguousarray(features[:n_samples]),
        np.ascontiguousarray(labels[:n_samples]),
    )


def w1_initial_weights() -> dict[str, np.ndarray]:
    """The lab's W1..b3 exactly as ``dg.manual_seed(42)`` then ``dg.randn`` draws them.

    Laid out as the lab uses them (``X @ W1 + b1``: weight is in x out).
    """
    generator = np.random.default_rng(W1_SEED)
    weights = {}
    for index, (fan_in, fan_out) in enumerate([(2, 4), (4, 4), (4, 1)], start=1):
        weights[f"W{index}"] = generator.standard_normal((fan_in, fan_out)).astype(
            np.float32
        )
        weights[f"b{index}"] = np.zeros(fan_out, dtype=np.float32)
    return weights


def w2_initial_weights() -> dict[str, np.ndarray]:
    """PyTorch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn by NumPy.

    Keys and layouts are an ``nn.Sequential`` state_dict's (weight is out x in).
    """
    generator = np.random.default_rng(W2_WEIGHT_SEED)
    weights = {}
    for index, (fan_in, fan_out) in enumerate(
        zip(W2_LAYERS, W2_LAYERS[1:], strict=False)
    ):
        bound = 1 / np.sqrt(fan_in)
        key = f"{2 * index}"  # Linear, ReLU, Linear, ReLU, Linear
        weights[f"{key}.weight"] = generator.uniform(
            -bound, bound, (fan_out, fan_in)
        ).astype(np.float32)
        weights[f"{key}.bias"] = generator.uniform(-bound, bound, fan_out).astype(
            np.float32
        )
    return weights


def batch_order(n_samples: int, epochs: int) -> np.ndarray:
    """One permutation of the samples per epoch, the same in every child process."""
    generator = np.random.default_rng(W2_SHUFFLE_SEED)
    return np.stack([generator.permutation(n_samples) for _ in range(epochs)])


def batch_slices(n_samples: int, batch_size: int, max_steps: int | None = None):
    """(start, stop) of each batch of an epoch; the last batch may be smaller."""
    bounds = [
        (start, min(start + batch_size, n_samples))
        for start in range(0, n_samples, batch_size)
    ]
    return bounds if max_steps is None else bounds[:max_steps]


def w2_flops_per_sample() -> int:
    """Multiply-adds x 2 of W2's GEMMs per sample: forward, weight and input grads.

    The first layer's input gradient is never needed (the data needs no grad).
    """
    forward = sum(2 * a * b for a, b in zip(W2_LAYERS, W2_LAYERS[1:], strict=False))
    input_grads = sum(
        2 * a * b for a, b in zip(W2_LAYERS[1:-1], W2_LAYERS[2:], strict=False)
    )
    return 2 * forward + input_grads
