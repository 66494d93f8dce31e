"""The optimizer kernels: Numba (cpu_optim) against the numpy reference, bit for bit, on awkward shapes and layouts,
through both the serial and the parallel loops; and the argument checks they share."""

import numpy as np
import pytest
from tinygrad_norm.kernels import cpu, cpu_optim, reference, reference_optim

# (state names, scalar arguments) of each update; None marks a state an option leaves out
UPDATES = {
    "sgd_step": [
        (("momentum_buffer",), (0.1, 0.0, 0.9, 0.0, False, False)),
        (("momentum_buffer",), (0.1, 0.05, 0.9, 0.2, False, True)),
        (("momentum_buffer",), (0.1, 0.05, 0.9, 0.0, True, True)),
        ((None,), (0.1, 0.05, 0.0, 0.0, False, True)),
    ],
    "adam_step": [
        (("exp_avg", "exp_avg_sq", None), (0.9, 0.999, 1e-8, 0.05, 1.0, 0.01 / 0.19, 0.0447, False)),
        (("exp_avg", "exp_avg_sq", "max_exp_avg_sq"), (0.8, 0.99, 1e-6, 0.0, 0.999, 0.02, 0.3, True)),
        (("exp_avg", "exp_avg_sq", "max_exp_avg_sq"), (0.3, 0.5, 0.0, 0.1, 1.0, 0.02, 0.7, False)),
    ],
    "rmsprop_step": [
        (("square_avg", None, None), (0.01, 0.99, 1e-8, 0.0, 0.0, False)),
        (("square_avg", "grad_avg", "momentum_buffer"), (0.01, 0.9, 1e-8, 0.05, 0.5, True)),
        (("square_avg", "grad_avg", None), (0.01, 0.5, 1e-3, 0.0, 0.0, False)),
    ],
    "adagrad_step": [
        (("state_sum",), (0.1, 1e-10, 0.0, False)),
        (("state_sum",), (0.05, 1e-3, 0.05, True)),
    ],
}
CASES = [(name, states, scalars) for name, options in UPDATES.items() for states, scalars in options]
SHAPES = [(), (0,), (1,), (7,), (3, 5), (2, 3, 17), (cpu_optim.PARALLEL_MIN_SIZE + cpu_optim.CHUNK // 2 + 3,)]


def _arrays(shape, dtype, states, seed):
    """param, grad and states: positive, with the centered RMSprop's grad_avg² below square_avg, as training
    leaves them (so that no square root is of a negative number)."""
    rng = np.random.default_rng(seed)
    param, grad = (np.array(rng.standard_normal(shape), dtype) for _ in range(2))
    state = [None if name is None else np.array(0.5 + np.abs(rng.standard_normal(shape)), dtype) for name in states]
    if "grad_avg" in states:
        state[states.index("grad_avg")] = np.array(0.1 * rng.standard_normal(shape), dtype)
    return param, grad, state


def _run(module, name, param, grad, state, scalars, steps=3):
    for step in range(steps):
        extra = (step == 0,) if name == "sgd_step" else ()  # SGD's first_step
        getattr(module, name)(param, grad, *state, *scalars, *extra)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name, states, scalars", CASES)
def test_numba_matches_reference_bit_for_bit(name, states, scalars, shape, dtype):
    arrays = _arrays(shape, dtype, states, seed=len(shape))
    results = []
    for module in (reference_optim, cpu_optim):
        param, grad, state = arrays[0].copy(), arrays[1].copy(), [None if s is None else s.copy() for s in arrays[2]]
        _run(module, name, param, grad, state, scalars)
        assert param.dtype == dtype
        results.append([param, grad] + [s for s in state if s is not None])
    for ours, ref in zip(*results):
        np.testing.assert_array_equal(ours, ref)
    assert not np.array_equal(results[0][0], arrays[0]) or arrays[0].size == 0  # the update did something


@pytest.mark.parametrize("module", [reference_optim, cpu_optim], ids=["reference", "numba"])
def test_non_contiguous_arrays_are_updated_in_place(module):
    """A transposed parameter and a strided gradient: the update lands in the caller's arrays, as for contiguous
    copies of them."""
    rng = np.random.default_rng(1)
    param = np.asfortranarray(rng.standard_normal((6, 5)))
    grad = rng.standard_normal((6, 10))[:, ::2]
    exp_avg, exp_avg_sq = np.zeros((5, 6)).T, np.zeros((6, 5))
    expected = [np.array(a, order="C") for a in (param, grad, exp_avg, exp_avg_sq)]
    scalars = (0.9, 0.999, 1e-8, 0.0, 1.0, 0.1, 0.05, False)
    module.adam_step(param, grad, exp_avg, exp_avg_sq, None, *scalars)
    reference_optim.adam_step(expected[0], expected[1], expected[2], expected[3], None, *scalars)
    for actual, wanted in zip((param, grad, exp_avg, exp_avg_sq), expected):
        np.testing.assert_array_equal(actual, wanted)


def test_backend_modules_export_the_updates():
    for name in UPDATES:
        assert getattr(reference, name) is getattr(reference_optim, name)
        assert getattr(cpu, name) is getattr(cpu_optim, name)


@pytest.mark.parametrize("module", [reference_optim, cpu_optim], ids=["reference", "numba"])
def test_bad_arrays_are_refused_by_name(module):
    p = np.zeros(3, np.float32)
    with pytest.raises(TypeError, match="param must be a float32 or float64 array"):
        module.adagrad_step(np.zeros(3, np.int64), np.zeros(3, np.int64), np.zeros(3, np.int64), 0.1, 1e-10, 0, False)
    with pytest.raises(TypeError, match="grad must have param's dtype float32, got float64"):
        module.adagrad_step(p, np.zeros(3), np.zeros(3, np.float32), 0.1, 1e-10, 0, False)
    with pytest.raises(ValueError, match=r"exp_avg_sq must have param's shape \(3,\), got \(4,\)"):
        module.adam_step(p, p.copy(), p.copy(), np.zeros(4, np.float32), None, 0.9, 0.999, 1e-8, 0, 1, 0.1, 0.1, False)
