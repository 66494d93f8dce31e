"""The optimizer API against torch.optim: parameter groups with their own options, parameters without gradients,
state dicts through torch and back, failed loads, zero_grad, closures, gradient clipping, argument errors."""

import copy

import numpy as np
import pytest

from tinygrad_norm import Tensor, nn, optim

torch = pytest.importorskip("torch")

from .torch_runs import (  # noqa: E402
    SHAPES,
    assert_params_close,
    assert_states_close,
    pair,
    random_arrays,
    set_grads,
    to_torch,
)

ALL = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
]
IDS = [name for name, _ in ALL]


def _steps(ours, theirs, ours_opt, torch_opt, seeds, none_at=()):
    for seed in seeds:
        grads = random_arrays(SHAPES, np.float64, seed=seed)
        set_grads(ours, theirs, [None if i in none_at else g for i, g in enumerate(grads)])
        ours_opt.step()
        torch_opt.step()


# ---- parameter groups and missing gradients --------------------------------------------------------------------


def _models():
    """A small model with norm layers in both libraries, with torch's weights."""
    ours = nn.Sequential(nn.Linear(4, 6), nn.LayerNorm(6), nn.Linear(6, 2)).to("float64")
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.LayerNorm(6), torch.nn.Linear(6, 2)).double()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _decay_groups(model):
    """The usual recipe: weight decay on the weights of linear layers only, not on norm weights and biases."""
    decay = [p for name, p in model.named_parameters() if name.endswith("weight") and name != "1.weight"]
    no_decay = [p for name, p in model.named_parameters() if not (name.endswith("weight") and name != "1.weight")]
    return [{"params": decay}, {"params": no_decay, "weight_decay": 0.0, "lr": 0.003}]


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_no_weight_decay_on_norms_and_biases_matches_torch(name):
    ours, theirs = _models()
    ours_opt = getattr(optim, name)(_decay_groups(ours), lr=0.01, weight_decay=0.1)
    torch_opt = getattr(torch.optim, name)(_decay_groups(theirs), lr=0.01, weight_decay=0.1)
    rng = np.random.default_rng(0)
    for _ in range(10):
        x = rng.standard_normal((8, 4))
        ours_opt.zero_grad()
        torch_opt.zero_grad()
        (ours(Tensor(x)) ** 2).mean().backward()
        (theirs(torch.tensor(x)) ** 2).mean().backward()
        ours_opt.step()
        torch_opt.step()
    assert ours_opt.param_groups[1]["weight_decay"] == 0.0 and ours_opt.param_groups[0]["weight_decay"] == 0.1
    assert_params_close(list(ours.parameters()), list(theirs.parameters()), np.float64)
    assert_states_close(ours_opt, torch_opt, np.float64)


@pytest.mark.parametrize("name, options", ALL, ids=IDS)
def test_parameters_without_gradients_are_skipped(name, options):
    init = random_arrays(SHAPES, np.float64, seed=0)
    ours, theirs = pair(init)
    ours_opt, torch_opt = getattr(optim, name)(ours, **options), getattr(torch.optim, name)(theirs, **options)
    _steps(ours, theirs, ours_opt, torch_opt, seeds=range(1, 6), none_at=(1,))
    np.testing.assert_array_equal(ours[1].numpy(), init[1])
    assert not np.array_equal(ours[0].numpy(), init[0])
    assert_params_close(ours, theirs, np.float64)
    assert_states_close(ours_opt, torch_opt, np.float64)  # no state for the skipped one (Adagrad: its initial one)


def test_add_param_group_later_matches_torch():
    (a, b), (ta, tb) = pair(random_arrays([(3,), (2,)], np.float64, seed=0))
    ours_opt, torch_opt = optim.Adam([a], lr=0.01), torch.optim.Adam([ta], lr=0.01)
    ours_opt.add_param_group({"params": b, "lr": 0.1, "amsgrad": True})
    torch_opt.add_param_group({"params": tb, "lr": 0.1, "amsgrad": True})
    for seed in range(3):
        ga, gb = random_arrays([(3,), (2,)], np.float64, seed=seed + 1)
        set_grads([a, b], [ta, tb], [ga, gb])
        ours_opt.step()
        torch_opt.step()
    assert_params_close([a, b], [ta, tb], np.float64)
    assert_states_close(ours_opt, torch_opt, np.float64)


