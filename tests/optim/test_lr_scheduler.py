"""Every scheduler against torch.optim.lr_scheduler: 15 steps (learning rates, and momenta where they cycle),
state dicts loaded across the two libraries mid-run, and argument errors."""

import copy
import warnings

import numpy as np
import pytest

from tinygrad_norm import Tensor, optim
from tinygrad_norm.optim import lr_scheduler

torch = pytest.importorskip("torch")

STEPS = 15
SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.001)),  # past T_max it climbs back: both branches of the recursion
    ("CosineAnnealingLR", dict(T_max=10)),
    ("LinearLR", dict(start_factor=0.25, end_factor=0.9, total_iters=4)),
    ("LinearLR", dict()),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=STEPS)),
    ("OneCycleLR", dict(max_lr=[1.0, 0.5], total_steps=STEPS, anneal_strategy="linear")),
    ("OneCycleLR", dict(max_lr=1.0, epochs=3, steps_per_epoch=5, three_phase=True)),
    (
        "OneCycleLR",
        dict(
            max_lr=0.3,
            total_steps=STEPS,
            three_phase=True,
            anneal_strategy="linear",
            pct_start=0.2,
            div_factor=10.0,
            final_div_factor=100.0,
            base_momentum=[0.8, 0.7],
            max_momentum=0.9,
        ),
    ),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=STEPS, cycle_momentum=False)),
]


def _optimizers(kind="SGD"):
    """Ours and torch's, two groups with their own learning rates."""
    ours, theirs = Tensor(np.zeros(2), requires_grad=True), torch.zeros(2, requires_grad=True)
    options = dict(momentum=0.9) if kind == "SGD" else {}
    groups = [[{"params": [p]}, {"params": [q], "lr": 0.05}] for p, q in [(ours, ours), (theirs, theirs)]]
    groups[0][1]["params"] = [Tensor(np.zeros(1), requires_grad=True)]
    groups[1][1]["params"] = [torch.zeros(1, requires_grad=True)]
    return (
        getattr(optim, kind)(groups[0], lr=0.1, **options),
        getattr(torch.optim, kind)(groups[1], lr=0.1, **options),
    )


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def _assert_same(ours_opt, torch_opt, ours_sched, torch_sched, where):
    assert ours_sched.get_last_lr() == pytest.approx(torch_sched.get_last_lr(), rel=1e-12, abs=0), where
    assert [g["lr"] for g in ours_opt.param_groups] == pytest.approx(
        [g["lr"] for g in torch_opt.param_groups], rel=1e-12, abs=0
    ), where
    assert _momenta(ours_opt) == pytest.approx(_momenta(torch_opt), rel=1e-12, abs=0), where


def _step_both(ours_opt, torch_opt, ours_sched, torch_sched, steps, *metrics):
    for step in range(steps):
        ours_opt.step()
        torch_opt.step()
        ours_sched.step(*(m[step] for m in metrics))
        torch_sched.step(*(m[step] for m in metrics))
        _assert_same(ours_opt, torch_opt, ours_sched, torch_sched, f"step {step + 1}")


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("name, options", SCHEDULERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS)])
def test_schedule_matches_torch(name, options, kind):
    ours_opt, torch_opt = _optimizers(kind)
    ours_sched = getattr(lr_scheduler, name)(ours_opt, **options)
    torch_sched = getattr(torch.optim.lr_scheduler, name)(torch_opt, **options)
    assert [g["initial_lr"] for g in ours_opt.param_groups] == [g["initial_lr"] for g in torch_opt.param_groups]
    _assert_same(ours_opt, torch_opt, ours_sched, torch_sched, "after construction")
    _step_both(ours_opt, torch_opt, ours_sched, torch_sched, STEPS - 1 if name == "OneCycleLR" else STEPS)
    assert ours_sched.last_epoch == torch_sched.last_epoch


def test_one_cycle_refuses_steps_past_its_end_as_torch():
    for opt in _optimizers():
        lib = lr_scheduler if isinstance(opt, optim.Optimizer) else torch.optim.lr_scheduler
        sched = lib.OneCycleLR(opt, max_lr=1.0, total_steps=3)
        for _ in range(2):
            opt.step()
            sched.step()
        opt.step()
        with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total steps is 3"):
            sched.step()
            sched.step()


def _sequential(lib, opt):
    warmup = lib.LinearLR(opt, start_factor=0.1, total_iters=3)
    cosine = lib.CosineAnnealingLR(opt, T_max=5, eta_min=0.01)
    steps = lib.MultiStepLR(opt, milestones=[2, 4])
    return lib.SequentialLR(opt, [warmup, cosine, steps], milestones=[3, 8])


