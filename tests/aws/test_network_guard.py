"""The tests' socket guard refuses every address but loopback, so no real AWS endpoint can be reached."""

from __future__ import annotations

import socket

import pytest


def test_a_connection_to_a_non_loopback_address_fails_before_any_packet():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(AssertionError, match="only loopback"):
            sock.connect(("192.0.2.1", 443))  # TEST-NET-1; never actually contacted
