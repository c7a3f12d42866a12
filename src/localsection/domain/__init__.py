"""Domain functions: the rules of the tracker, called by every front end (API actions, web pages, CLI, tests).

A domain function takes a `Ctx` and keyword-only domain values (ids, dates, enums, small dataclasses), checks
access through `localsection.access`, writes in the caller's transaction, records events, and returns domain
objects (models or dataclasses). It never sees `Params`, a request, a response or a template, and never imports
`localsection.api`, `localsection.web` or `localsection.cli` (enforced by import-linter in `make check`).
Errors are raised from the catalogue in `localsection.errors`; each carries its Worksection code and text.

The change dataclasses (`ProjectChanges`, `TaskChanges`) tell "not given" (`UNSET`: leave the value as it is)
from None (empty the value) where a value can be emptied.
"""

from __future__ import annotations

import enum
from typing import TypeVar

T = TypeVar("T")


class Unset(enum.Enum):
    """A field of a change dataclass that was not given (distinct from None, which clears a value)."""

    UNSET = "unset"


UNSET = Unset.UNSET


def given(value: T | None) -> T | Unset:
    """None (a parameter not given) as UNSET: leave the value as it is."""
    return UNSET if value is None else value
