"""What the emulator changes in the API's behaviour: injected faults and realistic mode (docs/control-api.md).

One `Emulation` per app state, kept in this process's memory (several server processes each keep their own;
the emulator is meant for one local process). The API endpoints read it on every request, so what they read
when nothing is configured is one dict truthiness check (faults) and one bool plus one set check (realistic).
The control API (`control/`) changes it.
"""

from __future__ import annotations

import random
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from localsection.api.ratelimit import RateLimiter, rate_limiter
from localsection.sharedstore import store_for
from localsection.state import AppState

REALISTIC_RATE = 1.0  # requests per second per credential on the real service (PROTOCOL.md §9.1)
REALISTIC_CAP = 10_000  # records per list (PROTOCOL.md §9.1)


@dataclass
class FaultRule:
    """One rule: which requests it matches and what happens to them when it fires."""

    id: int
    action: str | None = None  # None: every action
    account: str | None = None  # None: every account
    http_status: int | None = None  # answer this HTTP status (JSON body; 429 carries Retry-After)
    status_code: int | None = None  # answer the Worksection error envelope with HTTP 200
    message: str | None = None
    retry_after: int = 1  # seconds, in the Retry-After header of a 429
    latency_ms: int = 0  # wait this long first (then answer the fault, or run the action normally)
    drop: bool = False  # close the connection without an answer
    probability: float = 1.0
    times: int | None = None  # fire at most this often; None: without end
    seed: int | None = None
    fired: int = 0
    matched: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def as_dict(self) -> dict[str, Any]:
        out = {"id": self.id, "action": self.action, "account": self.account, "http_status": self.http_status,
               "status_code": self.status_code, "message": self.message, "latency_ms": self.latency_ms,
               "drop": self.drop, "probability": self.probability, "times": self.times, "seed": self.seed,
               "fired": self.fired, "matched": self.matched}
        if self.http_status == 429:
            out["retry_after"] = self.retry_after
        return out

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    @property
    def needs_account(self) -> bool:
        return self.account is not None


class Emulation:
    """Fault rules and realistic-mode switches of one app (thread-safe: actions also run in worker threads)."""

    def __init__(self, realistic_everywhere: bool = False, limiter: RateLimiter | None = None) -> None:
        self.faults: dict[int, FaultRule] = {}
        self.realistic_everywhere = realistic_everywhere  # LOCALSECTION_REALISTIC
        self.realistic_accounts: set[str] = set()  # account names switched on through the control API
        self.realistic_at_creation: set[str] = set()  # what POST /_localsection/reset goes back to
        self.limiter = limiter or RateLimiter(REALISTIC_RATE, 1)  # shared through Redis when it is configured
        self._lock = threading.Lock()
        self._next_id = 1

    # -- faults ---------------------------------------------------------------------------------------

    def add_fault(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            if rule.seed is not None:
                rule.rng = random.Random(rule.seed)
            self.faults = {**self.faults, rule.id: rule}  # replaced, never mutated: readers iterate a snapshot
        return rule

    def remove_fault(self, rule_id: int) -> bool:
        with self._lock:
            if rule_id not in self.faults:
                return False
            self.faults = {k: v for k, v in self.faults.items() if k != rule_id}
            return True

    def clear_faults(self, account: str | None = None) -> int:
        """Remove every rule (account None) or the rules limited to that account; returns how many."""
        with self._lock:
            keep = {} if account is None else {k: v for k, v in self.faults.items() if v.account != account}
            removed = len(self.faults) - len(keep)
            self.faults = keep
            return removed

    def fault_for(self, action: str, account: str | None) -> FaultRule | None:
        """The first rule that matches this request and fires (its counters updated), or None."""
        with self._lock:
            for rule in self.faults.values():
                if rule.action is not None and rule.action != action:
                    continue
                if rule.account is not None and rule.account != account:
                    continue
                if rule.exhausted:
                    continue
                rule.matched += 1
                if rule.probability < 1.0 and rule.rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                return rule
        return None

    # -- realistic mode -------------------------------------------------------------------------------

    def is_realistic(self, account: str) -> bool:
        return self.realistic_everywhere or account in self.realistic_accounts

    def set_realistic(self, account: str, on: bool, *, at_creation: bool = False) -> None:
        with self._lock:
            target = set(self.realistic_accounts)
            (target.add if on else target.discard)(account)
            self.realistic_accounts = target
            if at_creation:
                created = set(self.realistic_at_creation)
                (created.add if on else created.discard)(account)
                self.realistic_at_creation = created

    def forget_account(self, account: str, account_id: int | None) -> None:
        """A deleted account: no rules, switches or rate buckets of it remain."""
        self.clear_faults(account)
        self.set_realistic(account, False, at_creation=True)
        if account_id is not None:
            self.limiter.forget(f"{account_id}:")

    def reset(self, account: str | None, account_ids: list[int]) -> None:
        """POST /_localsection/reset: faults gone, realistic switches as at creation, rate buckets full again."""
        self.clear_faults(account)
        with self._lock:
            if account is None:
                self.realistic_accounts = set(self.realistic_at_creation)
            else:
                target = set(self.realistic_accounts)
                (target.add if account in self.realistic_at_creation else target.discard)(account)
                self.realistic_accounts = target
        for account_id in account_ids:
            self.limiter.forget(f"{account_id}:")


_BY_STATE: weakref.WeakKeyDictionary[AppState, Emulation] = weakref.WeakKeyDictionary()
_BY_STATE_LOCK = threading.Lock()


def emulation_for(state: AppState) -> Emulation:
    """The app's Emulation (made on first use; every endpoint and the control API of one app share it)."""
    with _BY_STATE_LOCK:
        emu = _BY_STATE.get(state)
        if emu is None:
            emu = Emulation(realistic_everywhere=state.settings.realistic,
                            limiter=rate_limiter(REALISTIC_RATE, 1, store_for(state), "realistic"))
            _BY_STATE[state] = emu
        return emu