def test_named_parameters_keep_their_names():
    model, torch_model = _models()
    ours_opt = optim.SGD(model.named_parameters(), lr=0.1)
    torch_opt = torch.optim.SGD(torch_model.named_parameters(), lr=0.1)
    assert ours_opt.state_dict()["param_groups"] == torch_opt.state_dict()["param_groups"]
    assert ours_opt.param_groups[0]["param_names"][0] == "0.weight"


# ---- state dicts -----------------------------------------------------------------------------------------------


def _run_alone(params, opt, seeds):
    """Steps of one library's optimizer on the gradients `_steps` would give it."""
    for seed in seeds:
        for p, g in zip(params, random_arrays(SHAPES, np.float64, seed=seed)):
            p.grad = Tensor(g) if isinstance(p, Tensor) else torch.tensor(g)
        opt.step()


@pytest.mark.parametrize("name, options", ALL, ids=IDS)
def test_state_dict_through_torch_and_back_continues_the_run(name, options):
    """3 steps here, 3 in torch from our state dict, 4 here again from torch's: the same as 10 steps in torch."""
    init = random_arrays(SHAPES, np.float64, seed=0)
    _, straight = pair(init)
    straight_opt = getattr(torch.optim, name)(straight, **options)
    _run_alone(straight, straight_opt, range(1, 11))

    first, _ = pair(init)
    first_opt = getattr(optim, name)(first, **options)
    _run_alone(first, first_opt, range(1, 4))
    _, middle = pair([p.numpy() for p in first])
    middle_opt = getattr(torch.optim, name)(middle, **options)
    middle_opt.load_state_dict(to_torch(first_opt.state_dict()))
    _run_alone(middle, middle_opt, range(4, 7))
    last, _ = pair([q.detach().numpy() for q in middle])
    last_opt = getattr(optim, name)(last, **options)
    last_opt.load_state_dict(middle_opt.state_dict())
    _run_alone(last, last_opt, range(7, 11))

    assert_params_close(last, straight, np.float64)
    assert_states_close(last_opt, straight_opt, np.float64)
    step = last_opt.state_dict()["state"][0].get("step")
    assert step is None or (step.dtype == np.float32 and step.shape == () and step == 10)


@pytest.mark.parametrize("name, options", ALL, ids=IDS)
def test_own_state_dict_resumes_bit_for_bit(name, options):
    init = random_arrays(SHAPES, np.float32, seed=0)
    straight, resumed = pair(init)[0], pair(init)[0]
    straight_opt = getattr(optim, name)(straight, **options)
    first = getattr(optim, name)(resumed, **options)
    for seed in range(1, 7):
        for params, opt in ((straight, straight_opt), (resumed, first)):
            for p, g in zip(params, random_arrays(SHAPES, np.float32, seed=seed)):
                p.grad = Tensor(g)
            opt.step()
        if seed == 3:
            saved = first.state_dict()
            first = getattr(optim, name)(resumed, **options)
            first.load_state_dict(saved)
    for p, q in zip(straight, resumed):
        np.testing.assert_array_equal(p.numpy(), q.numpy())


def test_state_dict_is_a_snapshot_in_numpy():
    (p,), _ = pair([np.ones(3)])
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = Tensor(np.ones(3))
    opt.step()
    saved = opt.state_dict()
    opt.step()
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"], np.ones(3))


