"""``python -m engine`` is ``gavel``."""

from engine.cli import main

main(prog_name="gavel")
