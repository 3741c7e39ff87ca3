"""TERMS M3: the keywords a recipient sends to stop, restart or ask for help, in the
languages the platform's customers' recipients write in, and the confirmation each gets
in the recipient's language.

A keyword is the whole message (as carriers read it: "stop" and "Stop." are STOP,
"please stop calling me" is not), in any of the languages: a Spanish speaker may write
STOP to a French number. The confirmation goes in the language of the recipient's
country (their number's), English when the platform does not know it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from dialtone.policy.numbering import region_code


class Keyword(StrEnum):
    """What a keyword asks for."""

    STOP = "stop"  # stop messages from this sender
    STOP_ALL = "stop_all"  # stop messages from every sender of the account
    START = "start"  # opt back in
    HELP = "help"  # the account's help text


def _fold(text: str) -> str:
    """Upper case, accents off, spaces single, end punctuation off: ``Arrêt !`` and
    ``ARRET`` are one keyword."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", plain.strip().strip(".!?;,").strip()).upper()


# Per keyword, per language, the words separated by "|" (a keyword may be two words).
_LISTS: Mapping[Keyword, Mapping[str, str]] = MappingProxyType(
    {
        Keyword.STOP_ALL: {"en": "STOPALL|STOP ALL", "fr": "ARRET TOUT|STOP TOUT"},
        Keyword.STOP: {
            "en": "STOP|UNSUBSCRIBE|CANCEL|END|QUIT|OPTOUT|OPT OUT|REVOKE",  # CTIA's list
            "fr": "ARRET|ARRÊT|STOP SMS|DESABONNER|DÉSABONNER|DESINSCRIPTION",
            "es": "BAJA|PARAR|CANCELAR|DETENER",
            "de": "STOPP|ABMELDEN|ABBESTELLEN",
            "it": "ANNULLA|BASTA|FERMA|DISISCRIVI",
            "nl": "AFMELDEN|STOPPEN|UITSCHRIJVEN",
            "pt": "SAIR|CANCELAR SUBSCRICAO|DESCADASTRAR",
        },
        Keyword.START: {
            "en": "START|UNSTOP|YES|SUBSCRIBE",
            "fr": "OUI|REABONNER",
            "es": "ALTA|SI",
            "de": "ANMELDEN|JA",
            "it": "ISCRIVI",
            "nl": "AANMELDEN",
            "pt": "SIM|ENTRAR",
        },
        Keyword.HELP: {
            "en": "HELP|INFO",
            "fr": "AIDE",
            "es": "AYUDA",
            "de": "HILFE",
            "it": "AIUTO",
            "pt": "AJUDA",
        },
    }
)
KEYWORDS: Mapping[Keyword, frozenset[str]] = MappingProxyType(
    {
        kind: frozenset(_fold(w) for words in lists.values() for w in words.split("|"))
        for kind, lists in _LISTS.items()
    }
)
_BY_WORD = {word: kind for kind, words in KEYWORDS.items() for word in words}


def keyword_of(text: str) -> Keyword | None:
    """The keyword ``text`` is, when the whole message is one (M3)."""
    return _BY_WORD.get(_fold(text))


# The language of a recipient's country, for the confirmations.
_LANGUAGES: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(("FR", "BE", "LU", "MC", "CH", "RE", "GP", "MQ", "GF", "YT"), "fr"),
        **dict.fromkeys(("ES", "MX", "AR", "CO", "CL", "PE", "VE", "UY", "EC", "BO"), "es"),
        **dict.fromkeys(("DE", "AT", "LI"), "de"),
        **dict.fromkeys(("IT", "SM", "VA"), "it"),
        **dict.fromkeys(("NL", "SR"), "nl"),
        **dict.fromkeys(("PT", "BR", "AO", "MZ"), "pt"),
    }
)

CONFIRMATIONS: Mapping[str, Mapping[Keyword, str]] = MappingProxyType(
    {
        "en": {
            Keyword.STOP: "You are unsubscribed and will get no more messages from this "
            "number. Reply START to subscribe again.",
            Keyword.STOP_ALL: "You are unsubscribed from all our numbers. Reply START to "
            "subscribe again.",
            Keyword.START: "You are subscribed again. Reply STOP to unsubscribe.",
        },
        "fr": {
            Keyword.STOP: "Vous êtes désabonné : vous ne recevrez plus de messages de ce "
            "numéro. Répondez START pour vous réabonner.",
            Keyword.STOP_ALL: "Vous êtes désabonné de tous nos numéros. Répondez START pour "
            "vous réabonner.",
            Keyword.START: "Vous êtes de nouveau abonné. Répondez STOP pour vous désabonner.",
        },
        "es": {
            Keyword.STOP: "Se ha dado de baja: no recibirá más mensajes de este número. "
            "Responda START para volver a suscribirse.",
            Keyword.STOP_ALL: "Se ha dado de baja de todos nuestros números. Responda START "
            "para volver a suscribirse.",
            Keyword.START: "Está suscrito de nuevo. Responda STOP para darse de baja.",
        },
        "de": {
            Keyword.STOP: "Sie sind abgemeldet und erhalten keine Nachrichten mehr von dieser "
            "Nummer. Antworten Sie START, um sich wieder anzumelden.",
            Keyword.STOP_ALL: "Sie sind von allen unseren Nummern abgemeldet. Antworten Sie "
            "START, um sich wieder anzumelden.",
            Keyword.START: "Sie sind wieder angemeldet. Antworten Sie STOP, um sich abzumelden.",
        },
        "it": {
            Keyword.STOP: "La sua iscrizione è annullata: non riceverà più messaggi da questo "
            "numero. Risponda START per iscriversi di nuovo.",
            Keyword.STOP_ALL: "La sua iscrizione a tutti i nostri numeri è annullata. "
            "Risponda START per iscriversi di nuovo.",
            Keyword.START: "È di nuovo iscritto. Risponda STOP per annullare l'iscrizione.",
        },
        "nl": {
            Keyword.STOP: "U bent afgemeld en ontvangt geen berichten meer van dit nummer. "
            "Antwoord START om u opnieuw aan te melden.",
            Keyword.STOP_ALL: "U bent afgemeld voor al onze nummers. Antwoord START om u "
            "opnieuw aan te melden.",
            Keyword.START: "U bent weer aangemeld. Antwoord STOP om u af te melden.",
        },
        "pt": {
            Keyword.STOP: "A sua subscrição foi cancelada: não receberá mais mensagens deste "
            "número. Responda START para voltar a subscrever.",
            Keyword.STOP_ALL: "A sua subscrição de todos os nossos números foi cancelada. "
            "Responda START para voltar a subscrever.",
            Keyword.START: "Está subscrito de novo. Responda STOP para cancelar.",
        },
    }
)


def language_of(e164: str) -> str:
    """The language a recipient is answered in: their number's country's, else English."""
    region = region_code(e164) if e164.startswith("+") else None
    return _LANGUAGES.get(region or "", "en")


def confirmation(keyword: Keyword, e164: str, help_text: str) -> str:
    """The answer to ``keyword`` from ``e164``, in the recipient's language (HELP gets
    the account's help text, as written)."""
    if keyword is Keyword.HELP:
        return help_text
    return CONFIRMATIONS[language_of(e164)][keyword]
