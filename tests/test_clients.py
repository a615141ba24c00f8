"""Per-client limits count an IPv6 /64 as one client, IPv4 by address (portal.clients)."""

from __future__ import annotations

import pytest

from portal.clients import network_key
from tests.conftest import make_app


@pytest.mark.parametrize(("address", "key"), [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("2001:0DB8:0001:0002:0:0:0:9", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("fe80::1%eth0", "fe80::/64"),
    ("", ""),
    ("not-an-address", "not-an-address"),
])
def test_network_key(address, key):
    assert network_key(address) == key


def test_another_64_is_another_client_and_a_mapped_v4_is_its_v4():
    assert network_key("2001:db8:1:3::1") != network_key("2001:db8:1:2::1")
    assert network_key("203.0.113.8") != network_key("203.0.113.7")


def _clients(app, *addresses):
    clients = []
    for address in addresses:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        clients.append(client)
    return clients


@pytest.mark.usefixtures("test_database")
def test_search_limit_counts_a_64_as_one_client(tmp_path):
    app = make_app(tmp_path, ratelimit_search="3 per minute")
    # Every request from another address of the same /64: still one client.
    statuses = [client.get("/search?q=矿山").status_code
                for client in _clients(app, *(f"2001:db8:1:2::{i:x}" for i in range(1, 6)))]
    assert statuses == [200, 200, 200, 429, 429]
    other_net, = _clients(app, "2001:db8:1:3::1")
    assert other_net.get("/search?q=矿山").status_code == 200
    app.extensions["search_index"].close()


@pytest.mark.usefixtures("test_database")
def test_v4_and_its_mapped_v6_are_one_client(tmp_path):
    app = make_app(tmp_path, ratelimit_search="2 per minute")
    v4, mapped, other = _clients(app, "198.51.100.4", "::ffff:198.51.100.4", "198.51.100.5")
    assert [v4.get("/search?q=矿山").status_code, mapped.get("/search?q=矿山").status_code,
            mapped.get("/search?q=矿山").status_code] == [200, 200, 429]
    assert other.get("/search?q=矿山").status_code == 200
    app.extensions["search_index"].close()


@pytest.mark.usefixtures("test_database")
def test_report_and_sign_in_keys_use_the_network(tmp_path):
    from portal.reports import client_key
    from portal.staff.views.auth import _client_key

    app = make_app(tmp_path)
    keys = {}
    for address in ("2001:db8:1:2::1", "2001:db8:1:2::beef", "2001:db8:1:3::1",
                    "198.51.100.4", "::ffff:198.51.100.4"):
        with app.test_request_context(environ_base={"REMOTE_ADDR": address}):
            keys[address] = (client_key(), _client_key())
    assert keys["2001:db8:1:2::1"] == keys["2001:db8:1:2::beef"]
    assert keys["2001:db8:1:2::1"][0] != keys["2001:db8:1:3::1"][0]
    assert keys["2001:db8:1:2::1"][1] != keys["2001:db8:1:3::1"][1]
    assert keys["198.51.100.4"] == keys["::ffff:198.51.100.4"]
    app.extensions["search_index"].close()
