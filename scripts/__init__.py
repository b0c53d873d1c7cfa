"""The CLI scripts: each file runs as ``python scripts/<name>.py`` (a subprocess of the worker).

This marker only lets import-linter see the folder as one package, so the contract that scripts
never import ``app`` (the CLI-script boundary) is checked; the scripts import their siblings as
top-level modules (``import _common``) because they run from this folder.
"""