def _bad_state_dicts(saved):
    fewer_groups = {"state": saved["state"], "param_groups": []}
    fewer_params = copy.deepcopy(saved)
    fewer_params["param_groups"][0]["params"] = fewer_params["param_groups"][0]["params"][:-1]
    wrong_shape = copy.deepcopy(saved)
    wrong_shape["state"][1]["exp_avg_sq"] = np.zeros(4)
    return [
        (fewer_groups, "different number of parameter groups"),
        (fewer_params, "doesn't match the size of optimizer's group"),
        (wrong_shape, r"state 'exp_avg_sq' of parameter 1 has shape \(4,\), the parameter has shape \(5,\)"),
    ]


def test_failed_load_changes_nothing():
    ours, _ = pair(random_arrays(SHAPES, np.float64, seed=0))
    opt = optim.Adam(ours, lr=0.01)
    for p, g in zip(ours, random_arrays(SHAPES, np.float64, seed=1)):
        p.grad = Tensor(g)
    opt.step()
    saved = opt.state_dict()
    other_groups = copy.deepcopy(saved)
    other_groups["param_groups"][0]["lr"] = 0.5
    for bad, message in _bad_state_dicts(other_groups):
        with pytest.raises(ValueError, match=message):
            opt.load_state_dict(bad)
        after = opt.state_dict()
        assert after["param_groups"] == saved["param_groups"]
        for index, state in saved["state"].items():
            for key, value in state.items():
                np.testing.assert_array_equal(after["state"][index][key], value)
    with pytest.raises(TypeError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


def test_loading_casts_to_the_parameter_dtype_and_copies():
    (p,), _ = pair([np.ones(3, np.float32)])
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    buffer = np.full(3, 2.0)
    opt.load_state_dict({"state": {0: {"momentum_buffer": buffer}}, "param_groups": [{"lr": 0.5, "params": [0]}]})
    loaded = opt.state[p]["momentum_buffer"]
    assert loaded.dtype == np.float32 and not np.shares_memory(loaded, buffer)
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["momentum"] == 0.9  # missing: the default


def test_adamw_stays_decoupled_after_loading_an_adam_state():
    (p,), _ = pair([np.ones(3)])
    adamw = optim.AdamW([p])
    adamw.load_state_dict(optim.Adam([p]).state_dict())
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True


# ---- zero_grad, closures, clipping -----------------------------------------------------------------------------


def test_zero_grad_sets_none_or_zeros_in_place():
    (a, b), _ = pair([np.ones(3), np.ones(2)])
    opt = optim.SGD([a, b])
    a.grad, b.grad = Tensor(np.ones(3)), Tensor(np.ones(2))
    kept = b.grad.data
    opt.zero_grad(set_to_none=False)
    assert a.grad is not None and b.grad.data is kept and not kept.any()
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_step_with_closure_returns_its_loss_and_matches_torch():
    (p,), (q,) = pair([np.array([1.0, -2.0])])
    ours_opt, torch_opt = optim.SGD([p], lr=0.1, momentum=0.9), torch.optim.SGD([q], lr=0.1, momentum=0.9)

    def ours_closure():
        ours_opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    def torch_closure():
        torch_opt.zero_grad()
        loss = (q * q).sum()
        loss.backward()
        return loss

    for _ in range(5):
        loss, torch_loss = ours_opt.step(ours_closure), torch_opt.step(torch_closure)
        assert float(loss) == pytest.approx(float(torch_loss.detach()), rel=1e-12)
    assert_params_close([p], [q], np.float64)


def test_clip_grad_norm_composes_with_the_optimizers():
    ours, theirs = _models()
    ours_opt, torch_opt = optim.Adam(ours.parameters(), lr=0.01), torch.optim.Adam(theirs.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = 10 * rng.standard_normal((8, 4))
        ours_opt.zero_grad()
        torch_opt.zero_grad()
        (ours(Tensor(x)) ** 2).sum().backward()
        (theirs(torch.tensor(x)) ** 2).sum().backward()
        norm = nn.utils.clip_grad_norm_(ours.parameters(), max_norm=0.5)
        torch_norm = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm=0.5)
        assert float(norm) == pytest.approx(float(torch_norm), rel=1e-12) and float(norm) > 0.5
        ours_opt.step()
        torch_opt.step()
    assert_params_close(list(ours.parameters()), list(theirs.parameters()), np.float64)


# ---- argument errors -------------------------------------------------------------------------------------------

BAD_ARGUMENTS = [
    ("SGD", dict(lr=-1), "Invalid learning rate: -1"),
    ("SGD", dict(momentum=-0.5), "Invalid momentum value: -0.5"),
    ("SGD", dict(weight_decay=-1e-4), "Invalid weight_decay value: -0.0001"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov momentum requires a momentum and zero"),
    ("Adam", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("Adam", dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    ("Adam", dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    ("Adam", dict(betas=(-0.1, 0.999)), "Invalid beta parameter at index 0: -0.1"),
    ("Adam", dict(betas=(0.9, 1.5)), "Invalid beta parameter at index 1: 1.5"),
    ("Adam", dict(weight_decay=-1.0), "Invalid weight_decay value: -1.0"),
    ("AdamW", dict(betas=(0.9, -0.5)), "Invalid beta parameter at index 1: -0.5"),
    ("RMSprop", dict(alpha=-0.1), "Invalid alpha value: -0.1"),
    ("RMSprop", dict(momentum=-1.0), "Invalid momentum value: -1.0"),
    ("RMSprop", dict(eps=-1.0), "Invalid epsilon value: -1.0"),
    ("Adagrad", dict(lr_decay=-1.0), "Invalid lr_decay value: -1.0"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), "Invalid initial_accumulator_value value: -1.0"),
    ("Adagrad", dict(eps=-1.0), "Invalid epsilon value: -1.0"),
]


@pytest.mark.parametrize("name, options, message", BAD_ARGUMENTS)
def test_bad_arguments_raise_as_torch_does(name, options, message):
    ours, theirs = pair([np.ones(2)])
    with pytest.raises(ValueError, match=message):
        getattr(optim, name)(ours, **options)
    with pytest.raises(ValueError, match=message):
        getattr(torch.optim, name)(theirs, **options)


def test_bad_parameters_raise_as_torch_does():
    (p,), (q,) = pair([np.ones(2)])
    for ours_args, torch_args, error, message in [
        ([], [], ValueError, "optimizer got an empty parameter list"),
        (p, q, TypeError, "should be an iterable of Tensors or dicts"),
        ([p, p * 2], [q, q * 2], ValueError, "can't optimize a non-leaf Tensor"),
        ([np.ones(2)], [np.ones(2)], TypeError, "optimizer can only optimize Tensors"),
        ({p}, {q}, TypeError, "ordered collections"),
    ]:
        with pytest.raises(error, match=message):
            optim.SGD(ours_args if not isinstance(ours_args, set) else [{"params": ours_args}])
        with pytest.raises(error, match=message):
            torch.optim.SGD(torch_args if not isinstance(torch_args, set) else [{"params": torch_args}])
    opt = optim.SGD([p])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [p]})
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([p])


def test_torch_implementation_flags_are_accepted_or_refused_clearly():
    (p,), _ = pair([np.ones(2)])
    assert optim.Adam([p], foreach=False, fused=True).param_groups[0]["fused"] is True
    with pytest.raises(ValueError, match="differentiable=True is not supported"):
        optim.SGD([p], differentiable=True)
    with pytest.raises(ValueError, match="capturable=True is not supported"):
        optim.Adam([p], capturable=True)
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together."):
        optim.Adagrad([p], foreach=True, fused=True)


def test_grad_of_another_shape_is_refused_by_name():
    (p,), _ = pair([np.ones(3)])
    opt = optim.Adam([p])
    p.grad = Tensor(np.ones(4))
    with pytest.raises(ValueError, match=r"grad must have param's shape \(3,\), got \(4,\)"):
        opt.step()
    np.testing.assert_array_equal(p.numpy(), np.ones(3))
