"""`trace()`: a tiny profiler that records each op's forward and each node's backward as they run.

    with autograd.trace() as t:
        loss = criterion(model(x), y)
        loss.backward()
    print(t.table())   # per op and phase: calls, total and mean time, share of the time, bytes allocated

Times are wall-clock seconds of the op's `forward` or `backward` call alone (the tape's bookkeeping around it
is not counted). Bytes are those of the arrays each call returned in new memory: a forward's output unless it
is a view of an input, a backward's input gradients unless they are views of its output's gradient;
temporaries and what an op saves for its backward are not counted. Ops in every thread are recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .autograd import Function, Watcher, watching


@dataclass(frozen=True)
class TraceEvent:
    """One op run: `phase` is "forward" or "backward"; `position` is its tape position (None for a forward
    that was not recorded, e.g. under no_grad)."""

    phase: str
    op: str
    position: int | None
    seconds: float
    bytes: int


class Trace(Watcher):
    """The events recorded by a `trace()` block, in the order they ran."""

    def __init__(self) -> None:
        self.events: list[TraceEvent] = []

    def forward(self, fn: Function, inputs: tuple, out, seconds: float) -> None:
        data = out.data
        fresh = not any(fn.xp.may_share_memory(data, t.data) for t in inputs)
        position = getattr(fn, "position", None)
        self.events.append(TraceEvent("forward", type(fn).__name__, position, seconds, data.nbytes if fresh else 0))

    def backward(self, fn: Function, grad, input_grads: tuple, seconds: float) -> None:
        allocated = sum(g.nbytes for g in input_grads if g is not None and not fn.xp.may_share_memory(g, grad))
        self.events.append(TraceEvent("backward", type(fn).__name__, fn.position, seconds, allocated))

    def table(self, limit: int | None = None) -> str:
        """One row per op and phase, the most time first: calls, total ms, mean µs, % of all the time, bytes."""
        rows: dict[tuple[str, str], list] = {}
        for event in self.events:
            row = rows.setdefault((event.op, event.phase), [0, 0.0, 0])
            row[0] += 1
            row[1] += event.seconds
            row[2] += event.bytes
        total = sum(row[1] for row in rows.values()) or 1.0
        ranked = sorted(rows.items(), key=lambda item: item[1][1], reverse=True)[:limit]
        lines = [f"{'op':<16} {'phase':<8} {'calls':>6} {'total ms':>9} {'mean us':>9} {'time':>6} {'bytes':>12}"]
        for (op, phase), (calls, seconds, allocated) in ranked:
            lines.append(
                f"{op:<16} {phase:<8} {calls:>6} {1e3 * seconds:>9.3f} {1e6 * seconds / calls:>9.1f} "
                f"{100 * seconds / total:>5.1f}% {allocated:>12,}"
            )
        return "\n".join(lines)


@contextmanager
def trace() -> Iterator[Trace]:
    """Record every forward op and backward node run inside the block (see the module docstring)."""
    with watching(Trace()) as recorder:
        yield recorder
