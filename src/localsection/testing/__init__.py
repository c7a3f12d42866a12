"""localsection as a local stand-in in integration tests: a typed client for the emulator's control API
(`/_localsection/*`), a server process you can start from any Python program, and the pytest plugin built on them
(fixtures `localsection_server` and `localsection`; docs/testing.md).

    from localsection.testing import LocalsectionServer

    with LocalsectionServer.start() as server:
        account = server.new_account()
        ...  # Client(account.url).set_api_key(account.api_key)
"""

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
