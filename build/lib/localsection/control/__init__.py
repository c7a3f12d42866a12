"""The emulator's control API (`/_localsection/*`): create and delete accounts, reset their data, move the clock.

Mounted by create_app only when the `emulator` setting is on (`localsection serve --emulator`); otherwise every
`/_localsection/*` path is the app's usual 404. No authentication: it is for a local stand-in, never production.
"""

from localsection.control.routes import control_routes

__all__ = ["control_routes"]
