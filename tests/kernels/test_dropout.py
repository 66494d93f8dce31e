"""Dropout's counter-based mask: splitmix64 known answers, the same bits on every backend and thread count,
the keep rate, the exact p == 0 and p == 1 cases, and the row (Dropout2d) layout."""

import os
import subprocess
import sys

import numpy as np
import pytest
from tinygrad_norm.kernels import _scalar, cpu, reference

BACKENDS = [reference, cpu]
MASK64 = 2**64 - 1


def splitmix64_python(seed, count):
    """The first ``count`` outputs of splitmix64 seeded with ``seed``, in Python integers (Vigna's C code)."""
    state, out = seed, []
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        out.append(z ^ (z >> 31))
    return out


def shared_splitmix64(seed, count):
    """The shared splitmix64 (_scalar.py) twice: compiled, one counter at a time, and as Python on an array."""
    compiled = [int(_scalar.splitmix64(np.uint64(seed), np.uint64(i))) for i in range(count)]
    on_array = _scalar.splitmix64.py_func(np.uint64(seed), np.arange(count, dtype=np.uint64)).tolist()
    assert compiled == on_array
    return compiled


def test_splitmix64_known_answers():
    published = [
        6457827717110365317,
        3203168211198807973,
        9817491932198370423,
        4593380528125082431,
        16408922859458223821,
    ]
    assert splitmix64_python(1234567, 5) == published
    assert shared_splitmix64(1234567, 5) == published


def test_splitmix64_wraps_mod_2_64():
    seed = MASK64 - 5
    assert shared_splitmix64(seed, 1000) == splitmix64_python(seed, 1000)


def mask(module, p, seed, offset, rows):
    out = np.empty(rows, np.uint8)
    module.dropout_mask(p, seed, offset, out)
    return out


def test_mask_is_the_top_53_bits_of_the_draw_compared_with_p():
    draws = splitmix64_python(99, 2000)
    expected = [(z >> 11) * 2.0**-53 >= 0.3 for z in draws]
    for module in BACKENDS:
        np.testing.assert_array_equal(mask(module, 0.3, 99, 0, 2000), expected)


def test_offset_continues_the_same_stream():
    full = mask(cpu, 0.5, 3, 0, 1100)
    np.testing.assert_array_equal(mask(cpu, 0.5, 3, 100, 1000), full[100:])


def test_large_masks_are_bit_identical_between_reference_and_cpu():
    for p in (0.1, 0.5, 0.9):
        np.testing.assert_array_equal(mask(cpu, p, 42, 17, 300_001), mask(reference, p, 42, 17, 300_001))


@pytest.mark.slow
def test_masks_do_not_depend_on_the_thread_count():
    script = (
        "import hashlib, numpy as np\n"
        "from tinygrad_norm.kernels import cpu\n"
        "x = np.linspace(-1, 1, 2_000_003, dtype=np.float32).reshape(-1, 1)\n"
        "rows = np.linspace(-1, 1, 1001 * 2003, dtype=np.float32).reshape(1001, 2003)\n"
        "y, y_rows = np.empty_like(x), np.empty_like(rows)\n"
        "cpu.dropout_forward(x, 0.3, 5, 11, y)\n"
        "cpu.dropout_forward(rows, 0.3, 5, 11, y_rows)\n"
        "print(hashlib.sha256(y.tobytes() + y_rows.tobytes()).hexdigest())\n"
    )
    digests = []
    for threads in ("1", "2"):
        env = {**os.environ, "NUMBA_NUM_THREADS": threads}
        result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        digests.append(result.stdout.strip())
    assert digests[0] == digests[1]


@pytest.mark.parametrize("module", BACKENDS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_keep_rate_is_within_four_sigma_of_keep_prob(module, p):
    rows = 200_000
    keep_prob = 1 - p
    sigma = np.sqrt(rows * p * keep_prob)
    assert abs(int(mask(module, p, 2024, 0, rows).sum()) - rows * keep_prob) < 4 * sigma


@pytest.mark.parametrize("module", BACKENDS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_p_zero_is_the_identity_and_p_one_gives_exact_zeros(module, dtype):
    x = np.array([[1.5], [-0.0], [np.inf], [np.nan], [3e38], [-7.25]], dtype=dtype)
    y = np.empty_like(x)
    module.dropout_forward(x, 0.0, 1, 0, y)
    np.testing.assert_array_equal(y, x)
    module.dropout_forward(x, 1.0, 1, 0, y)
    assert not np.signbit(y).any() and (y == 0).all()  # even where x is inf or nan: no 0 * inf
    assert mask(module, 0.0, 1, 0, 100).all() and not mask(module, 1.0, 1, 0, 100).any()


@pytest.mark.parametrize("module", BACKENDS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_backward_applies_the_forward_mask_and_scale(module):
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal((500, 1)), rng.standard_normal((500, 1))
    y, dx = np.empty_like(x), np.empty_like(x)
    module.dropout_forward(x, 0.25, 9, 4, y)
    module.dropout_backward(dy, 0.25, 9, 4, dx)
    keep = mask(module, 0.25, 9, 4, 500).astype(bool)[:, None]
    np.testing.assert_array_equal(y, np.where(keep, x * (1 / 0.75), 0.0))
    np.testing.assert_array_equal(dx, np.where(keep, dy * (1 / 0.75), 0.0))


@pytest.mark.parametrize("module", BACKENDS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_dropout2d_layout_draws_once_per_row(module):
    x = np.random.default_rng(0).uniform(1, 2, (300, 7)).astype(np.float32)  # no zeros of its own
    y = np.empty_like(x)
    module.dropout_forward(x, 0.5, 77, 0, y)
    kept_rows = (y != 0).all(axis=1)
    assert (kept_rows | (y == 0).all(axis=1)).all()  # each row kept or dropped whole
    np.testing.assert_array_equal(kept_rows, mask(module, 0.5, 77, 0, 300).astype(bool))
    np.testing.assert_array_equal(y[kept_rows], (x[kept_rows].astype(np.float64) * 2).astype(np.float32))


@pytest.mark.parametrize("p, seed, offset", [(1.5, 0, 0), (-0.1, 0, 0), (0.5, -1, 0), (0.5, 0, 2**64)])
def test_cpu_rejects_invalid_dropout_arguments(p, seed, offset):
    with pytest.raises(ValueError, match="p must|seed must|offset must"):
        cpu.dropout_mask(p, seed, offset, np.empty(4, np.uint8))
