"""`uvicorn localsection.asgi:app` - the app built from LOCALSECTION_* settings, as `localsection serve` runs it."""

import sys

from localsection.app import create_app
from localsection.config import ConfigError

try:
    app = create_app(freeze_startup_objects=True)
except ConfigError as exc:  # one line, not a traceback, when uvicorn is started by hand with a bad setting
    print(f"error: {exc}", file=sys.stderr)
    raise SystemExit(2) from None
