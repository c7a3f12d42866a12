"""LOCALSECTION_REDIS_URL: two app instances (as two server processes would) share one API rate limit, one
realistic-mode limit and one sign-in throttle; without it each instance counts on its own."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from starlette.testclient import TestClient

from localsection import passwords, sharedstore
from localsection.api.ratelimit import RateLimiter, SharedRateLimiter
from localsection.app import create_app
from localsection.config import ConfigError, Settings
from localsection.state import AppState
from localsection.web import throttle
from localsection.web.sharedthrottle import SharedLoginThrottle
from tests.helpers import Api
from tests.security.signin import SignInForm, register_app

GET_USERS = "/api/admin/v2?action=get_users"


def instance(api: Api, **changes: object) -> Api:
    """The same account served by a new app (its own AppState, endpoints, limiters and throttle)."""
    state = AppState(api.state.settings.with_(**changes), api.state.db)
    client = TestClient(create_app(state=state), base_url="http://testserver")
    return Api(state, client, api.account, api.account_id, api.api_key, api.owner_id, api.owner_email,
               api.owner_password)


def get_users(api: Api) -> tuple[int, dict[str, str], dict[str, object]]:
    resp = api.client.post(GET_USERS, headers={"Host": api.host, "Authorization": api.admin_header("get_users")})
    return resp.status_code, dict(resp.headers), resp.json()


@pytest.fixture
def no_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "BASE_DELAY", 0.0)


def test_two_instances_share_one_rate_limit_with_the_same_answer(api: Api, redis_url: str, prefix: str) -> None:
    limit = {"rate_limit_per_second": 0.2, "rate_limit_burst": 3}
    first, second = (instance(api, redis_url=redis_url, redis_prefix=prefix, **limit) for _ in range(2))
    assert isinstance(first.client.app.state.ls, AppState)  # type: ignore[attr-defined]
    answers = [get_users(first if i % 2 == 0 else second) for i in range(6)]
    assert [a[0] for a in answers] == [200, 200, 200, 429, 429, 429]  # 3 in all, not 3 per instance
    _status, headers, body = answers[3]
    assert body == {"status": "error", "message": "Too many requests"}
    assert 1 <= int(headers["retry-after"]) <= 5  # one token at 0.2/s: at most 5 s away

    # The in-process limiter gives the very same answer, but per instance: 3 each.
    alone_a, alone_b = (instance(api, **limit) for _ in range(2))
    assert [get_users(alone_a if i % 2 == 0 else alone_b)[0] for i in range(8)] == [200] * 6 + [429] * 2
    refused = get_users(alone_a)
    assert refused[2] == body and 1 <= int(refused[1]["retry-after"]) <= 5


def test_two_instances_share_the_realistic_one_request_a_second(api: Api, redis_url: str, prefix: str) -> None:
    first, second = (instance(api, redis_url=redis_url, redis_prefix=prefix, realistic=True) for _ in range(2))
    assert get_users(first)[0] == 200
    status, headers, body = get_users(second)  # the same API key, another process, within the second
    assert status == 429 and headers["retry-after"] == "1" and body["message"] == "Too many requests"
    time.sleep(1.05)
    assert get_users(second)[0] == 200


def test_two_instances_share_one_sign_in_throttle(api: Api, backend: AppState, redis_url: str, prefix: str,
                                                  no_delay: None) -> None:
    query = register_app(backend, api)
    apps = [instance(api, redis_url=redis_url, redis_prefix=prefix).client.app for _ in range(2)]
    forms = [SignInForm(apps[i % 2], api, query, peer=f"198.51.100.{i}") for i in range(throttle.PER_ACCOUNT_EMAIL)]
    assert [f.submit(api.owner_email, "guess").status_code for f in forms] == [401] * throttle.PER_ACCOUNT_EMAIL
    messages = set()
    for app in apps:  # locked on both instances, even with the right password, from a fresh address
        locked = SignInForm(app, api, query, peer="203.0.113.200").submit(api.owner_email, "owner-pass-1")
        assert locked.status_code == 429
        messages.add(re.search(r"Too many failed sign-in attempts[^<]*", locked.text).group(0))  # type: ignore[union-attr]
    assert isinstance(apps[0].state.login_throttle, SharedLoginThrottle)  # type: ignore[attr-defined]

    # The in-process throttle answers the same, but only once one instance has seen all the failures.
    alone = instance(api).client.app
    for i in range(throttle.PER_ACCOUNT_EMAIL):
        assert SignInForm(alone, api, query, peer=f"192.0.2.{i}").submit(api.owner_email, "x").status_code == 401
    locked = SignInForm(alone, api, query, peer="192.0.2.200").submit(api.owner_email, "owner-pass-1")
    assert locked.status_code == 429
    messages.add(re.search(r"Too many failed sign-in attempts[^<]*", locked.text).group(0))  # type: ignore[union-attr]
    # 15 minutes from the first failure: "15" or "16" minutes, as the wait rounds to 899 or 900 seconds.
    assert messages <= {f"Too many failed sign-in attempts. Try again in {n} minutes." for n in (15, 16)}, messages


def test_sixty_concurrent_wrong_passwords_over_two_instances_get_exactly_the_limit_of_checks(
        api: Api, backend: AppState, redis_url: str, prefix: str, no_delay: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []
    lock = threading.Lock()

    def slow(stored: str, password: str) -> bool:
        with lock:
            checked.append(password)
        time.sleep(0.2)
        return False

    monkeypatch.setattr(passwords, "_check", slow)
    query = register_app(backend, api)
    apps = [instance(api, redis_url=redis_url, redis_prefix=prefix).client.app for _ in range(2)]
    forms = [SignInForm(apps[i % 2], api, query, peer=f"198.51.100.{i}") for i in range(60)]
    start = threading.Barrier(60)

    def attack(form: SignInForm) -> int:
        start.wait()
        return form.submit(api.owner_email, "guess").status_code

    with ThreadPoolExecutor(60) as pool:
        statuses = list(pool.map(attack, forms))
    assert len(checked) == throttle.PER_ACCOUNT_EMAIL
    assert sorted(statuses) == [401] * throttle.PER_ACCOUNT_EMAIL + [429] * (60 - throttle.PER_ACCOUNT_EMAIL)
    assert apps[0].state.login_throttle.in_flight() == 0  # type: ignore[attr-defined]


def limiters(app: object) -> list[RateLimiter]:
    """The rate limiters of an app: its two API endpoints' and realistic mode's."""
    routes = [r for r in app.routes if getattr(r, "path", "") in ("/api/admin/v2", "/api/oauth2")]  # type: ignore[attr-defined]
    endpoints = [r.endpoint for r in routes]
    assert len(endpoints) == 2
    return [e.limiter for e in endpoints] + [endpoints[0].emu.limiter]


def test_without_a_shared_store_the_in_process_implementations_are_used(api: Api, redis_url: str) -> None:
    alone = instance(api, rate_limit_per_second=2.0).client.app
    assert type(alone.state.login_throttle) is throttle.LoginThrottle  # type: ignore[attr-defined]
    assert [type(limiter) for limiter in limiters(alone)] == [RateLimiter] * 3
    shared = instance(api, rate_limit_per_second=2.0, redis_url=redis_url).client.app
    assert type(shared.state.login_throttle) is SharedLoginThrottle  # type: ignore[attr-defined]
    assert [type(limiter) for limiter in limiters(shared)] == [SharedRateLimiter] * 3
    # A limiter that is off stays the in-process one (which does nothing) even with Redis.
    off = instance(api, redis_url=redis_url).client.app
    assert [type(limiter) for limiter in limiters(off)] == [RateLimiter, RateLimiter, SharedRateLimiter]


def test_every_key_has_a_ttl_and_no_e_mail_address_or_token_in_it(api: Api, backend: AppState, redis_url: str,
                                                                  prefix: str, raw: redis.Redis,
                                                                  no_delay: None) -> None:
    shared = instance(api, redis_url=redis_url, redis_prefix=prefix, rate_limit_per_second=5.0, realistic=True)
    assert get_users(shared)[0] == 200
    query = register_app(backend, api)
    peer = "198.51.100.77"
    form = SignInForm(shared.client.app, api, query, peer=peer)
    assert form.submit(api.owner_email.upper(), "guess").status_code == 401
    keys = sorted(k.decode() for k in raw.scan_iter(match=prefix + "*"))
    kinds = {k[len(prefix):].rsplit(":", 1)[0] for k in keys}
    assert kinds >= {"rate:admin:" + str(api.account_id), "rate:realistic:" + str(api.account_id),
                     "signin:fail"}, keys
    secrets_seen = [api.owner_email.lower(), api.owner_email.split("@")[0], api.account, peer, "198.51.100",
                    api.api_key]
    for key in keys:
        ttl = raw.pttl(key)
        assert 0 < ttl <= (throttle.WINDOW + 1) * 1000, (key, ttl)
        contents = key + repr(raw.zrange(key, 0, -1) if raw.type(key) == b"zset" else raw.hgetall(key))
        for secret in secrets_seen:
            assert secret.lower() not in contents.lower(), (secret, key)
    rate_ttls = [raw.pttl(k) for k in keys if ":rate:" in k]
    assert rate_ttls and max(rate_ttls) <= 2000  # a bucket expires once it would be full again


def test_redis_down_mid_run_falls_back_to_per_process_limits_with_one_warning(
        api: Api, backend: AppState, proxy: object, prefix: str, no_delay: None,
        caplog: pytest.LogCaptureFixture) -> None:
    from tests.sharedstore.conftest import RedisProxy
    assert isinstance(proxy, RedisProxy)
    shared = instance(api, redis_url=proxy.url, redis_prefix=prefix, rate_limit_per_second=0.01, rate_limit_burst=3)
    query = register_app(backend, api)
    assert [get_users(shared)[0] for _ in range(2)] == [200, 200]
    form = SignInForm(shared.client.app, api, query, peer="198.51.100.5")
    assert form.submit(api.owner_email, "guess").status_code == 401

    proxy.stop()
    caplog.set_level(logging.WARNING, logger="localsection.sharedstore")
    # Never a 500, never no limit: the process's own buckets (full: 3) take over.
    assert [get_users(shared)[0] for _ in range(6)] == [200, 200, 200, 429, 429, 429]
    statuses = [form.submit(api.owner_email, "guess").status_code for _ in range(throttle.PER_ACCOUNT_EMAIL + 2)]
    assert statuses == [401] * throttle.PER_ACCOUNT_EMAIL + [429, 429]
    warnings = [r for r in caplog.records if r.name == "localsection.sharedstore"]
    assert len(warnings) == 1 and "unavailable" in warnings[0].getMessage()
    assert proxy.url.split("//")[1] not in warnings[0].getMessage()

    # Redis is back: after the retry pause the shared counters are used again (2 of its 3 tokens were taken
    # before the outage), and one line says so.
    proxy.start()
    time.sleep(sharedstore.RETRY_DOWN_AFTER + 0.1)  # until then the process does not even try Redis
    assert [get_users(shared)[0] for _ in range(3)] == [200, 429, 429]
    back = [r.getMessage() for r in caplog.records if r.name == "localsection.sharedstore"][1:]
    assert len(back) == 1 and "answers again" in back[0]


def test_a_bad_redis_url_is_a_one_line_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in ("http://cache:6379", "redis://", "redis://cache:port/0", "redis://cache:6379/zero", "cache:6379"):
        monkeypatch.setenv("LOCALSECTION_REDIS_URL", bad)
        with pytest.raises(ConfigError) as err:
            Settings.from_env()
        assert "\n" not in str(err.value) and str(err.value).startswith("LOCALSECTION_REDIS_URL=")
        assert "redis://host:6379/0" in str(err.value)
    monkeypatch.setenv("LOCALSECTION_REDIS_URL", "redis://:s3cret-pass@cache:x/0")
    with pytest.raises(ConfigError) as err:
        Settings.from_env()
    assert "s3cret-pass" not in str(err.value)
    monkeypatch.setenv("LOCALSECTION_REDIS_PREFIX", "has space")
    monkeypatch.setenv("LOCALSECTION_REDIS_URL", "rediss://:pw@cache.internal:6380/2")
    with pytest.raises(ConfigError, match="LOCALSECTION_REDIS_PREFIX"):
        Settings.from_env()
    monkeypatch.delenv("LOCALSECTION_REDIS_PREFIX")
    for good in ("redis://cache:6379/0", "rediss://:pw@cache.internal:6380/2", "unix:///run/redis/redis.sock",
                 "redis://127.0.0.1"):
        monkeypatch.setenv("LOCALSECTION_REDIS_URL", good)
        assert Settings.from_env().redis_url == good
    monkeypatch.setenv("LOCALSECTION_REDIS_URL", "")
    assert Settings.from_env().redis_url == ""  # empty: per-process counters, as without the setting


def test_serve_refuses_a_bad_redis_url_in_one_line_without_its_password(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSECTION_")}
    env |= {"LOCALSECTION_DATA_DIR": str(tmp_path), "LOCALSECTION_REDIS_URL": "redis://:s3cret@cache:port/0"}
    done = subprocess.run([str(Path(sys.executable).parent / "localsection"), "serve", "--port", "0"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1 and "LOCALSECTION_REDIS_URL" in lines[0] and "s3cret" not in lines[0], lines


def test_forgetting_an_account_empties_its_shared_buckets_only(redis_url: str, prefix: str, raw: redis.Redis) -> None:
    store = sharedstore.SharedStore(redis_url, prefix, b"k" * 32)
    limiter = SharedRateLimiter(0.01, 1, store, "realistic")
    waits = [limiter.retry_after(k) for k in ("7:key", "7:key", "8:key", "8:key")]
    assert waits[0] == waits[2] == 0 and 95 <= waits[1] <= 100 and 95 <= waits[3] <= 100  # one token per 100 s
    limiter.forget("7:")  # the emulator's reset or a deleted account: its buckets start full again
    assert limiter.retry_after("7:key") == 0 and limiter.retry_after("8:key") >= 95
    assert len(list(raw.scan_iter(match=prefix + "rate:realistic:*"))) == 2
    store.close()
