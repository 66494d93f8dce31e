"""Every optimizer and option combination against torch.optim: 10 steps on the same parameters and gradients, in
float64 and float32, on the Numba and the numpy backends; parameters, state and groups compared after."""

import itertools

import numpy as np
import pytest

from tinygrad_norm import optim, use_backend

torch = pytest.importorskip("torch")

from .torch_runs import SHAPES, assert_params_close, assert_states_close, pair, random_arrays, set_grads  # noqa: E402


def _grid(**options):
    """Every combination of the listed option values, as keyword dicts."""
    names = list(options)
    return [dict(zip(names, values)) for values in itertools.product(*options.values())]


def _sgd_options():
    valid = []
    for o in _grid(
        momentum=[0, 0.9], dampening=[0, 0.3], nesterov=[False, True], weight_decay=[0, 0.05], maximize=[False, True]
    ):
        if not (o["nesterov"] and (o["momentum"] <= 0 or o["dampening"] != 0)):
            valid.append(o)
    return valid


CONFIGS = (
    [("SGD", dict(lr=0.1, **o)) for o in _sgd_options()]
    + [
        ("Adam", dict(lr=0.01, **o))
        for o in _grid(
            weight_decay=[0, 0.05], amsgrad=[False, True], maximize=[False, True], decoupled_weight_decay=[False, True]
        )
    ]
    + [("Adam", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-3))]
    + [
        ("AdamW", dict(lr=0.01, **o))
        for o in _grid(weight_decay=[0, 1e-2, 0.3], amsgrad=[False, True], maximize=[False, True])
    ]
    + [("AdamW", {})]
    + [
        ("RMSprop", dict(lr=0.01, **o))
        for o in _grid(centered=[False, True], momentum=[0, 0.5], weight_decay=[0, 0.05], maximize=[False, True])
    ]
    + [("RMSprop", dict(alpha=0.5, eps=1e-3))]
    + [
        ("Adagrad", dict(lr=0.1, **o))
        for o in _grid(
            lr_decay=[0, 0.05], initial_accumulator_value=[0, 0.2], weight_decay=[0, 0.05], maximize=[False, True]
        )
    ]
    + [("Adagrad", dict(eps=1e-2))]
)


def _ids(config):
    name, options = config
    return name + "(" + ",".join(f"{k}={v}" for k, v in options.items()) + ")"


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("config", CONFIGS, ids=_ids)
def test_ten_steps_match_torch(config, dtype, backend):
    name, options = config
    ours, theirs = pair(random_arrays(SHAPES, dtype, seed=0))
    ours_opt, torch_opt = getattr(optim, name)(ours, **options), getattr(torch.optim, name)(theirs, **options)
    with use_backend(backend):
        for step in range(10):
            set_grads(ours, theirs, random_arrays(SHAPES, dtype, seed=step + 1))
            ours_opt.step()
            torch_opt.step()
    assert_params_close(ours, theirs, dtype)
    assert_states_close(ours_opt, torch_opt, dtype)
