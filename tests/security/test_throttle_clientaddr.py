"""web/clientaddr.py: which address is the client's, believing X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import logging

import pytest

from localsection.web.clientaddr import client_address_from, trusted_networks

TRUSTED = trusted_networks("10.0.0.0/8, 192.168.1.1, fd00::/8")


@pytest.mark.parametrize(("peer", "xff", "expected"), [
    ("203.0.113.5", [], "203.0.113.5"),
    ("203.0.113.5", ["198.51.100.1"], "203.0.113.5"),  # untrusted peer: the header is the client's own words
    ("10.1.2.3", [], "10.1.2.3"),  # a trusted peer without the header is the client itself
    ("10.1.2.3", ["198.51.100.1"], "198.51.100.1"),
    ("10.1.2.3", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # right-most untrusted wins over a spoofed left
    ("10.1.2.3", ["6.6.6.6, 198.51.100.1, 192.168.1.1, 10.9.9.9"], "198.51.100.1"),  # a chain of trusted proxies
    ("10.1.2.3", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # several header lines are one list
    ("10.1.2.3", ["192.168.1.1, 10.0.0.7"], "192.168.1.1"),  # all trusted: the left-most
    ("10.1.2.3", ["198.51.100.1:4431"], "198.51.100.1"),
    ("10.1.2.3", ["[2001:db8::1]:443"], "2001:db8::1"),
    ("10.1.2.3", ["::ffff:198.51.100.1"], "198.51.100.1"),
    ("10.1.2.3", ["6.6.6.6, not-an-address, 10.5.5.5"], "10.5.5.5"),  # junk from a proxy: stop, believe no more
    ("::ffff:10.1.2.3", ["198.51.100.1"], "198.51.100.1"),
    ("fd00::1", ["2001:db8::7"], "2001:db8::7"),
    ("testclient", ["198.51.100.1"], "testclient"),
    ("10.1.2.3", [" , ,"], "10.1.2.3"),
])
def test_the_client_is_the_right_most_address_not_ours(peer: str, xff: list[str], expected: str) -> None:
    assert client_address_from(peer, xff, TRUSTED) == expected


def test_a_very_long_header_is_only_read_from_the_right() -> None:
    hops = ", ".join(["10.0.0.1"] * 10_000)
    assert client_address_from("10.1.2.3", [f"6.6.6.6, {hops}"], TRUSTED) == "10.0.0.1"


def test_bad_entries_of_the_setting_are_logged_and_trust_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        networks = trusted_networks("10.0.0.1, proxy.internal, 300.1.1.1,, 2001:db8::/32")
    assert [str(n) for n in networks] == ["10.0.0.1/32", "2001:db8::/32"]
    assert "proxy.internal" in caplog.text and "300.1.1.1" in caplog.text
    assert trusted_networks("") == ()
