"""Checks that need two processes, run by test_two_processes.py as `mpiexec -n 2 python two_processes.py`.

Each process builds the whole batch from the same seed and keeps its share; the reference is the same model run in
one process (on the whole batch, no communication), which each process computes for itself. Any failure raises,
and distributed's excepthook then aborts both processes, so a failed check never leaves the other one waiting.
Each process ends by printing "rank R: all checks passed".
"""

from __future__ import annotations

import numpy as np

import tinygrad_norm as tn
from tinygrad_norm import distributed, nn, optim
from tinygrad_norm.data import DataLoader

RTOL = 1e-11  # float64: results that differ only in the order of float64 sums


def close(actual, expected, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-300)
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * scale, err_msg=what)


def share_bounds(n: int, first: int) -> slice:
    """Rank 0 holds samples [0, first), rank 1 [first, n)."""
    return slice(0, first) if distributed.rank() == 0 else slice(first, n)


# ---------------------------------------------------------------------------------------------------------------
# collectives


def check_collectives():
    r = distributed.rank()
    a = np.array([1.0, 2.0, 3.0]) * (r + 1)
    assert distributed.all_reduce(a) is a
    close(a, [3.0, 6.0, 9.0], "sum")
    b = np.array([r, 10 - r], np.int64)
    distributed.all_reduce(b, "max")
    assert b.tolist() == [1, 10]
    c = np.full(4, r + 1.0, np.float32)
    distributed.all_reduce(c, "avg")
    assert c.dtype == np.float32 and (c == 1.5).all()
    strided = np.arange(12.0).reshape(3, 4)[:, ::2] * (r + 1)  # not contiguous: reduced through a copy
    distributed.all_reduce(strided, "min")
    close(strided, np.arange(12.0).reshape(3, 4)[:, ::2], "min of a strided array")
    d = np.full(3, float(r))
    work = distributed.broadcast(d, src=1, async_op=True)
    work.wait()
    assert (d == 1.0).all() and work.is_completed()
    gathered = distributed.all_gather(np.array([[r, r + 1]], np.int32))
    assert gathered.shape == (2, 1, 2) and gathered[:, 0].tolist() == [[0, 1], [1, 2]]
    distributed.barrier()


# ---------------------------------------------------------------------------------------------------------------
# SyncBatchNorm against one BatchNorm on the whole batch


def check_sync_batch_norm(layer, shape, first, momentum=0.1, steps=2):
    """`steps` training steps of SyncBatchNorm on this rank's share of each batch against BatchNorm on the whole
    batch: outputs, input gradients, summed parameter gradients, running statistics; then eval outputs."""
    what = f"{layer.__name__} {shape}, shares {first} and {shape[0] - first}"
    rng = np.random.default_rng(0)
    channels = shape[1]
    whole = layer(channels, momentum=momentum).double()
    with tn.no_grad():
        whole.weight.copy_(tn.tensor(1 + 0.3 * rng.standard_normal(channels)))
        whole.bias.copy_(tn.tensor(rng.standard_normal(channels)))
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(layer(channels, momentum=momentum).double())
    synced.load_state_dict(whole.state_dict())
    mine = share_bounds(shape[0], first)
    for step in range(steps):
        x = 5.0 + 3.0 * rng.standard_normal(shape)  # a mean well away from 0
        dy = rng.standard_normal(shape)
        x_whole, x_share = tn.tensor(x, requires_grad=True), tn.tensor(x[mine], requires_grad=True)
        y_whole, y_share = whole(x_whole), synced(x_share)
        (y_whole * tn.tensor(dy)).sum().backward()
        (y_share * tn.tensor(dy[mine])).sum().backward()
        close(y_share.data, y_whole.data[mine], f"{what} step {step}: output")
        close(x_share.grad.data, x_whole.grad.data[mine], f"{what} step {step}: input gradient")
        for name in ("weight", "bias"):
            summed = distributed.all_reduce(getattr(synced, name).grad.data.copy())
            close(summed, getattr(whole, name).grad.data, f"{what} step {step}: {name} gradient")
        for name in ("running_mean", "running_var"):
            close(getattr(synced, name).data, getattr(whole, name).data, f"{what} step {step}: {name}")
        whole.zero_grad()
        synced.zero_grad()
    assert synced.num_batches_tracked.item() == whole.num_batches_tracked.item() == steps
    whole.eval()
    synced.eval()
    x = rng.standard_normal(shape)
    close(synced(tn.tensor(x[mine])).data, whole(tn.tensor(x)).data[mine], f"{what}: eval output")


