"""Read models: the queries that load what a front end shows, as plain rows (no JSON shapes here)."""
