"""Regenerate migrations/versions/0001 from models.py (only until the first release lands).

Usage: .venv/bin/python scripts/regen_migration.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from localsection.bootstrap import MIGRATIONS, alembic_config
from localsection.config import Settings
from localsection.db import Database

for old in (MIGRATIONS / "versions").glob("0001_*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as tmp:
    db = Database(Settings(data_dir=Path(tmp)))
    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
    db.dispose()
