"""Autogenerate a new Alembic revision from the difference between models.py and the migrations so far.

Usage: .venv/bin/python scripts/new_migration.py "add a column to tasks"
Review the generated file in src/localsection/migrations/versions/ before committing it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from localsection.bootstrap import alembic_config, upgrade
from localsection.config import Settings
from localsection.db import Database

if len(sys.argv) != 2:
    sys.exit(__doc__)
with tempfile.TemporaryDirectory() as tmp:
    db = Database(Settings(data_dir=Path(tmp)))
    upgrade(db)
    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=sys.argv[1], autogenerate=True)
    db.dispose()
