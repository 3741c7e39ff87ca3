"""Webhook targets against SSRF: which addresses and URLs are refused, and what the
operator's settings allow."""

from __future__ import annotations

import pytest

from dialtone.core.errors import DialtoneError
from dialtone.services.accounts.webhook_targets import (
    TargetPolicy,
    address_refusal,
    check_addresses,
    check_url,
    parse_target,
)

STRICT = TargetPolicy()
PRIVATE_OK = TargetPolicy(allow_private=True)
TEN_ONE = TargetPolicy.of(False, ["10.1.0.0/16", "fd00:1::/32"])

# address, refused by default (the word the reason names), allowed with allow_private
ADDRESSES = [
    ("8.8.8.8", None, True),
    ("93.184.216.34", None, True),
    ("2001:4860:4860::8888", None, True),
    ("127.0.0.1", "loopback", True),
    ("127.255.255.254", "loopback", True),
    ("::1", "loopback", True),
    ("10.0.0.1", "private", True),
    ("172.16.5.4", "private", True),
    ("172.31.255.255", "private", True),
    ("192.168.1.1", "private", True),
    ("100.64.0.1", "private", True),  # shared address space (CGNAT)
    ("192.0.2.1", "private", True),  # documentation
    ("198.18.0.1", "private", True),  # benchmarking
    ("0.1.2.3", "private", True),  # "this network"
    ("fc00::1", "private", True),
    ("fd12:3456::1", "private", True),
    ("2001:db8::1", "private", True),
    ("169.254.169.254", "link-local", True),  # cloud metadata
    ("169.254.0.1", "link-local", True),
    ("fe80::1", "link-local", True),
    ("fec0::1", "site-local", True),
    ("240.0.0.1", "reserved", True),
    ("0.0.0.0", "unspecified", False),
    ("::", "unspecified", False),
    ("224.0.0.1", "multicast", False),
    ("239.255.255.250", "multicast", False),
    ("ff02::1", "multicast", False),
    ("255.255.255.255", "broadcast", False),
    # IPv6 forms of IPv4 addresses are judged as those
    ("::ffff:127.0.0.1", "loopback", True),
    ("::ffff:169.254.169.254", "link-local", True),
    ("::ffff:10.0.0.1", "private", True),
    ("::ffff:0.0.0.0", "unspecified", False),
    ("::ffff:8.8.8.8", None, True),
    ("64:ff9b::7f00:1", "loopback", True),  # NAT64 of 127.0.0.1
    ("64:ff9b::808:808", None, True),
    ("2002:7f00:1::", "loopback", True),  # 6to4 of 127.0.0.1
    ("2002:a9fe:a9fe::", "link-local", True),
    ("2002:808:808::1", None, True),
    ("::127.0.0.1", "reserved", True),  # IPv4-compatible (deprecated)
]


@pytest.mark.parametrize(("address", "kind", "allowed_if_private_ok"), ADDRESSES)
def test_addresses(address: str, kind: str | None, allowed_if_private_ok: bool) -> None:
    why = address_refusal(address, STRICT)
    if kind is None:
        assert why is None
    else:
        assert why is not None
        assert f" {kind} address" in why
    assert (address_refusal(address, PRIVATE_OK) is None) == allowed_if_private_ok


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("10.1.2.3", True),
        ("10.1.255.255", True),
        ("10.2.0.1", False),
        ("127.0.0.1", False),
        ("::ffff:10.1.2.3", True),  # judged as the IPv4 address it stands for
        ("fd00:1::5", True),
        ("fd00:2::5", False),
        ("224.0.0.1", False),  # never, whatever the list
    ],
)
def test_an_allow_list_of_networks(address: str, allowed: bool) -> None:
    assert (address_refusal(address, TEN_ONE) is None) == allowed


def test_every_address_of_a_name_must_pass() -> None:
    assert check_addresses(["8.8.8.8", "8.8.4.4", "8.8.8.8"], STRICT, "h") == [
        "8.8.8.8",
        "8.8.4.4",
    ]
    with pytest.raises(DialtoneError) as refused:
        check_addresses(["8.8.8.8", "10.0.0.1"], STRICT, "rebind.example")
    assert refused.value.code == "webhook.target_refused"
    assert refused.value.status == 400
    assert "rebind.example" in refused.value.message
    with pytest.raises(DialtoneError):
        check_addresses([], STRICT, "h")


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port"),
    [
        ("https://example.com/hook", "https", "example.com", 443),
        ("http://example.com/hook", "http", "example.com", 80),
        ("HTTPS://Example.COM:8443/x?y=1", "https", "example.com", 8443),
        ("http://[2001:db8::1]:8080/", "http", "2001:db8::1", 8080),
        ("https://user:pw@example.com/", "https", "example.com", 443),
        ("https://example.com./", "https", "example.com", 443),
    ],
)
def test_urls_parsed(url: str, scheme: str, host: str, port: int) -> None:
    target = parse_target(url)
    assert (target.scheme, target.host, target.port) == (scheme, host, port)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "example.com/hook",
        "//example.com/hook",
        "https:///nohost",
        "http://example.com:99999/",
        "http://exa mple.com/",
        "https://example.com/" + "x" * 500,
    ],
)
def test_urls_refused_whatever_the_address(url: str) -> None:
    with pytest.raises(DialtoneError) as refused:
        check_url(url, PRIVATE_OK)
    assert refused.value.code == "webhook.target_refused"


@pytest.mark.parametrize(
    ("url", "refused_strict"),
    [
        ("http://127.0.0.1:8000/hook", True),
        ("http://[::1]/hook", True),
        ("http://169.254.169.254/latest/meta-data/", True),
        ("http://0.0.0.0:80/", True),
        ("http://[::ffff:127.0.0.1]/", True),
        ("http://localhost:8000/", True),
        ("http://api.localhost/", True),
        ("https://8.8.8.8/hook", False),
    ],
)
def test_literal_addresses_are_checked_when_saved(url: str, refused_strict: bool) -> None:
    if refused_strict:
        with pytest.raises(DialtoneError):
            check_url(url, STRICT)
    else:
        check_url(url, STRICT)


def test_names_are_resolved_when_saved_if_they_can_be() -> None:
    def resolve(host: str, port: int) -> list[str]:
        return {"public.example": ["93.184.216.34"], "inside.example": ["10.0.0.7"]}[host]

    def unresolvable(host: str, port: int) -> list[str]:
        raise OSError("no such name")

    check_url("https://public.example/h", STRICT, resolve)
    with pytest.raises(DialtoneError, match=r"10\.0\.0\.7"):
        check_url("https://inside.example/h", STRICT, resolve)
    check_url("https://inside.example/h", PRIVATE_OK, resolve)
    # Not resolvable now: accepted, checked again (resolved) when requested.
    check_url("https://later.example/h", STRICT, unresolvable)
