"""Grad mode is per thread, as in torch: real threads, stepped through the interleavings that a process-wide
flag gets wrong."""

from __future__ import annotations

import threading

import tinygrad_norm as tn

TIMEOUT = 60  # seconds a step may wait for another thread: generous, for a loaded machine


def _records() -> bool:
    return (tn.ones(1, requires_grad=True) * 2).requires_grad


def _run(*targets) -> list:
    """Run each target in its own thread and return what each returned (exceptions re-raised here)."""
    results: list = [None] * len(targets)
    errors: list = []

    def wrap(i, target):
        try:
            results[i] = target()
        except BaseException as error:  # reported in the main thread
            errors.append(error)

    threads = [threading.Thread(target=wrap, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * TIMEOUT)
    if errors:
        raise errors[0]
    return results


def test_overlapping_no_grad_blocks_in_two_threads_leave_grad_enabled():
    """A enters no_grad, B enters no_grad, A leaves, B leaves: with one flag for the process B restores the
    False it saw from A, and recording stays off everywhere."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def first():
        with tn.no_grad():
            a_in.set()
            b_in.wait(TIMEOUT)
        a_out.set()
        return tn.is_grad_enabled(), _records()

    def second():
        a_in.wait(TIMEOUT)
        with tn.no_grad():
            b_in.set()
            a_out.wait(TIMEOUT)
        return tn.is_grad_enabled(), _records()

    assert _run(first, second) == [(True, True), (True, True)]
    assert tn.is_grad_enabled() and _records()


def test_no_grad_in_one_thread_does_not_stop_another_threads_training():
    inside, trained = threading.Event(), threading.Event()

    def evaluator():
        with tn.no_grad():
            inside.set()
            trained.wait(TIMEOUT)
            return _records()

    def trainer():
        inside.wait(TIMEOUT)
        w = tn.ones(3, requires_grad=True)
        (w * w).sum().backward()
        trained.set()
        return tn.is_grad_enabled(), w.grad.tolist()

    evaluated, (enabled, grad) = _run(evaluator, trainer)
    assert not evaluated
    assert enabled and grad == [2.0, 2.0, 2.0]


def test_a_new_thread_starts_with_grad_enabled_whatever_its_parent_does():
    with tn.no_grad():
        assert _run(tn.is_grad_enabled, _records) == [True, True]
        assert not tn.is_grad_enabled()


def test_set_grad_enabled_and_a_decorated_function_act_on_the_calling_thread_only():
    started, checked = threading.Event(), threading.Event()

    @tn.no_grad()
    def decorated():
        started.set()
        checked.wait(TIMEOUT)
        return tn.is_grad_enabled()

    def other():
        started.wait(TIMEOUT)
        enabled = tn.is_grad_enabled()
        tn.set_grad_enabled(False)  # as a function: this thread only, until changed
        off = tn.is_grad_enabled()
        checked.set()
        return enabled, off

    assert _run(decorated, other) == [False, (True, False)]
    assert tn.is_grad_enabled()


def test_set_grad_enabled_as_function_block_and_decorator():
    tn.set_grad_enabled(False)
    try:
        assert not _records()
    finally:
        tn.set_grad_enabled(True)
    with tn.set_grad_enabled(False):
        assert not _records()
    assert _records()

    @tn.set_grad_enabled(False)
    def off():
        return _records()

    assert _records() and not off() and _records()
