"""Process-wide state shared by the routes: settings, the database and the file store."""

from __future__ import annotations

from localsection.config import Settings
from localsection.db import Database


class AppState:
    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database(settings)

    def base_url(self, account_name: str, scheme: str, host: str, root: str = "") -> str:
        """Public origin of an account: LOCALSECTION_PUBLIC_URL ({account} filled in) or the request's, followed by
        `root`, the request's root path (`/a/<account>` when the path named the account)."""
        if self.settings.public_url:
            return self.settings.public_url.replace("{account}", account_name).rstrip("/") + root
        return (f"{scheme}://{host}" if host else f"http://{self.settings.host}:{self.settings.port}") + root
