"""``python -m app.cli``: the same as the ``vidgen`` command (the fleet starts its children so)."""

from app.cli.main import main

main()
