"""tinygrad_norm.distributed in one process: a world of one (with or without MPI), SyncBatchNorm as BatchNorm and
as torch's, the DDP wrapper's checks, dropout seeds per process, and the errors. Two processes:
test_two_processes.py."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm import distributed, nn
from tinygrad_norm.cli import main
from tinygrad_norm.distributed import world

torch = pytest.importorskip("torch")

from ..nn.torch_helpers import compare_forward_backward, copy_params_from_torch  # noqa: E402


@pytest.fixture
def no_mpi(monkeypatch):
    """A fresh process's view with mpi4py not installed (and no launcher)."""
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    monkeypatch.setattr(world, "_world", None)
    for name in world._LAUNCHER_SIZE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# ---------------------------------------------------------------------------------------------------------------
# a world of one


def test_without_mpi_a_process_is_a_world_of_one_and_collectives_are_identities(no_mpi):
    assert not distributed.is_initialized() and not distributed.is_available()
    assert (distributed.rank(), distributed.world_size()) == (0, 1) and distributed.is_initialized()
    a = np.arange(6.0).reshape(2, 3)
    assert distributed.all_reduce(a, "avg") is a and (a == np.arange(6.0).reshape(2, 3)).all()
    assert distributed.broadcast(a) is a
    work = distributed.all_reduce(a, async_op=True)
    assert work.is_completed() and work.wait()
    gathered = distributed.all_gather(a)
    assert gathered.shape == (1, 2, 3) and (gathered[0] == a).all()
    distributed.barrier()


def test_a_launcher_without_mpi_is_an_import_error_naming_the_extra(no_mpi, monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "2")
    message = r"^a launcher started 2 processes, but MPI cannot be loaded .*tinygrad-norm\[mpi\]"
    with pytest.raises(ImportError, match=message):
        distributed.init()
    assert not distributed.is_initialized()


def test_distributed_training_without_mpi_exits_2_with_one_line(no_mpi, capsys):
    assert main(["train", "--epochs", "1", "--distributed"]) == 2
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1 and "pip install 'tinygrad-norm[mpi]'" in err, err
    assert out == ""


def test_distributed_training_in_one_process_resumes_only_as_it_was_started(capsys, tmp_path):
    checkpoint = str(tmp_path / "run.ckpt")
    assert main(["train", "--epochs", "1", "--distributed", "--quiet", "--save", checkpoint]) == 0
    assert "epoch 1/1 " in capsys.readouterr().out and tn.load(checkpoint)["processes"] == 1
    assert main(["train", "--epochs", "2", "--resume", checkpoint]) == 2
    err = capsys.readouterr().err
    assert err == ("tinygrad-norm: error: --resume: the checkpoint was written by a run of 1 process (--distributed), "
                   "but this is a run without --distributed; resume it as it was started\n")


def test_mpi_alone_is_a_world_of_one():
    distributed.init()
    assert distributed.is_available() and (distributed.rank(), distributed.world_size()) == (0, 1)


def test_the_mpiexec_of_the_mpi_extra_is_found():
    path = distributed.find_mpiexec()
    assert path is not None and os.access(path, os.X_OK)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: distributed.all_reduce([1.0]), TypeError, "all_reduce takes a numpy or CuPy array, got list"),
        (lambda: distributed.all_reduce(np.ones(2), "mean"), ValueError, "all_reduce: op must be one of"),
        (lambda: distributed.all_reduce(np.ones(2, np.int64), "avg"), TypeError, "needs a floating-point array"),
        (lambda: distributed.broadcast(np.ones(2), src=1), ValueError, r"src must be a rank in \[0, 1\), got 1"),
        (lambda: distributed.broadcast(_read_only()), ValueError, "works in place and needs a writable array"),
        (lambda: distributed.init(timeout=0), ValueError, "timeout must be a positive number of seconds, got 0"),
        (lambda: distributed.seed_dropout(1.5), TypeError, "seed must be an int"),
        (lambda: distributed.seed_dropout(1, -1), ValueError, "epoch must be non-negative"),
    ],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


def _read_only():
    a = np.ones(3)
    a.flags.writeable = False
    return a


def test_a_bad_timeout_in_the_environment_is_refused(monkeypatch):
    monkeypatch.setattr(world, "_world", None)
    monkeypatch.setenv(world.TIMEOUT_ENV, "soon")
    with pytest.raises(ValueError, match=f"^{world.TIMEOUT_ENV} must be a positive number of seconds, got 'soon'$"):
        distributed.init()


# ---------------------------------------------------------------------------------------------------------------
# SyncBatchNorm in one process


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "args, kwargs, shape",
    [((5,), {}, (8, 5)), ((5,), {"momentum": None}, (6, 5, 7)), ((4,), {"affine": False}, (3, 4, 5, 6)),
     ((4,), {"track_running_stats": False}, (3, 4, 5, 6)), ((3,), {"bias": False, "eps": 1e-3}, (2, 3, 2, 2, 2))],
)
def test_sync_batch_norm_in_one_process_matches_torch(args, kwargs, shape, dtype):
    theirs = torch.nn.SyncBatchNorm(*args, **kwargs).to({np.float32: torch.float32, np.float64: torch.float64}[dtype])
    ours = nn.SyncBatchNorm(*args, **kwargs).to(dtype)
    with torch.no_grad():
        for param in theirs.parameters():
            param.uniform_(0.5, 1.5)
    copy_params_from_torch(ours, theirs)
    rtol, atol = {np.float32: (1e-5, 5e-6), np.float64: (1e-10, 1e-12)}[dtype]
    rng = np.random.default_rng(0)
    for step in range(3):
        x = (2 + 3 * rng.standard_normal(shape)).astype(dtype)
        compare_forward_backward(ours, theirs, x, rtol=rtol, atol=atol, seed=step)
    ours.eval()
    theirs.eval()
    compare_forward_backward(ours, theirs, rng.standard_normal(shape).astype(dtype), rtol=rtol, atol=atol)
    assert repr(ours) == repr(theirs)


