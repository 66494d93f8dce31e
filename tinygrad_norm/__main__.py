"""`python -m tinygrad_norm`: the `tinygrad-norm` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
