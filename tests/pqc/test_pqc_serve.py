"""labkit.pqc.serve: a server other clients reach, in HTTPS or lab mode."""

from __future__ import annotations

import pytest

from labkit.errors import InvalidInput
from labkit.pqc import certs, serve, tls


def _client(server, groups, request=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", expect=10):
    ctx, tap = tls.client_context(server.chain.ca_file, tls.check_groups(groups))
    return tls.client_connection(
        ctx, tap, server.address, server.chain.hostname, timeout=5, request=request, expect=expect
    )


def test_https_page_names_the_group():
    with serve(groups="X25519MLKEM768:X25519") as server:
        info = _client(server, "X25519MLKEM768", expect=60)
    assert info["group"] == "X25519MLKEM768"
    assert info["reply"].startswith(b"HTTP/1.1 200 OK")
    assert server.log[-1]["group"] == "X25519MLKEM768"


def test_lab_mode_sends_requested_bytes():
    with serve(groups="X25519", https=False, cert="ml-dsa-44") as server:
        info = _client(server, "X25519", request=b"GET 5000\n", expect=5000)
    assert len(info["reply"]) == 5000


def test_mutual_tls_server():
    client_chain = certs.issue("ecdsa-p256", hostname="agent.petlab.test", client=True)
    with serve(groups="X25519MLKEM768", client_ca=client_chain.ca_file, https=False) as server:
        ctx, tap = tls.client_context(server.chain.ca_file, ["X25519MLKEM768"], client_chain=client_chain)
        tls.client_connection(ctx, tap, server.address, server.chain.hostname, timeout=5, request=b"GET 1\n", expect=1)
    assert server.log[-1]["client_cert"] is True


@pytest.mark.parametrize("kwargs", [{"host": "0.0.0.0"}, {"port": 70000}, {"groups": "X999"}, {"cert": "dsa"}])
def test_serve_refuses_bad_input(kwargs):
    with pytest.raises(InvalidInput):
        serve(**kwargs)
