"""`python -m server`: the same as `cekura-optimise serve`."""

import sys

from server.cli import main

sys.exit(main(["serve", *sys.argv[1:]]))
