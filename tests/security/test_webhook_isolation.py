"""Attack: slow and failing receivers must not delay another webhook (issue 11 item 5, finding 2).

On main 16 slow webhooks delayed another webhook's events by 190 s: the worker delivered round by round and
waited for the slowest receiver of each round. Now every webhook is scheduled on its own; troubled ones (last
attempt failed or slow) share half of the slots, so a healthy webhook gets a slot within one attempt.
"""

from __future__ import annotations

import time

from sqlalchemy import func, select

from localsection import webhooks
from localsection.models import DeliveryAttempt
from tests.factories import make_project
from tests.helpers import Api
from tests.security.test_webhook_deadline import add_hook
from tests.test_webhook_delivery import record
from tests.webhook_receiver import running_receiver, running_tarpit

TIMEOUT = 1.0
BOUND = 2.0  # seconds from the write to the healthy receiver; a slow attempt takes up to TIMEOUT


def attempted_hooks(api: Api, hook_ids: list[int]) -> int:
    with api.state.db.session(write=False) as s:
        return int(s.scalar(select(func.count(func.distinct(DeliveryAttempt.webhook_id)))
                            .where(DeliveryAttempt.webhook_id.in_(hook_ids))) or 0)


def test_a_healthy_webhook_is_not_delayed_by_tarpits_slow_and_failing_receivers(
        api: Api) -> None:
    events = 12
    settings = api.state.settings.with_(webhook_timeout=TIMEOUT, webhook_concurrency=4, webhook_retry_base=0.05,
                                        webhook_retry_max=0.05, webhook_pause_after=1_000_000,
                                        webhook_poll_interval=0.05)
    project = make_project(api)
    with (running_tarpit(0.2) as tarpit, running_receiver() as slow, running_receiver() as failing,
          running_receiver() as healthy):
        slow.delay = 0.8 * TIMEOUT  # answers OK, but only just in time
        failing.always_fail = True
        bad = ([f"{tarpit.url}/{i}" for i in range(8)] + [f"{slow.url}/{i}" for i in range(4)]
               + [f"{failing.url}/{i}" for i in range(4)])  # 16 bad receivers, 4 slots
        hook_ids = [add_hook(api, url) for url in [*bad, healthy.url]]
        worker = webhooks.Worker(api.state.db, settings)
        worker.start()
        try:
            # A new bad receiver can take a healthy slot for its first attempt: let each make one.
            record(api, "post", "task", 0, project)
            deadline = time.monotonic() + 30
            while attempted_hooks(api, hook_ids) < len(hook_ids) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert attempted_hooks(api, hook_ids) == len(hook_ids)
            written: dict[str, float] = {}
            for i in range(1, events + 1):
                written[str(i)] = time.monotonic()
                record(api, "post", "task", i, project)  # to all 17 webhooks
                time.sleep(0.25)

            def arrived() -> dict[str, float]:
                out: dict[str, float] = {}
                for r in healthy.deliveries():
                    for e in r.json():
                        out.setdefault(e["object"]["id"], r.at)
                return out

            assert healthy.wait_for(lambda: set(written) <= set(arrived()), timeout=20)
            lags = {i: arrived()[i] - t for i, t in written.items()}
        finally:
            worker.stop()
        bad_attempts = tarpit.connections + len(slow.requests) + len(failing.requests)
    print(f"healthy webhook next to 16 bad ones (4 slots): max lag {max(lags.values()):.2f} s over {events} events; "
          f"{bad_attempts} attempts to the bad receivers")
    assert max(lags.values()) < BOUND, lags
    order = [e["object"]["id"] for r in healthy.deliveries() for e in r.json()]
    assert order == [str(i) for i in range(events + 1)]  # in order, each once
    assert bad_attempts >= len(bad) + 4  # the bad ones kept trying meanwhile, taking their share of the slots