def test_sequential_matches_torch():
    ours_opt, torch_opt = _optimizers()
    ours_sched, torch_sched = _sequential(lr_scheduler, ours_opt), _sequential(torch.optim.lr_scheduler, torch_opt)
    _assert_same(ours_opt, torch_opt, ours_sched, torch_sched, "after construction")
    _step_both(ours_opt, torch_opt, ours_sched, torch_sched, STEPS)


PLATEAU = [
    dict(),
    dict(mode="min", patience=1, threshold=0.1, threshold_mode="rel", cooldown=2),
    dict(mode="min", patience=0, threshold=0.05, threshold_mode="abs", factor=0.5, min_lr=[0.02, 0.0]),
    dict(mode="max", patience=2, threshold=0.01, threshold_mode="rel", cooldown=1, factor=0.3, min_lr=0.01),
    dict(mode="max", patience=0, threshold=0.5, threshold_mode="abs", eps=0.01),
]
METRICS = [1.0, 0.95, 0.97, 0.96, 0.5, 0.5, 0.51, 0.49, 2.0, 0.45, 0.44, 0.44, 0.3, 0.3, 0.3, 0.29] + [0.1] * 13


@pytest.mark.parametrize("options", PLATEAU, ids=str)
def test_reduce_on_plateau_matches_torch(options):
    ours_opt, torch_opt = _optimizers()
    ours_sched = lr_scheduler.ReduceLROnPlateau(ours_opt, **options)
    torch_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, **options)
    metrics = METRICS if options.get("mode", "min") == "min" else [1.0 - m for m in METRICS]
    _step_both(ours_opt, torch_opt, ours_sched, torch_sched, len(metrics), metrics)
    assert ours_opt.param_groups[0]["lr"] < 0.1  # it did reduce
    assert (ours_sched.best, ours_sched.num_bad_epochs, ours_sched.cooldown_counter) == (
        torch_sched.best,
        torch_sched.num_bad_epochs,
        torch_sched.cooldown_counter,
    )


def _build(lib, opt, name, options):
    if name == "SequentialLR":
        return _sequential(lib, opt)
    return getattr(lib, name)(opt, **options)


@pytest.mark.parametrize(
    "name, options",
    SCHEDULERS[:9] + [("SequentialLR", {})],
    ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS[:9] + [("SequentialLR", {})])],
)
def test_state_dicts_load_across_libraries_mid_run(name, options):
    """Ours -> torch after 4 steps, torch -> ours after 4 more: the schedule continues as one uninterrupted run."""
    straight_opt, _ = _optimizers()
    straight = _build(lr_scheduler, straight_opt, name, options)
    ours_opt, torch_opt = _optimizers()
    ours = _build(lr_scheduler, ours_opt, name, options)
    for index in range(12):
        if index == 4:  # into torch: a new scheduler, then the optimizer's options and its own state, as on resume
            theirs = _build(torch.optim.lr_scheduler, torch_opt, name, options)
            for ours_group, torch_group in zip(ours_opt.param_groups, torch_opt.param_groups):
                torch_group.update({k: v for k, v in ours_group.items() if k != "params"})
            theirs.load_state_dict(copy.deepcopy(ours.state_dict()))
            current, current_opt = theirs, torch_opt
        elif index == 8:
            for ours_group, torch_group in zip(ours_opt.param_groups, torch_opt.param_groups):
                ours_group.update({k: v for k, v in torch_group.items() if k != "params"})
            ours.load_state_dict(copy.deepcopy(theirs.state_dict()))
            current, current_opt = ours, ours_opt
        elif index == 0:
            current, current_opt = ours, ours_opt
        for opt, sched in ((straight_opt, straight), (current_opt, current)):
            opt.step()
            sched.step()
        assert current.get_last_lr() == pytest.approx(straight.get_last_lr(), rel=1e-12, abs=0), index
    assert ours.state_dict().keys() == theirs.state_dict().keys()


def test_reduce_on_plateau_state_dict_round_trip_and_bad_load():
    ours_opt, torch_opt = _optimizers()
    ours = lr_scheduler.ReduceLROnPlateau(ours_opt, patience=1, cooldown=1)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, patience=1, cooldown=1)
    for metric in [1.0, 1.0, 1.0]:
        ours.step(metric)
    theirs.load_state_dict(ours.state_dict())
    assert (theirs.best, theirs.num_bad_epochs, theirs.cooldown_counter) == (1.0, 0, 1)
    saved = ours.state_dict()
    with pytest.raises(ValueError, match="mode sideways is unknown!"):
        ours.load_state_dict({**saved, "mode": "sideways", "patience": 7})
    assert ours.mode == "min" and ours.patience == 1


