"""Module hooks with torch's signatures: forward pre-hooks, forward hooks and full backward hooks (`HookMethods`,
which `Module` takes its methods from), and the call that runs them. A module without hooks is called straight.

A full backward hook needs every gradient of the module's inputs at once, and a tape node has one output. So a
call with backward hooks records three kinds of identity nodes around `forward`:

    BackwardHookGate     the inputs that require grad -> a 0-d token, recorded first, so its backward runs last
    BackwardHookInput    (input, token) -> input, one per input: its backward keeps the input's gradient and sends
                         a zero to the token, so the gate runs once every input's gradient is in
    BackwardHookOutput   output -> output, one per output: its backward keeps the output's gradient

The gate's backward calls the hooks with every gradient and returns the inputs' gradients (or the hooks'
replacements) to the nodes that made the inputs. When no input requires grad the hooks run at the first output's
node instead, and must return None (as torch).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..autograd import Function, is_grad_enabled
from ..hooks import RemovableHandle, add_hook
from ..tensor import Tensor


class HookMethods:
    """Register and run a Module's hooks; `Module.__init__` calls `_init_hooks`."""

    def _init_hooks(self) -> None:
        for name, empty in (
            ("_forward_pre_hooks", dict),
            ("_forward_pre_hooks_with_kwargs", set),
            ("_forward_hooks", dict),
            ("_forward_hooks_with_kwargs", set),
            ("_backward_hooks", dict),
        ):
            object.__setattr__(self, name, empty())

    def register_forward_pre_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Run `hook(module, args)` before each `forward`: a returned value replaces the positional args (a
        tuple, or one value). With `with_kwargs=True` it is `hook(module, args, kwargs)`, returning None or
        `(args, kwargs)`. Hooks run in the order registered; `prepend=True` puts this one first."""
        extra = (self._forward_pre_hooks_with_kwargs,)
        handle = add_hook(self._forward_pre_hooks, hook, prepend, extra)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs.add(handle.id)
        return handle

    def register_forward_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Run `hook(module, args, output)` after each `forward`: a returned value replaces the output. With
        `with_kwargs=True` it is `hook(module, args, kwargs, output)`. `prepend=True` puts this hook first."""
        handle = add_hook(self._forward_hooks, hook, prepend, (self._forward_hooks_with_kwargs,))
        if with_kwargs:
            self._forward_hooks_with_kwargs.add(handle.id)
        return handle

    def register_full_backward_hook(self, hook: Callable[..., Any], prepend: bool = False) -> RemovableHandle:
        """Run `hook(module, grad_input, grad_output)` each time a backward has the gradients of this call's
        inputs: `grad_input` has one entry per positional argument (zeros for a tensor that got no gradient or
        requires none, None for a non-tensor, and None for all when no input requires grad), `grad_output` one
        per output (None where none came back). A returned tuple of the same length replaces `grad_input` (as
        torch)."""
        return add_hook(self._backward_hooks, hook, prepend)

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        for key, hook in list(self._forward_pre_hooks.items()):
            if key in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), but got {result}."
                        )
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        call = _BackwardHookCall(self, args) if self._backward_hooks and is_grad_enabled() else None
        if call is not None:
            args = call.wrap_inputs(args)
        output = self.forward(*args, **kwargs)
        for key, hook in list(self._forward_hooks.items()):
            if key in self._forward_hooks_with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:
                output = result
        return output if call is None else call.wrap_outputs(output)


class _BackwardHookCall:
    """One call of a module with full backward hooks: the gradients its identity nodes keep, and the hooks' run."""

    def __init__(self, module: HookMethods, args: tuple):
        self.module, self.args = module, args
        self.hooked = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        self.grad_inputs: dict[int, Any] = {}
        self.grad_outputs: dict[int, Any] = {}
        self.outputs: tuple = ()

    def wrap_inputs(self, args: tuple) -> tuple:
        if not self.hooked:
            return args
        gate = BackwardHookGate.apply(*[args[i] for i in self.hooked], call=self)
        wrapped = list(args)
        for i in self.hooked:
            wrapped[i] = BackwardHookInput.apply(args[i], gate, call=self, index=i)
        return tuple(wrapped)

    def wrap_outputs(self, output: Any) -> Any:
        outputs = (output,) if isinstance(output, Tensor) else output if isinstance(output, tuple) else None
        if outputs is None:
            return output
        self.outputs = outputs
        self.first_hooked_output = next((j for j, o in enumerate(outputs) if _requires_grad(o)), None)
        wrapped = tuple(
            BackwardHookOutput.apply(o, call=self, index=j) if _requires_grad(o) else o for j, o in enumerate(outputs)
        )
        return wrapped[0] if isinstance(output, Tensor) else wrapped

    def run_hooks(self) -> tuple:
        """Call the hooks with this backward's gradients; the (replaced) gradients of the hooked inputs."""
        grad_input = tuple(self._grad_input(i, arg) for i, arg in enumerate(self.args))
        grad_output = tuple(_wrap(self.grad_outputs.get(j)) for j in range(len(self.outputs)))
        self.grad_inputs, self.grad_outputs = {}, {}  # a retained graph's next backward starts afresh
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input, grad_output)
            if result is None:
                continue
            result = tuple(result) if isinstance(result, tuple | list) else (result,)
            if not self.hooked and any(g is not None for g in result):
                raise RuntimeError(
                    "Backward hook for Modules where no input requires gradient should always return None or None "
                    "for all gradients."
                )
            if len(result) != len(grad_input):
                raise RuntimeError(
                    f"Backward hook returned an invalid number of grad_input, got {len(result)}, but expected "
                    f"{len(grad_input)}"
                )
            grad_input = result
        return tuple(None if grad_input[i] is None else grad_input[i].data for i in self.hooked)

    def _grad_input(self, index: int, arg: Any) -> Tensor | None:
        if not isinstance(arg, Tensor) or not self.hooked:  # no input requires grad: all None (as torch)
            return None
        grad = self.grad_inputs.get(index)
        return _wrap(grad if grad is not None else arg.xp.zeros(arg.shape, arg.dtype))


def _requires_grad(value: Any) -> bool:
    return isinstance(value, Tensor) and value.requires_grad


def _wrap(grad) -> Tensor | None:
    return None if grad is None else Tensor._from_array(grad, False)


class BackwardHookGate(Function):
    """The module's inputs that require grad -> a 0-d token; backward: the hooks, then the inputs' gradients."""

    saved_inputs = ()

    def forward(self, *inputs, call: _BackwardHookCall):
        self.hook_call = call
        return self.xp.zeros((), inputs[0].dtype)

    def backward(self, grad):
        return self.hook_call.run_hooks()


class BackwardHookInput(Function):
    """(input, token) -> input; backward keeps the input's gradient for the gate and sends the token a zero."""

    saved_inputs, is_view = (0,), True

    def forward(self, x, token, call: _BackwardHookCall, index: int):
        self.hook_call, self.index, self.token_dtype = call, index, token.dtype
        return x

    def backward(self, grad):
        self.hook_call.grad_inputs[self.index] = grad
        return None, self.xp.zeros((), self.token_dtype)


class BackwardHookOutput(Function):
    """output -> output; backward keeps the output's gradient (and runs the hooks when no input has a gate)."""

    saved_inputs, is_view = (0,), True

    def forward(self, y, call: _BackwardHookCall, index: int):
        self.hook_call, self.index = call, index
        return y

    def backward(self, grad):
        self.hook_call.grad_outputs[self.index] = grad
        call = self.hook_call
        if not call.hooked and self.index == call.first_hooked_output:  # the last output node to run
            call.run_hooks()
        return grad