def test_sync_batch_norm_in_one_process_is_batch_norm_bit_for_bit():
    batch_norm = nn.BatchNorm2d(3)
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm2d(3))
    x = tn.randn(4, 3, 5, 5, requires_grad=True)
    x2 = x.detach().requires_grad_()
    y, y2 = batch_norm(x), synced(x2)
    (y * y).sum().backward()
    (y2 * y2).sum().backward()
    np.testing.assert_array_equal(y2.data, y.data)
    np.testing.assert_array_equal(x2.grad.data, x.grad.data)
    np.testing.assert_array_equal(synced.weight.grad.data, batch_norm.weight.grad.data)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_array_equal(getattr(synced, name).data, getattr(batch_norm, name).data)


@pytest.mark.parametrize(
    "shape, message",
    [((4,), r"expected at least 2D input \(got 1D input\)"),
     ((4, 0), "SyncBatchNorm number of input channels should be non-zero")],
)
def test_sync_batch_norm_input_errors_match_torch(shape, message):
    with pytest.raises(ValueError, match=message):
        nn.SyncBatchNorm(4)(tn.zeros(*shape))
    with pytest.raises(ValueError, match=message):
        torch.nn.SyncBatchNorm(4)(torch.zeros(*shape))


def test_convert_sync_batchnorm_shares_parameters_buffers_and_mode():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Sequential(nn.BatchNorm2d(2).double()),
                          nn.InstanceNorm2d(2, affine=True))
    model[2][0].eval()
    originals = {name: t for name, t in [*model.named_parameters(), *model.named_buffers()]}
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert converted is model
    assert type(model[1]) is nn.SyncBatchNorm and type(model[2][0]) is nn.SyncBatchNorm
    assert type(model[3]) is nn.InstanceNorm2d and type(model[0]) is nn.Linear
    assert not model[2][0].training and model[1].training
    assert {name: t for name, t in [*model.named_parameters(), *model.named_buffers()]} == originals
    root = nn.BatchNorm1d(2, affine=False)
    assert type(nn.SyncBatchNorm.convert_sync_batchnorm(root)) is nn.SyncBatchNorm


def test_convert_sync_batchnorm_gives_torch_structure():
    ours = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)))
    theirs = torch.nn.SyncBatchNorm.convert_sync_batchnorm(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3),
                                                                               torch.nn.BatchNorm2d(2)))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())


# ---------------------------------------------------------------------------------------------------------------
# DistributedDataParallel in one process


def test_ddp_in_one_process_is_the_module_with_torch_state_dict_keys():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ddp = distributed.DistributedDataParallel(model)
    assert ddp.module is model and repr(ddp).startswith("DistributedDataParallel(\n  (module): Sequential(\n")
    assert list(ddp.state_dict()) == [f"module.{key}" for key in model.state_dict()]
    x = tn.randn(5, 3)
    np.testing.assert_array_equal(ddp(x).data, model(x).data)
    with ddp.no_sync():
        assert not ddp.require_backward_grad_sync
    assert ddp.require_backward_grad_sync


def test_ddp_buckets_hold_one_dtype_each_in_reverse_order_up_to_the_cap():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2).double())  # 48 + 16 bytes, then 64 + 16 bytes
    buckets = distributed.DistributedDataParallel(model)._buckets
    assert [[p.shape for p in b.params] for b in buckets] == [[(2,), (2, 4)], [(4,), (4, 3)]]
    assert [b.flat.dtype for b in buckets] == [np.float64, np.float32] and buckets[0].flat.shape == (10,)
    buckets = distributed.DistributedDataParallel(model, bucket_cap_mb=64 / 2**20)._buckets
    assert [[p.shape for p in b.params] for b in buckets] == [[(2,)], [(2, 4)], [(4,), (4, 3)]]


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: distributed.DistributedDataParallel(lambda x: x), TypeError, "wraps a Module, got function"),
        (lambda: distributed.DistributedDataParallel(nn.ReLU()), RuntimeError, "is not needed when a module"),
        (lambda: distributed.DistributedDataParallel(nn.Linear(2, 2), bucket_cap_mb=0), ValueError,
         "bucket_cap_mb must be a positive number, got 0"),
    ],
)
def test_ddp_refuses_what_torch_refuses(make, error, message):
    with pytest.raises(error, match=message):
        make()


# ---------------------------------------------------------------------------------------------------------------
# dropout seeds per process


def test_seed_dropout_reproduces_an_epoch_and_leaves_the_generator_alone():
    tn.manual_seed(3)
    generator_state = tn.random.get_state()["generator"]
    distributed.seed_dropout(3, epoch=1)
    first = nn.functional.dropout(tn.ones(200), 0.5).data
    assert tn.random.get_state()["generator"] == generator_state
    distributed.seed_dropout(3, epoch=2)
    other_epoch = nn.functional.dropout(tn.ones(200), 0.5).data
    distributed.seed_dropout(3, epoch=1)
    np.testing.assert_array_equal(nn.functional.dropout(tn.ones(200), 0.5).data, first)
    assert not np.array_equal(first, other_epoch)
