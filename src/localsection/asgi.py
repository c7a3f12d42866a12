"""`uvicorn localsection.asgi:app` - the app built from LOCALSECTION_* settings."""

from localsection.app import create_app

app = create_app()
