"""localsection: a self-hosted server that speaks the Worksection API."""

__version__ = "0.1.0"
