"""Two real `localsection serve` processes on one PostgreSQL database and one Redis: one rate limit for both."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import BACKENDS
from tests.reliability.conftest import fresh_database, live_server
from tests.reliability.test_crash import header

pytestmark = pytest.mark.skipif("postgres" not in BACKENDS, reason="two server processes need PostgreSQL")


def test_two_serve_processes_share_one_rate_limit(tmp_path: Path, redis_url: str, prefix: str,
                                                  raw: redis.Redis) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "oauth.pem"  # one signing key for the deployment, as docs/deployment.md asks
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    env = {"LOCALSECTION_REDIS_URL": redis_url, "LOCALSECTION_REDIS_PREFIX": prefix,
           "LOCALSECTION_RATE_LIMIT": "0.01", "LOCALSECTION_RATE_LIMIT_BURST": "4",
           "LOCALSECTION_OAUTH_PRIVATE_KEY_FILE": str(key_file), "LOCALSECTION_WEBHOOK_WORKER": "0",
           "LOCALSECTION_LOG_LEVEL": "warning"}
    with ExitStack() as stack, fresh_database("postgres") as url:
        servers = [stack.enter_context(live_server("postgres", tmp_path / f"s{n}", env, url))[1] for n in range(2)]
        assert servers[0].api_key == servers[1].api_key  # one account, served by both processes
        statuses = []
        for i in range(8):
            server = servers[i % 2]
            resp = httpx.post(f"{server.url}/api/admin/v2?action=get_users",
                              headers={"Authorization": header(server, "get_users")}, timeout=30)
            statuses.append(resp.status_code)
        assert statuses == [200] * 4 + [429] * 4  # the burst of 4 once, not once per process
        assert resp.json() == {"status": "error", "message": "Too many requests"}
        assert int(resp.headers["Retry-After"]) >= 1
        assert [k for k in raw.scan_iter(match=prefix + "rate:admin:*")]
