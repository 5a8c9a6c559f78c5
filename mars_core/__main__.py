"""`python -m mars_core` is the `mars` command."""

from mars_core.cli import main

main()