def check_sync_batch_norm_refuses_a_single_value():
    layer = nn.SyncBatchNorm(3).double()
    x = tn.tensor(np.ones((1, 3)) if distributed.rank() == 0 else np.ones((0, 3)))
    try:
        layer(x)
    except ValueError as error:
        assert "Expected more than 1 value per channel when training" in str(error), error
    else:
        raise AssertionError("one value per channel over both processes was accepted")


# ---------------------------------------------------------------------------------------------------------------
# DistributedDataParallel against one process on the combined batches


def mlp(norm: bool) -> nn.Module:
    tn.manual_seed(1 + distributed.rank())  # different initial weights: the wrapper must broadcast rank 0's
    if norm:  # no bias before the norm: its gradient is 0 up to rounding, which Adam's step would magnify
        return nn.Sequential(nn.Linear(6, 8, bias=False), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)).double()
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).double()


def check_ddp_training(make_optimizer, norm: bool, steps: int = 4, batch: int = 10, first: int = 5):
    """`steps` steps of DDP on each rank's share of `batch` samples (`first` on rank 0) against one process on the
    whole batches. Equal shares average to the whole batch's mean loss exactly; so do uneven ones when the loss
    of each share is weighted by its share of the batch."""
    what = f"DDP {'with SyncBatchNorm ' if norm else ''}{make_optimizer.__name__}, shares {first}/{batch - first}"
    model = mlp(norm)
    if norm:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    wrapped = distributed.DistributedDataParallel(model)
    reference = mlp(norm)
    reference.load_state_dict(model.state_dict())  # rank 0's weights, which the wrapper broadcast
    optimizer, reference_optimizer = make_optimizer(model.parameters()), make_optimizer(reference.parameters())
    rng = np.random.default_rng(2)
    mine = share_bounds(batch, first)
    weight = (mine.stop - mine.start) / batch * distributed.world_size()
    for _ in range(steps):
        x, labels = rng.standard_normal((batch, 6)), rng.integers(0, 3, batch)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(wrapped(tn.tensor(x[mine])), tn.tensor(labels[mine]))
        (loss * weight).backward()
        optimizer.step()
        reference_optimizer.zero_grad()
        nn.functional.cross_entropy(reference(tn.tensor(x)), tn.tensor(labels)).backward()
        reference_optimizer.step()
    for (name, actual), expected in zip(model.state_dict().items(), reference.state_dict().values(), strict=True):
        close(actual, expected, f"{what}: {name}")


def check_no_sync_accumulates_then_averages():
    model, reference = mlp(False), mlp(False)
    wrapped = distributed.DistributedDataParallel(model)
    reference.load_state_dict(model.state_dict())
    rng = np.random.default_rng(3)
    x, labels = rng.standard_normal((2, 8, 6)), rng.integers(0, 3, (2, 8))
    mine = share_bounds(8, 4)
    with wrapped.no_sync():
        nn.functional.cross_entropy(wrapped(tn.tensor(x[0][mine])), tn.tensor(labels[0][mine])).backward()
    local = model[0].weight.grad.data.copy()
    nn.functional.cross_entropy(wrapped(tn.tensor(x[1][mine])), tn.tensor(labels[1][mine])).backward()
    for step in range(2):
        nn.functional.cross_entropy(reference(tn.tensor(x[step])), tn.tensor(labels[step])).backward()
    for (name, p), q in zip(model.named_parameters(), reference.parameters(), strict=True):
        close(p.grad.data, q.grad.data, f"no_sync: {name} gradient")
    assert not np.allclose(local, model[0].weight.grad.data)


