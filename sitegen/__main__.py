"""`python -m sitegen` runs the command line."""

from sitegen.commands.cli import run

run()
