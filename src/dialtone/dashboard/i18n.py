"""The console's two languages: English (the text itself, or for a stored code its label in
``locale/en_*.py``) and French (``locale/fr_*.py``).

A page says ``t("Calls today")`` or ``t("{count} calls", count=3)``; the French catalogue
maps the English text to its French. A word missing from the French catalogue is shown
in English (and a test lists every text of the templates and pages that has none).
Numbers, money and dates are formatted in the language's way.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from types import MappingProxyType

from dialtone.dashboard import locale

LANGUAGES: tuple[str, ...] = ("en", "fr")
DEFAULT = "en"
LANGUAGE_NAMES: Mapping[str, str] = MappingProxyType({"en": "English", "fr": "Français"})

Translate = Callable[..., str]


def _catalogue(prefix: str, table: str) -> Mapping[str, str]:
    merged: dict[str, str] = {}
    for info in pkgutil.iter_modules(locale.__path__):
        if not info.name.startswith(prefix):
            continue
        module = importlib.import_module(f"{locale.__name__}.{info.name}")
        for english, translated in getattr(module, table).items():
            if merged.get(english, translated) != translated:
                raise ValueError(f"{english!r} is translated two ways")
            merged[english] = translated
    return MappingProxyType(merged)


@cache
def french() -> Mapping[str, str]:
    """Every area's French words, merged (an English text translated twice must agree)."""
    return _catalogue("fr_", "FRENCH")


@cache
def english() -> Mapping[str, str]:
    """How English says the codes a page shows as they are stored ("no-answer" is "No
    answer"): ``locale/en_*.py``; any other text is its own English."""
    return _catalogue("en_", "ENGLISH")


def translator(language: str) -> Translate:
    """``t(text, **values)``: the text in ``language``, with ``{name}`` filled in."""
    table = french() if language == "fr" else english()

    def t(text: str, /, **values: object) -> str:
        said = table.get(text, text)
        return said.format(**values) if values else said

    return t


def choose(preferred: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The language to show: the browser's cookie (the header's switch), else the user's
    saved choice, else the best of ``Accept-Language`` we speak, else English."""
    for choice in (cookie, preferred):
        if choice in LANGUAGES:
            return choice
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES and quality > 0:
            ranked.append((-quality, position, base))
    return min(ranked)[2] if ranked else DEFAULT


def number(value: int | Decimal | float, language: str, places: int | None = None) -> str:
    """A number with the language's thousands and decimal separators."""
    text = f"{value:,.{places}f}" if places is not None else f"{value:,}"
    if language == "fr":
        # French: a narrow no-break space between thousands, a comma for decimals.
        return text.replace(",", "\u202f").replace(".", ",")
    return text


def money(amount: Decimal, currency: str, language: str) -> str:
    """An amount to the cent: "€1,234.50" in English, "1 234,50 €" in French."""
    symbol = {"EUR": "€", "USD": "$", "GBP": "£"}.get(currency, currency + " ")
    # Half up to the cent, as invoices round (rating/invoice.py).
    text = number(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), language, 2)
    if language == "fr":
        return f"{text}\u00a0{symbol.strip()}"
    if text.startswith("-"):
        return f"-{symbol}{text[1:]}"
    return f"{symbol}{text}"


def moment(value: datetime | None, language: str) -> str:
    """A date and time in UTC, as the language writes it ("" for none)."""
    if value is None:
        return ""
    if language == "fr":
        return value.strftime("%d/%m/%Y %H:%M:%S") + " UTC"
    return value.strftime("%Y-%m-%d %H:%M:%S") + " UTC"


def seconds(value: Decimal | int | float, language: str) -> str:
    """A duration as m:ss (or h:mm:ss)."""
    whole = int(value)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"
