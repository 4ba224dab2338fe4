"""``python -m qualitykit`` is ``qk``."""

from .cli import run

run()
