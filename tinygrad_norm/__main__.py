"""`python -m tinygrad_norm`: a small demo of the tape: build tensors, run an expression, backward."""

import tinygrad_norm as tn


def main() -> None:
    tn.manual_seed(0)
    x = tn.randn(4, 3, requires_grad=True)
    w = tn.randn(3, 2, requires_grad=True)
    b = tn.zeros(2, requires_grad=True)
    target = tn.tensor([0, 1, 1, 0])
    logits = (x @ w + b).gelu()
    loss = tn.nn.functional.cross_entropy(logits, target)
    loss.backward()
    print(f"loss   = {loss.item():.6f}")
    print(f"w.grad =\n{w.grad.numpy()}")
    print(f"b.grad = {b.grad.numpy()}")
    print(f"x.grad =\n{x.grad.numpy()}")


if __name__ == "__main__":
    main()
