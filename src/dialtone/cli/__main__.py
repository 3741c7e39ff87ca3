"""``python -m dialtone.cli``."""

from dialtone.cli import app

app()