def test_sequential_refuses_a_state_of_other_length_and_keeps_its_own():
    ours_opt, _ = _optimizers()
    sched = _sequential(lr_scheduler, ours_opt)
    saved = sched.state_dict()
    with pytest.raises(ValueError, match="the states of 3 schedulers"):
        sched.load_state_dict({**saved, "last_epoch": 9, "_schedulers": saved["_schedulers"][:2]})
    assert sched.last_epoch == saved["last_epoch"]


def test_scheduler_warnings_as_torch():
    ours_opt, _ = _optimizers()
    sched = lr_scheduler.StepLR(ours_opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    with pytest.warns(UserWarning, match="use `get_last_lr\\(\\)`"):
        sched.get_lr()
    ours_opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()
    with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)`"):
        sched.step(5)
    assert sched.get_last_lr() == pytest.approx([0.1 * 0.1**2, 0.05 * 0.1**2])  # closed form at epoch 5


def test_resuming_needs_initial_lr_as_torch():
    ours_opt, torch_opt = _optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(ours_opt, step_size=2, last_epoch=3)
    with pytest.raises(KeyError, match="initial_lr"):
        torch.optim.lr_scheduler.StepLR(torch_opt, step_size=2, last_epoch=3)


BAD = [
    ("LinearLR", dict(start_factor=0.0), ValueError, "Starting multiplicative factor"),
    ("LinearLR", dict(end_factor=1.5), ValueError, "Ending multiplicative factor"),
    ("ReduceLROnPlateau", dict(factor=1.0), ValueError, "Factor should be < 1.0."),
    ("ReduceLROnPlateau", dict(mode="avg"), ValueError, "mode avg is unknown!"),
    ("ReduceLROnPlateau", dict(threshold_mode="pct"), ValueError, "threshold mode pct is unknown!"),
    ("ReduceLROnPlateau", dict(min_lr=[0.1]), ValueError, "expected 2 min_lrs, got 1"),
    ("OneCycleLR", dict(max_lr=1.0), ValueError, "You must define either total_steps OR"),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=0), ValueError, "Expected positive integer total_steps"),
    ("OneCycleLR", dict(max_lr=1.0, epochs=2, steps_per_epoch=-1), ValueError, "Expected positive integer steps"),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=5, pct_start=1.5), ValueError, "Expected float between 0 and 1"),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=5, anneal_strategy="exp"), ValueError, "anneal_strategy must be"),
    ("OneCycleLR", dict(max_lr=[1.0], total_steps=5), ValueError, "max_lr must have the same length"),
]


@pytest.mark.parametrize("name, options, error, message", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_arguments_raise_as_torch_does(name, options, error, message):
    ours_opt, torch_opt = _optimizers()
    with pytest.raises(error, match=message):
        getattr(lr_scheduler, name)(ours_opt, **options)
    with pytest.raises(error, match=message):
        getattr(torch.optim.lr_scheduler, name)(torch_opt, **options)


def test_bad_optimizer_and_sequence_arguments():
    ours_opt, _ = _optimizers()
    other_opt, _ = _optimizers()
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        lr_scheduler.StepLR([], step_size=1)
    with pytest.raises(TypeError, match="ExponentialLR is not an Optimizer"):
        lr_scheduler.ReduceLROnPlateau(lr_scheduler.ExponentialLR(ours_opt, gamma=0.5))
    with pytest.raises(ValueError, match="expects at least one scheduler"):
        lr_scheduler.SequentialLR(ours_opt, [], milestones=[])
    with pytest.raises(ValueError, match="same optimizer"):
        lr_scheduler.SequentialLR(ours_opt, [lr_scheduler.StepLR(other_opt, 2)], milestones=[])
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        lr_scheduler.SequentialLR(ours_opt, [lr_scheduler.ReduceLROnPlateau(ours_opt)], milestones=[])
    with pytest.raises(ValueError, match="one more than the number of milestone points"):
        lr_scheduler.SequentialLR(ours_opt, [lr_scheduler.StepLR(ours_opt, 2)], milestones=[3])
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        lr_scheduler.OneCycleLR(optim.Adagrad([Tensor(np.zeros(1), requires_grad=True)]), max_lr=1.0, total_steps=5)
