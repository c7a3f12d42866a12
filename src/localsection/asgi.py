"""`uvicorn localsection.asgi:app` - the app built from LOCALSECTION_* settings, as `localsection serve` runs it."""

from localsection.app import create_app

app = create_app(freeze_startup_objects=True)
