"""Moving data in and out: account export/import, whole-server backup/restore, the emulator's snapshots.

One archive format (`format`), one writer (`export`), one reader (`importer`); `backup` adds the SQLite file
copy / pg_dump and the data directory's files; `snapshots` keeps named archives for the control API.
"""