class TwoHeads(nn.Module):
    """`used` is used on rank 0 only, `unused` nowhere."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(2, 2).double()
        self.used = nn.Parameter(np.ones(2))
        self.unused = nn.Parameter(np.ones(2))

    def forward(self, x):
        y = self.body(x)
        return y * self.used if distributed.rank() == 0 else y


def check_parameters_without_gradient():
    model = distributed.DistributedDataParallel(TwoHeads())
    model(tn.tensor(np.ones((1, 2)))).sum().backward()
    used = model.module.used.grad
    assert used is not None, "a parameter used on rank 0 only has no gradient on this rank"
    expected = model.module.body(tn.tensor(np.ones((1, 2)))).data.sum(axis=0) / 2
    close(used.data, expected, "gradient of a parameter used on rank 0 only")
    assert model.module.unused.grad is None, "a parameter used nowhere got a gradient"


def check_mismatched_models_fail_clearly():
    features = 4 if distributed.rank() == 0 else 5
    for module, expected in ((nn.Linear(features, 3), "parameter weight (3, 4) float32 on rank 0, "
                              "parameter weight (3, 5) float32 on rank 1"),
                             (nn.Sequential(*[nn.Linear(2, 2) for _ in range(1 + distributed.rank())]), None)):
        try:
            distributed.DistributedDataParallel(module)
        except ValueError as error:
            assert "the processes hold different models" in str(error), error
            assert expected is None or expected in str(error), error
        else:
            raise AssertionError("DistributedDataParallel accepted different models on the two processes")


# ---------------------------------------------------------------------------------------------------------------
# data and dropout


def check_sharded_loader_and_dropout():
    loader = DataLoader(np.arange(23), batch_size=4, shuffle=True, rank=distributed.rank(), world_size=2, seed=5)
    for epoch in (0, 1):
        loader.set_epoch(epoch)
        mine = np.concatenate([batch.data for batch in loader])
        everyone = distributed.all_gather(np.bincount(mine, minlength=23))
        assert (everyone.sum(axis=0) == 1).all(), f"epoch {epoch}: not every sample exactly once"
    distributed.seed_dropout(7, epoch=2)
    mask = nn.functional.dropout(tn.ones(1000), 0.5).data
    masks = distributed.all_gather(mask)
    assert not np.array_equal(masks[0], masks[1]), "both processes drew the same dropout mask"
    distributed.seed_dropout(7, epoch=2)
    assert np.array_equal(nn.functional.dropout(tn.ones(1000), 0.5).data, mask), "masks are not reproducible"


def main():
    distributed.init(timeout=120)
    assert distributed.world_size() == 2, "run with mpiexec -n 2"
    check_collectives()
    for layer, shape, first in ((nn.BatchNorm1d, (9, 4), 4), (nn.BatchNorm1d, (8, 3, 5), 4),
                                (nn.BatchNorm2d, (7, 3, 4, 5), 2), (nn.BatchNorm2d, (5, 2, 3, 3), 0)):
        check_sync_batch_norm(layer, shape, first)
    check_sync_batch_norm(nn.BatchNorm1d, (6, 3), 3, momentum=None)
    check_sync_batch_norm_refuses_a_single_value()

    def sgd(params):
        return optim.SGD(params, lr=0.1, momentum=0.9)

    def adam(params):
        return optim.Adam(params, lr=0.01)

    for make_optimizer, norm, first in ((sgd, False, 5), (adam, False, 3), (sgd, True, 5), (adam, True, 7)):
        check_ddp_training(make_optimizer, norm, first=first)
    check_no_sync_accumulates_then_averages()
    check_parameters_without_gradient()
    check_mismatched_models_fail_clearly()
    check_sharded_loader_and_dropout()
    print(f"rank {distributed.rank()}: all checks passed", flush=True)


if __name__ == "__main__":
    main()
