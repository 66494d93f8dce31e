"""`SyncBatchNorm`: BatchNorm over the whole batch of a data-parallel run, of which each process holds a share."""

from __future__ import annotations

from .. import distributed
from ..tensor import Tensor
from .module import Module
from .normalization import _BatchNorm
from .norms import batch_norm, sync_batch_norm


class SyncBatchNorm(_BatchNorm):
    """Batch normalization (arXiv:1502.03167; see `_BatchNorm`) of (N, C, *) input whose batch is spread over the
    processes of a run (tinygrad_norm.distributed), as torch.nn.SyncBatchNorm.

    In training with more than one process, every process's statistics are those of all shares together (the
    math and the communication in ops/sync_norm.py), and so are the running statistics, the same on every process;
    the shares may differ in N, even be empty. Everywhere else (eval, one process, `distributed` not initialized)
    it is exactly BatchNorm. Every process must run the same SyncBatchNorm layers in the same order. Unlike torch
    there is no process_group: the statistics span every process of the run.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim < 2:
            raise ValueError(f"expected at least 2D input (got {input.ndim}D input)")
        if input.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def _batch_norm(self, input, running_mean, running_var, weight, bias, training, momentum, eps) -> Tensor:
        if self.training and distributed.is_initialized() and distributed.world_size() > 1:
            return sync_batch_norm(input, running_mean, running_var, weight, bias, momentum, eps)
        return batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module) -> Module:
        """`module` with every BatchNorm1d/2d in it replaced by a SyncBatchNorm sharing its parameters, buffers and
        training mode (the optimizer's parameters stay valid); returns the new module when `module` itself is one."""
        converted = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats)
            for name in ("weight", "bias"):
                converted.register_parameter(name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                converted.register_buffer(name, getattr(module, name))
            converted.training = module.training
        for name, child in module.named_children():
            converted.add_module(name, cls.convert_sync_batchnorm(child))
        return converted
