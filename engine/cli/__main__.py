"""``python -m engine.cli`` is ``gavel``."""

from engine.cli import main

main(prog_name="gavel")
