"""TERMS M3: keywords in the recipients' languages, and the answers in theirs."""

from __future__ import annotations

import pytest

from dialtone.policy.sms_keywords import KEYWORDS, Keyword, confirmation, keyword_of, language_of


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", Keyword.STOP),
        (" stop. ", Keyword.STOP),
        ("Arrêt", Keyword.STOP),
        ("arret !", Keyword.STOP),
        ("stop   sms", Keyword.STOP),
        ("UNSUBSCRIBE", Keyword.STOP),
        ("Cancel", Keyword.STOP),
        ("END", Keyword.STOP),
        ("quit", Keyword.STOP),
        ("Baja", Keyword.STOP),  # Spanish
        ("Stopp", Keyword.STOP),  # German
        ("annulla", Keyword.STOP),  # Italian
        ("afmelden", Keyword.STOP),  # Dutch
        ("sair", Keyword.STOP),  # Portuguese
        ("STOPALL", Keyword.STOP_ALL),
        ("stop all", Keyword.STOP_ALL),
        ("START", Keyword.START),
        ("Unstop", Keyword.START),
        ("yes", Keyword.START),
        ("HELP", Keyword.HELP),
        ("aide", Keyword.HELP),
        ("please stop", None),  # the whole message is the keyword, or it is none
        ("stop it", None),
        ("stops", None),
        ("", None),
        ("Hello, are you open on Sunday?", None),
    ],
)
def test_keywords_in_every_language(text: str, keyword: Keyword | None) -> None:
    assert keyword_of(text) == keyword


def test_no_word_means_two_things() -> None:
    words = [w for kind in KEYWORDS.values() for w in kind]
    assert len(words) == len(set(words))


@pytest.mark.parametrize(
    ("number", "language", "fragment"),
    [
        ("+33612345678", "fr", "désabonné"),
        ("+32470123456", "fr", "désabonné"),
        ("+34612345678", "es", "baja"),
        ("+4915123456789", "de", "abgemeldet"),
        ("+393123456789", "it", "annullata"),
        ("+31612345678", "nl", "afgemeld"),
        ("+351912345678", "pt", "cancelada"),
        ("+447400123456", "en", "unsubscribed"),
        ("+12025550123", "en", "unsubscribed"),
        ("+81312345678", "en", "unsubscribed"),  # a language we have no text in: English
    ],
)
def test_the_stop_answer_is_in_the_recipients_language(
    number: str, language: str, fragment: str
) -> None:
    assert language_of(number) == language
    assert fragment in confirmation(Keyword.STOP, number, "help")


def test_help_gets_the_accounts_text_and_every_language_answers_every_keyword() -> None:
    assert confirmation(Keyword.HELP, "+33612345678", "Acme: 01 23 45 67 89") == (
        "Acme: 01 23 45 67 89"
    )
    for number in ("+33612345678", "+34612345678", "+4915123456789", "+393123456789"):
        for keyword in (Keyword.STOP, Keyword.STOP_ALL, Keyword.START):
            assert "START" in confirmation(keyword, number, "") or "STOP" in confirmation(
                keyword, number, ""
            )
