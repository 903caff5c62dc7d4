"""`python -m diffcompare EXPR ...` runs the command line."""

from diffcompare.cli.main import main

main()
