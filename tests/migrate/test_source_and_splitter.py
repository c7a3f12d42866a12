"""The source client and the cap splitter on their own: fake sources, no waiting."""

from __future__ import annotations

import datetime as dt
import hashlib

import httpx
import pytest

from localsection.migrate import splitter
from localsection.migrate.source import FileGone, Source, SourceError, TooMany, Unreachable, api_url, signed_query

CAP = splitter.CAP
CAP_ERROR = {"status": "error", "message": "Too many tasks (10000 max)"}


class FakeTime:
    """A clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def source(handler: object, rate: float = 1.0) -> tuple[Source, FakeTime]:
    t = FakeTime()
    src = Source("https://acme.worksection.com", "KEY", rate=rate,
                 transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
                 sleep=t.sleep, clock=t.clock)
    return src, t


def test_requests_are_signed_with_md5_of_the_query_and_the_key() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.query.decode())
        return httpx.Response(200, json={"status": "ok", "data": [{"id": "1"}]})

    src, _ = source(handler)
    assert src.rows("get_tasks", id_project="26") == [{"id": "1"}]
    query = seen[0]
    unsigned, _, digest = query.rpartition("&hash=")
    assert unsigned == "action=get_tasks&id_project=26"
    assert digest == hashlib.md5(("action=get_tasks&id_project=26" + "KEY").encode()).hexdigest()
    assert signed_query({"action": "get_tasks", "id_project": "26"}, "7776461cd931e7b1c8e9632ff8e979ce") \
        .endswith("hash=ec3ab2c28f21b4a07424f8ed688d6644")  # the example of the seed document


def test_the_address_of_the_admin_api_is_taken_from_the_account_address() -> None:
    assert api_url("https://acme.worksection.com") == "https://acme.worksection.com/api/admin/v2/"
    assert api_url("https://acme.worksection.com/api/admin/v2/") == "https://acme.worksection.com/api/admin/v2/"
    assert api_url("http://127.0.0.1:8000/a/acme/") == "http://127.0.0.1:8000/a/acme/api/admin/v2/"
    with pytest.raises(ValueError, match="--from"):
        api_url("acme.worksection.com")


def test_requests_are_spaced_to_the_rate() -> None:
    src, t = source(lambda r: httpx.Response(200, json={"status": "ok", "data": []}), rate=2.0)
    for _ in range(5):
        src.rows("get_users")
    assert src.stats.total == 5
    assert t.now >= 4 * 0.5  # five requests at 2/s take at least two seconds


def test_a_429_waits_for_its_retry_after_and_the_request_succeeds() -> None:
    answers = [httpx.Response(429, headers={"Retry-After": "7"}, json={"status": "error",
                                                                        "message": "Too many requests"}),
               httpx.Response(200, json={"status": "ok", "data": [{"id": "5"}]}),
               httpx.Response(200, json={"status": "ok", "data": []})]
    src, t = source(lambda r: answers.pop(0))
    assert src.rows("get_projects") == [{"id": "5"}]
    assert 7 in t.sleeps and src.stats.throttled == 1 and src.stats.requests["get_projects"] == 2
    before = t.now
    src.rows("get_projects")
    assert t.now - before >= 1.03 * 1.05 - 1e-9  # after a 429 the requests are spaced a little wider


def test_network_errors_back_off_and_end_as_unreachable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    src, t = source(handler)
    with pytest.raises(Unreachable, match="get_users"):
        src.rows("get_users")
    backoffs = [s for s in t.sleeps if s >= 1]
    assert backoffs[:4] == [1, 2, 4, 8]


def test_envelopes_become_errors_and_the_cap_its_own() -> None:
    answers = [httpx.Response(200, json=CAP_ERROR),
               httpx.Response(200, json={"status": "error", "status_code": 4, "message": "Project is invalid"})]
    src, _ = source(lambda r: answers.pop(0))
    with pytest.raises(TooMany):
        src.rows("get_all_tasks")
    with pytest.raises(SourceError, match="get_tasks: Project is invalid"):
        src.rows("get_tasks", id_project="9")


def test_a_download_that_answers_an_error_or_404_is_a_lost_file() -> None:
    answers = [httpx.Response(200, json={"status": "error", "status_code": 4, "message": "File not found"}),
               httpx.Response(404, text="gone"),
               httpx.Response(200, content=b"\x00bytes", headers={"Content-Type": "application/x-download"})]
    src, _ = source(lambda r: answers.pop(0))
    with pytest.raises(FileGone, match="File not found"):
        src.download("1", 100)
    with pytest.raises(FileGone, match="HTTP 404"):
        src.download("2", 100)
    path = src.download("3", 100)
    assert path.read_bytes() == b"\x00bytes"
    path.unlink()


# -- the splitter --------------------------------------------------------------------------------

class CappedCosts:
    """A fake get_costs over `per_day` rows a day for each project, refusing answers above the cap (or, in
    `truncate` mode, cutting them at exactly the cap, as a service might)."""

    def __init__(self, days: dict[str, dict[dt.date, int]], truncate: bool = False) -> None:
        self.days, self.truncate = days, truncate
        self.calls: list[tuple[str | None, dt.date | None, dt.date | None]] = []

    def fetch(self, project: str | None = None, low: dt.date | None = None,
              high: dt.date | None = None) -> list[dict[str, object]]:
        self.calls.append((project, low, high))
        rows = [{"project": p, "date": d.isoformat(), "n": i}
                for p, days in self.days.items() if project in (None, p)
                for d, count in sorted(days.items()) if (low is None or d >= low) and (high is None or d <= high)
                for i in range(count)]
        if len(rows) > CAP:
            if self.truncate:
                return rows[:CAP]
            raise TooMany("get_costs: Too many tasks (10000 max)")
        return rows


def test_a_list_below_the_cap_is_read_at_once() -> None:
    fake = CappedCosts({"1": {dt.date(2026, 1, 1): 30}})
    pieces: list[list[dict[str, object]]] = []
    splitter.by_projects(fake.fetch, fake.fetch, fake.fetch, ["1"], CAP, dt.date(2026, 12, 1), pieces.append)
    assert [len(p) for p in pieces] == [30] and fake.calls == [(None, None, None)]


@pytest.mark.parametrize("truncate", [False, True])
def test_a_list_at_the_cap_is_split_by_project_then_by_halved_date_ranges(truncate: bool) -> None:
    busy = {dt.date(2026, 1, 1) + dt.timedelta(days=i): 700 for i in range(20)}  # 14,000 rows
    fake = CappedCosts({"1": {dt.date(2026, 3, 1): 5}, "2": busy, "3": {dt.date(2025, 5, 5): 9_000}},
                       truncate=truncate)
    pieces: list[list[dict[str, object]]] = []
    splitter.by_projects(fake.fetch, fake.fetch, fake.fetch, ["1", "2", "3"], CAP, dt.date(2026, 12, 1),
                         pieces.append)
    assert [len(p) for p in pieces] == [5, 14_000, 9_000]  # one piece per project: memory holds one at a time
    rows = [r for p in pieces for r in p]
    assert len({(r["project"], r["date"], r["n"]) for r in rows}) == len(rows)  # nothing twice
    dated = [c for c in fake.calls if c[1] is not None]
    assert dated and {c[0] for c in dated} == {"2"}  # only the project above the cap was read by dates
    assert all(c[1] <= c[2] for c in dated if c[1] and c[2])


def test_a_single_day_at_the_cap_cannot_be_split() -> None:
    fake = CappedCosts({"1": {dt.date(2026, 1, 1): CAP + 1}})
    with pytest.raises(splitter.Unsplittable, match="2026-01-01"):
        splitter.by_dates(lambda a, b: fake.fetch("1", a, b), dt.date(2025, 12, 1), dt.date(2026, 2, 1), CAP)


def test_dates_travel_as_the_real_service_reads_them() -> None:
    assert splitter.wire_date(dt.date(2026, 3, 9)) == "09.03.2026"
