"""`python -m diffcompare EXPR ...` runs the command line."""

from .cli import main

main()
