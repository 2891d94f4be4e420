"""PyTorch's CPU random numbers, bit for bit, in NumPy.

``Generator`` is torch's CPU generator (``aten/src/ATen/CPUGeneratorImpl.cpp``):
the 32-bit Mersenne Twister mt19937, seeded with Matsumoto and Nishimura's
``init_genrand`` from the seed's low 32 bits, exactly as NumPy's legacy
``RandomState(seed)`` seeds its ``MT19937``; NumPy then hands out the raw
32-bit words, vectorised. Every function below turns those words into numbers
the way one of torch's CPU kernels does, and its docstring names that kernel.
Two primitives carry all of them (``CPUGeneratorImpl::random`` and
``random64``): ``random()`` is one word, ``random64()`` is two, the first one
the high half.

Transforms depend on the dtype, as in torch: a float32 uniform keeps the low 24
bits of one word, a float64 uniform the low 53 bits of two, and U(a, b) is
``fma(u, b - a, a)`` in the dtype (GCC contracts torch's ``x * (to - from) +
from`` into one FMA instruction; ``_fma32`` and ``_fma64`` round exactly once,
as the instruction does). ``normal`` has three paths
(``aten/src/ATen/native/cpu/DistributionTemplates.h``):

- fewer than 16 elements (or a non-contiguous tensor): Box-Muller in double,
  one pair at a time, the sine half cached in the generator for the next call
  (``at::normal_distribution<double>``);
- 16 or more float64 elements: ``normal_fill``, all the uniforms first, then
  Box-Muller over blocks of 16 (cos for the first 8, sin for the last 8), the
  tail recomputed from 16 fresh uniforms; log, cos and sin are the C library's
  (glibc), called through Python's ``math``;
- 16 or more float32 elements: ``normal_fill_AVX2``, the same blocks computed
  by ``avx_mathfun.h``'s ``log256_ps`` and ``sincos256_ps`` (Cephes polynomials
  in float32), which torch's x86 builds run on every AVX2 or AVX-512 CPU
  (``normal_stub`` is never dispatched to AVX-512). The compiler fuses their
  multiply-adds into FMA instructions; ``_fma32`` does the same, exactly.
  On a CPU without AVX2, or on ARM, torch takes ``normal_fill`` in float32 with
  the C library's ``logf``, ``cosf`` and ``sinf`` instead, and its float32
  normals differ from these in the last bits.

``bernoulli`` with a scalar ``p`` (``bernoulli_(p)``, dropout masks) is
torch's default kernel: one float64 uniform per element, ``u < p``. That is
what torch runs on AMD and ARM CPUs (this project's test machine is AMD). On
an Intel CPU, torch built with MKL draws the mask from MKL's MCG31 stream
instead, seeded with one word of the generator: there the masks differ, and
torch's generator advances by one word per call instead of two per element.

All of this imports NumPy and the standard library only.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

_STATE_N = 624  # mt19937's words
_DEFAULT_SEED = 67280421310721  # torch.Generator()'s seed (c10::default_rng_seed_val)

# torch.get_rng_state()'s bytes: CPUGeneratorImplState, a C struct on x86-64
# (CPUGeneratorImpl.cpp), padding bytes zero.
_STATE_LAYOUT = np.dtype(
    {
        "names": [
            "the_initial_seed",
            "left",
            "seeded",
            "next",
            "state",
            "normal_x",
            "normal_y",
            "normal_rho",
            "normal_is_valid",
            "next_float_normal_sample",
            "is_next_float_normal_sample_valid",
        ],
        "formats": [
            "<u8",
            "<i4",
            "<i4",
            "<u8",
            ("<u8", (_STATE_N,)),
            "<f8",
            "<f8",
            "<f8",
            "<i4",
            "<f4",
            "u1",
        ],
        "offsets": [0, 8, 12, 16, 24, 5016, 5024, 5032, 5040, 5048, 5052],
        "itemsize": 5056,
    }
)
STATE_SIZE = _STATE_LAYOUT.itemsize


class Generator:
    """torch.Generator for the CPU: mt19937 and torch's transforms.

    ``Generator()`` starts from torch's default seed (67280421310721), so
    ``dg.Generator()`` and ``torch.Generator()`` draw the same numbers.

    Example
    -------
    >>> g = Generator().manual_seed(42)
    >>> int(g.initial_seed())
    42
    >>> state = g.get_state()
    >>> first = uniform(g, (3,), np.float32)
    >>> bool((uniform(g.set_state(state), (3,), np.float32) == first).all())
    True
    """

    device = "cpu"

    def __init__(self, device: str = "cpu") -> None:
        if str(device) != "cpu":
            raise ValueError(
                f"Generator: deepgrad runs on the CPU only, received device={device!r}"
            )
        self._bits = np.random.MT19937()
        self.manual_seed(_DEFAULT_SEED)

    # -- seeding and state --------------------------------------------------
    def manual_seed(self, seed: int) -> Generator:
        """Seed as torch does: ``seed`` modulo 2**64; the engine takes its low 32 bits.

        Raises
        ------
        TypeError
            If ``seed`` is not an integer.
        ValueError
            If ``seed`` is outside [-2**63, 2**64) (torch's range).
        """
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"manual_seed expects an integer seed, received: {seed!r}")
        seed = int(seed)
        if not -(2**63) <= seed < 2**64:
            raise ValueError(
                f"manual_seed expects a seed in [-2**63, 2**64), received: {seed}"
            )
        seed %= 2**64
        state = np.random.RandomState(seed & 0xFFFFFFFF).get_state(legacy=False)
        self._bits.state = state  # init_genrand, the key not yet twisted (pos 624)
        self._seed = seed
        self._fresh = True  # torch's `next` is 0 until the first twist
        self._next_double_normal: float | None = None
        self._next_float_normal: float | None = None
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; return that seed."""
        seed = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        """The seed of the last ``manual_seed`` (or ``seed``)."""
        return self._seed

    def get_state(self) -> Any:
        """The state as the 5056 bytes of ``torch.get_rng_state()`` (uint8).

        ``torch.Generator().set_state(torch.from_numpy(...))`` accepts it, and
        ``set_state`` accepts torch's.
        """
        record = np.zeros((), _STATE_LAYOUT)
        bits = self._bits.state["state"]
        pos = int(bits["pos"])
        record["the_initial_seed"] = self._seed
        record["left"] = _STATE_N + 1 - pos
        record["seeded"] = 1
        record["next"] = 0 if self._fresh else pos
        record["state"] = bits["key"]
        if self._next_double_normal is not None:
            record["normal_is_valid"] = 1
            record["normal_y"] = self._next_double_normal
        if self._next_float_normal is not None:
            record["is_next_float_normal_sample_valid"] = 1
            record["next_float_normal_sample"] = self._next_float_normal
        return record.reshape(1).view(np.uint8).copy()

    def set_state(self, new_state: Any) -> Generator:
        """Restore a state from ``get_state()`` (or torch's ``get_rng_state()``).

        Raises
        ------
        ValueError
            If ``new_state`` is not 5056 bytes holding a valid mt19937 state.
        """
        state = np.asarray(new_state)
        if (
            state.dtype.kind in "iu"
            and state.shape == (STATE_SIZE,)
            and 0 <= state.min() <= state.max() <= 255
        ):
            state = state.astype(np.uint8)  # e.g. a list back from JSON
        if state.dtype != np.uint8 or state.shape != (STATE_SIZE,):
            raise ValueError(
                f"Generator.set_state expects the {STATE_SIZE} uint8 values "
                "get_state() returns, received an array of dtype "
                f"{state.dtype} and shape {state.shape}"
            )
        record = np.ascontiguousarray(state).view(_STATE_LAYOUT)[0]
        left, next_ = int(record["left"]), int(record["next"])
        if not (record["seeded"] and 0 < left <= _STATE_N and next_ <= _STATE_N):
            raise ValueError(
                "Generator.set_state: not a valid mt19937 state "
                f"(seeded={int(record['seeded'])}, left={left}, next={next_})"
            )
        key = record["state"].astype(np.uint64)
        if (key >> np.uint64(32)).any():
            raise ValueError(
                "Generator.set_state: not a valid mt19937 state (words over 32 bits)"
            )
        self._bits.state = {
            "bit_generator": "MT19937",
            "state": {"key": key.astype(np.uint32), "pos": _STATE_N + 1 - left},
        }
        self._seed = int(record["the_initial_seed"])
        self._fresh = next_ == 0 and left == 1
        self._next_double_normal = (
            float(record["normal_y"]) if record["normal_is_valid"] else None
        )
        self._next_float_normal = (
            float(record["next_float_normal_sample"])
            if record["is_next_float_normal_sample_valid"]
            else None
        )
        return self

    # -- the two primitives -------------------------------------------------
    def random(self, n: int) -> np.ndarray:
        """``n`` calls of ``CPUGeneratorImpl::random()``: raw 32-bit words (uint64)."""
        if n:
            self._fresh = False
        return self._bits.random_raw(n)

    def random64(self, n: int) -> np.ndarray:
        """``n`` calls of ``random64()``: two words each, the first the high half."""
        words = self.random(2 * n).reshape(n, 2)
        return (words[:, 0] << np.uint64(32)) | words[:, 1]

    def __repr__(self) -> str:
        return f"<deepgrad.Generator seed={self._seed}>"


# ---------------------------------------------------------------------------
# Exact fused multiply-add (torch's kernels are compiled with FMA contraction)
# ---------------------------------------------------------------------------
def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """s + t == a + b exactly, s = fl(a + b) (Knuth)."""
    s = a + b
    b_virtual = s - a
    return s, (a - (s - b_virtual)) + (b - b_virtual)


def _round_to_odd(value: np.ndarray, error: np.ndarray) -> np.ndarray:
    """The exact value + error rounded to odd: an inexact even result steps to
    its odd neighbour on the side of the error (Boldo and Melquiond)."""
    even = (value.view(np.int64) & 1) == 0
    return np.where((error != 0) & even, np.nextafter(value, value + error), value)


def _fma64(a: Any, b: Any, c: Any) -> np.ndarray:
    """fl(a * b + c) in float64 with one rounding, as the FMA instruction.

    The product is split exactly (Veltkamp and Dekker); the sum of the three
    parts is rounded once through round-to-odd (Boldo and Melquiond, 2008).
    """
    a, b, c = (np.asarray(v, np.float64) for v in (a, b, c))
    split = 134217729.0  # 2**27 + 1
    a_big, b_big = split * a, split * b
    a_hi = a_big - (a_big - a)
    b_hi = b_big - (b_big - b)
    a_lo, b_lo = a - a_hi, b - b_hi
    product = a * b
    product_error = ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    high, low = _two_sum(c, product)
    tail, tail_error = _two_sum(low, product_error)
    return high + _round_to_odd(tail, tail_error)


def _fma32(a: Any, b: Any, c: Any) -> np.ndarray:
    """fl(a * b + c) in float32 with one rounding (float64 holds a * b exactly;
    the sum is rounded to odd in float64, then to float32: Boldo and Melquiond)."""
    a, b, c = (np.asarray(v, np.float32).astype(np.float64) for v in (a, b, c))
    total, error = _two_sum(c, a * b)
    return _round_to_odd(total, error).astype(np.float32)


# ---------------------------------------------------------------------------
# Uniform floats: TransformationHelper.h's uniform_real
# ---------------------------------------------------------------------------
def _unit(generator: Generator, n: int, dtype: np.dtype) -> np.ndarray:
    """``uniform_real_distribution<T>(0, 1)``: float32 keeps the low 24 bits of
    ``random()`` times 2**-24; float64 the low 53 bits of ``random64()`` times
    2**-53."""
    if dtype == np.float64:
        bits = generator.random64(n) & np.uint64((1 << 53) - 1)
        return bits.astype(np.float64) * 2.0**-53
    bits = generator.random(n) & np.uint64((1 << 24) - 1)
    return bits.astype(np.float32) * np.float32(2.0**-24)


def _check_float(name: str, dtype: np.dtype) -> None:
    if dtype not in (np.float32, np.float64):
        raise TypeError(
            f"{name}: expected a float32 or float64 dtype, received {dtype}; "
            "pass dtype=dg.float32 or dg.float64"
        )


def uniform(
    generator: Generator,
    shape: Sequence[int],
    dtype: Any,
    low: float = 0.0,
    high: float = 1.0,
) -> np.ndarray:
    """U(low, high) as ``uniform_kernel`` (``rand``, ``uniform_``): one uniform
    per element in order, then ``x * (high - low) + low`` in the dtype, fused."""
    dtype = np.dtype(dtype)
    _check_float("uniform_", dtype)
    if not low <= high:
        raise ValueError(
            f"uniform_: expects low <= high, received low={low}, high={high}"
        )
    size = math.prod(shape)
    unit = _unit(generator, size, dtype)
    low_t, high_t = dtype.type(low), dtype.type(high)
    if low_t == 0 and high_t == 1:
        return unit.reshape(shape)
    fma = _fma64 if dtype == np.float64 else _fma32
    return fma(unit, high_t - low_t, low_t).astype(dtype).reshape(shape)


# ---------------------------------------------------------------------------
# Normal: Box-Muller, three paths (DistributionTemplates.h, DistributionsHelper.h)
# ---------------------------------------------------------------------------
def normal(
    generator: Generator,
    shape: Sequence[int],
    dtype: Any,
    mean: float = 0.0,
    std: float = 1.0,
    contiguous: bool = True,
) -> np.ndarray:
    """N(mean, std**2) as ``normal_kernel`` (``randn``, ``normal``, ``normal_``).

    The path depends on the size, as in torch: see the module's docstring.
    """
    dtype = np.dtype(dtype)
    _check_float("normal_", dtype)
    if not std >= 0:
        raise ValueError(f"normal_: expects std >= 0, received std={std}")
    size = math.prod(shape)
    if size < 16 or not contiguous:
        values = _normal_scalar(generator, size, float(mean), float(std))
        return values.astype(dtype).reshape(shape)
    fill = _normal_fill_float32 if dtype == np.float32 else _normal_fill_float64
    data = _unit(generator, size, dtype)
    blocks = size // 16 * 16
    data[:blocks] = fill(data[:blocks].reshape(-1, 16), mean, std).ravel()
    if size % 16:  # the last 16 recomputed from 16 fresh uniforms
        tail = _unit(generator, 16, dtype).reshape(1, 16)
        data[size - 16 :] = fill(tail, mean, std).ravel()
    return data.reshape(shape)


def _normal_scalar(
    generator: Generator, size: int, mean: float, std: float
) -> np.ndarray:
    """``at::normal_distribution<double>``, one value at a time (below 16 values,
    or for a non-contiguous tensor):

    u1, u2 = two float64 uniforms; r = sqrt(-2 log1p(-u2)); theta = 2 pi u1;
    return r cos(theta) and cache r sin(theta) in the generator for the next
    call; each value becomes fma(value, std, mean).
    """
    values = np.empty(size, np.float64)
    for i in range(size):
        if generator._next_double_normal is not None:
            value, generator._next_double_normal = generator._next_double_normal, None
        else:
            u1, u2 = _unit(generator, 2, np.dtype(np.float64)).tolist()
            radius = math.sqrt(-2.0 * math.log1p(-u2))
            theta = 2.0 * math.pi * u1
            generator._next_double_normal = radius * math.sin(theta)
            value = radius * math.cos(theta)
        values[i] = value
    return _fma64(values, std, mean)


def _normal_fill_float64(blocks: np.ndarray, mean: float, std: float) -> np.ndarray:
    """``normal_fill_16<double>``: per block of 16 uniforms,
    radius = sqrt(-2 log(1 - u[j])), theta = 2 pi u[j + 8],
    out[j] = radius cos(theta) std + mean, out[j + 8] = radius sin(theta) std + mean.
    """
    u1 = 1.0 - blocks[:, :8]
    theta = (2.0 * math.pi) * blocks[:, 8:]
    log_u1 = np.fromiter(map(math.log, u1.ravel().tolist()), np.float64, u1.size)
    radius = np.sqrt(-2.0 * log_u1.reshape(u1.shape))
    cos = np.fromiter(map(math.cos, theta.ravel().tolist()), np.float64, theta.size)
    sin = np.fromiter(map(math.sin, theta.ravel().tolist()), np.float64, theta.size)
    first = radius * cos.reshape(theta.shape)
    second = radius * sin.reshape(theta.shape)
    return _fma64(np.concatenate([first, second], axis=1), std, mean)


def _normal_fill_float32(blocks: np.ndarray, mean: float, std: float) -> np.ndarray:
    """``normal_fill_16_AVX2``: the float64 fill's formulas with avx_mathfun.h's
    ``log256_ps`` and ``sincos256_ps`` in float32, out = fma(radius cos, std, mean)."""
    f32 = np.float32
    radius = np.sqrt(f32(-2.0) * _log256_ps(f32(1.0) - blocks[:, :8]))
    theta = f32(2.0 * math.pi) * blocks[:, 8:]
    sin, cos = _sincos256_ps(theta)
    out = np.concatenate([radius * cos, radius * sin], axis=1)
    return _fma32(out, f32(std), f32(mean))


_LOG_POLY = (
    7.0376836292e-2,
    -1.1514610310e-1,
    1.1676998740e-1,
    -1.2420140846e-1,
    1.4249322787e-1,
    -1.6668057665e-1,
    2.0000714765e-1,
    -2.4999993993e-1,
    3.3333331174e-1,
)


def _log256_ps(x: np.ndarray) -> np.ndarray:
    """avx_mathfun.h's ``log256_ps`` (Cephes' logf) for x in (0, 1], float32.

    x = m 2**e with m in [sqrt(1/2), sqrt(2)); log x = e log 2 + log(1 + f),
    f = m - 1, from a degree-9 polynomial; log 2 in two parts (q2 + q1).
    Multiply-adds fused as GCC fuses the intrinsics.
    """
    f32 = np.float32
    x = np.maximum(x.astype(f32), np.array(0x00800000, np.int32).view(f32))
    bits = x.view(np.int32)
    exponent = ((bits >> 23) - 0x7F).astype(f32) + f32(1.0)
    x = ((bits & ~0x7F800000) | np.array(0.5, f32).view(np.int32)).view(f32)
    below = x < f32(0.707106781186547524)
    exponent = exponent - np.where(below, f32(1.0), f32(0.0))
    x = (x - f32(1.0)) + np.where(below, x, f32(0.0))
    z = x * x
    y = np.full_like(x, f32(_LOG_POLY[0]))
    for coefficient in _LOG_POLY[1:]:
        y = _fma32(y, x, f32(coefficient))
    y = _fma32(y * x, z, exponent * f32(-2.12194440e-4))
    y = y - z * f32(0.5)
    return _fma32(exponent, f32(0.693359375), x + y)


def _sincos256_ps(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """avx_mathfun.h's ``sincos256_ps`` (Cephes' sinf/cosf) in float32.

    j = the octant of |x| (rounded up to even), x reduced by j pi/4 in three
    parts, then a sine and a cosine polynomial, chosen and signed by j.
    """
    f32 = np.float32
    sign_sin = np.signbit(x)
    x = np.abs(x)
    octant = ((x * f32(1.27323954473516)).astype(np.int32) + 1) & ~1
    y = octant.astype(f32)
    sign_sin = sign_sin ^ ((octant & 4) != 0)
    use_sin_poly = (octant & 2) == 0
    sign_cos = (~(octant - 2) & 4) != 0
    for part in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8):
        x = _fma32(y, f32(part), x)
    z = x * x
    cos_poly = _fma32(f32(2.443315711809948e-005), z, f32(-1.388731625493765e-003))
    cos_poly = _fma32(cos_poly, z, f32(4.166664568298827e-002)) * z
    cos_poly = _fma32(cos_poly, z, -(z * f32(0.5))) + f32(1.0)
    sin_poly = _fma32(f32(-1.9515295891e-4), z, f32(8.3321608736e-3))
    sin_poly = _fma32(sin_poly, z, f32(-1.6666654611e-1)) * z
    sin_poly = _fma32(sin_poly, x, x)
    sin_part = np.where(use_sin_poly, sin_poly, f32(0.0))
    cos_part = np.where(use_sin_poly, f32(0.0), cos_poly)
    sin = cos_part + sin_part
    cos = (cos_poly - cos_part) + (sin_poly - sin_part)
    return np.where(sign_sin, -sin, sin), np.where(sign_cos, -cos, cos)


# ---------------------------------------------------------------------------
# Integers: uniform_int_from_to, uniform_int, randperm
# ---------------------------------------------------------------------------
_FULL_RANGE_DTYPES = (np.int64, np.float64, np.float32)


def randint(
    generator: Generator, low: int, high: int, shape: Sequence[int], dtype: Any
) -> np.ndarray:
    """Integers in [low, high) as ``random_from_to_kernel`` (``randint``,
    ``random_(from, to)``): ``random() % range + low``, or ``random64()`` when
    the range reaches 2**32 and the dtype is int64, float32 or float64."""
    dtype = np.dtype(dtype)
    span = int(high) - int(low)
    if span <= 0:
        raise ValueError(
            f"randint: expects low < high, received low={low}, high={high}"
        )
    size = math.prod(shape)
    if span >= 2**32 and dtype.type in _FULL_RANGE_DTYPES:
        words = generator.random64(size)
    else:
        words = generator.random(size)
    offsets = words % np.uint64(span)
    values = (offsets.astype(np.int64) + np.int64(low)).astype(dtype)
    return values.reshape(shape)


def random_full(generator: Generator, shape: Sequence[int], dtype: Any) -> np.ndarray:
    """``random_()`` without bounds, as ``uniform_int``: [0, 2**63) for int64
    from ``random64()``, [0, 2**53] for float64 from ``random64()``, [0, 2**24]
    for float32 and [0, max] for smaller integers from ``random()``."""
    dtype = np.dtype(dtype)
    size = math.prod(shape)
    if dtype == np.bool_:
        return (generator.random(size) & np.uint64(1)).astype(bool).reshape(shape)
    if dtype == np.float64:
        modulus = 2**53 + 1
    elif dtype == np.float32:
        modulus = 2**24 + 1
    elif dtype.kind in "iu":
        modulus = int(np.iinfo(dtype).max) + 1
    else:
        raise TypeError(f"random_: unsupported dtype {dtype}")
    if dtype in (np.float64, np.int64):
        words = generator.random64(size)
    else:
        words = generator.random(size)
    return (words % np.uint64(modulus)).astype(dtype).reshape(shape)


# randperm_cpu swaps forwards below this n, inside-out from it on
_RANDPERM_INSIDE_OUT = 2**32 // 20


def _randperm_words(generator: Generator, n: int) -> np.ndarray:
    """The words ``randperm_cpu`` draws for ``n``: ``random()`` for each of the
    n - 1 forward swaps, or ``random64()`` for each of the n inside-out ones."""
    if n < _RANDPERM_INSIDE_OUT:
        return generator.random(max(n - 1, 0))
    return generator.random64(n)


def _check_randperm_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative integer, received {n!r}")
    return int(n)


def randperm(generator: Generator, n: int) -> np.ndarray:
    """A random permutation of 0..n-1 (int64), as ``randperm_cpu``.

    For n < 2**32 / 20: start from 0..n-1, then for i = 0..n-2 swap element i
    with element j_i = i + ``random()`` % (n - i) (``_forward_swaps``, without
    a Python loop). Larger n: the inside-out Fisher-Yates, element i swapped
    with ``random64()`` % (i + 1), one swap after the other.
    """
    n = _check_randperm_n(n)
    words = _randperm_words(generator, n)
    if n < _RANDPERM_INSIDE_OUT:
        return _forward_swaps(words % np.arange(n, 1, -1, dtype=np.uint64), n)
    picks = words % np.arange(1, n + 1, dtype=np.uint64)
    order = list(range(n))
    for i, pick in enumerate(picks.tolist()):
        order[i] = order[pick]
        order[pick] = i
    return np.array(order, np.int64)


def discard_randperm(generator: Generator, n: int) -> None:
    """Advance ``generator`` as ``randperm(generator, n)`` does, computing no
    permutation: the one torch's RandomSampler draws and throws away."""
    _randperm_words(generator, _check_randperm_n(n))


def _forward_swaps(offsets: np.ndarray, n: int) -> np.ndarray:
    """0..n-1 after the swaps (i, j_i = i + offsets[i]) for i = 0..n-2, in order.

    The loop ``for i: order[i], order[j_i] = order[j_i], order[i]`` resolved
    with sorts and gathers. Since j_i >= i, no later step touches position i:
    order[i] is the value at position j_i just before step i. Position p is
    written before step i only by the steps k < i with j_k = p, each moving
    into it the value V(k) at position k just before step k. So, with
    previous(i) the latest step k < i with j_k = j_i, order[i] = V(previous(i)),
    or j_i when there is none; and V(t) = V(arrived(t)), with arrived(t) the
    latest step k < t with j_k = t, or t when there is none. arrived(t) < t,
    so the pointers t -> arrived(t) form a forest whose roots are the V's:
    pointer jumping (root = root[root]) finds every root in log(depth) rounds.
    """
    if n == 0:
        return np.zeros(0, np.int64)
    steps = np.arange(n, dtype=np.int64)
    target = steps.copy()  # j_i; the last position takes part as j_{n-1} = n - 1
    target[: n - 1] += offsets.astype(np.int64)
    # the steps by (target, step): the keys are unique, so any sort is stable
    shift = n.bit_length()
    keys = np.sort((target << shift) | steps)
    by_target, sorted_target = keys & ((1 << shift) - 1), keys >> shift
    same = sorted_target[1:] == sorted_target[:-1]
    previous = np.empty(n, np.int64)  # -1: none
    previous[by_target[0]] = -1
    previous[by_target[1:]] = np.where(same, by_target[:-1], -1)
    # the last step of each target's group; when that is step t itself (j_t = t),
    # the one before it arrived at t first
    last = np.full(n, -1, np.int64)
    ends = np.flatnonzero(~same)
    last[sorted_target[ends]] = by_target[ends]
    last[sorted_target[-1]] = by_target[-1]
    root = np.where(target == steps, previous, last)
    np.copyto(root, steps, where=root < 0)
    while True:
        jumped = root[root]
        if np.array_equal(jumped, root):
            break
        root = jumped
    order = root[previous]  # previous = -1 reads a value the next line replaces
    np.copyto(order, target, where=previous < 0)
    return order


# ---------------------------------------------------------------------------
# Bernoulli and multinomial
# ---------------------------------------------------------------------------
def bernoulli(generator: Generator, shape: Sequence[int], p: float) -> np.ndarray:
    """Booleans, True with probability ``p``, as ``bernoulli_kernel(self, double p)``
    (``bernoulli_(p)``, dropout masks): one float64 uniform per element, u < p."""
    if not 0 <= p <= 1:
        raise ValueError(f"bernoulli_: expects 0 <= p <= 1, received p={p}")
    size = math.prod(shape)
    return (_unit(generator, size, np.dtype(np.float64)) < p).reshape(shape)


def bernoulli_tensor(generator: Generator, probabilities: np.ndarray) -> np.ndarray:
    """Booleans, element i True with probability ``probabilities[i]``, as
    ``bernoulli_kernel(self, const Tensor& p)``: a float64 uniform against
    float64 probabilities, a float32 uniform against float32 ones."""
    probabilities = np.asarray(probabilities)
    if probabilities.size and not (
        (probabilities >= 0).all() and (probabilities <= 1).all()
    ):
        raise ValueError("bernoulli: expects every probability in [0, 1]")
    dtype = np.dtype(np.float64 if probabilities.dtype == np.float64 else np.float32)
    unit = _unit(generator, probabilities.size, dtype)
    return unit.reshape(probabilities.shape) < probabilities


def multinomial(
    generator: Generator, weights: np.ndarray, num_samples: int, replacement: bool
) -> np.ndarray:
    """Indices drawn with probability proportional to ``weights`` (one row per
    distribution), int64.

    Without replacement, or for one sample, as torch's CPU ``multinomial``: keys
    q = Exponential(1) from one float64 uniform each (q = -log(1 - u)), then
    the ``num_samples`` largest weights / q. With replacement, as
    ``multinomial_with_replacement``: one float64 uniform per sample, found by
    binary search in the row's cumulative distribution (in the weights' dtype,
    normalised to end at 1).
    """
    weights = np.asarray(weights)
    rows = weights.reshape(-1, weights.shape[-1]) if weights.ndim else weights
    if weights.ndim not in (1, 2) or weights.shape[-1] == 0:
        raise ValueError(
            "multinomial: expects a 1-D or 2-D tensor of weights with at least one "
            f"category, received shape {weights.shape}"
        )
    if (rows < 0).any() or not np.isfinite(rows).all() or (rows.sum(-1) <= 0).any():
        raise ValueError(
            "multinomial: weights must be finite, non-negative and sum to more than 0"
        )
    categories = rows.shape[1]
    if not replacement and num_samples > categories:
        raise ValueError(
            f"multinomial: cannot draw {num_samples} samples from {categories} "
            "categories without replacement; pass replacement=True"
        )
    if not replacement or num_samples == 1:  # torch's fast path takes both
        unit = _unit(generator, rows.size, np.dtype(np.float64)).reshape(rows.shape)
        keys = -np.log1p(-unit)
        scores = rows / keys.astype(rows.dtype)
        picks = np.argsort(-scores, axis=1, kind="stable")[:, :num_samples]
    else:
        dtype = np.dtype(np.float64 if rows.dtype == np.float64 else np.float32)
        cumulative = np.cumsum(rows, axis=1, dtype=dtype)
        cumulative = cumulative / cumulative[:, -1:]
        unit = _unit(generator, rows.shape[0] * num_samples, np.dtype(np.float64))
        unit = unit.reshape(rows.shape[0], num_samples)
        picks = np.stack(
            [
                np.searchsorted(c, u, side="right")
                for c, u in zip(cumulative, unit, strict=True)
            ]
        )
        picks = np.minimum(picks, categories - 1)
    picks = picks.astype(np.int64)
    return picks[0] if weights.ndim == 1 else picks
