"""localsection as a local stand-in in integration tests: a typed client for the emulator's control API
(`/_localsection/*`), a server process you can start from any Python program, and the pytest plugin built on them
(fixtures `localsection_server` and `localsection`; docs/testing.md).

    from localsection.testing import LocalsectionServer

    with LocalsectionServer.start() as server:
        account = server.new_account()
        ...  # Client(account.url).set_api_key(account.api_key)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localsection.testing.client import (
        Account,
        Clock,
        ControlClient,
        ControlError,
        Fault,
        LocalsectionServer,
        ServerError,
        Token,
    )

__all__ = ["Account", "Clock", "ControlClient", "ControlError", "Fault", "LocalsectionServer", "ServerError",
           "Token"]


def __getattr__(name: str) -> Any:
    """Import the client (and httpx) on first use: pytest loads the plugin in every session, used or not."""
    if name in __all__:
        from localsection.testing import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
