"""Request observability: one record per request (record.py) feeding the access log (accesslog.py), the
Prometheus metrics (metrics.py) and the emulator's request journal (journal.py); the ASGI middleware that builds
the record is middleware.py, and the one list of secret parameter names is redact.py.

Nothing here imports Starlette except `middleware` and `metrics` (the /metrics handler): code below the front ends
(the API endpoint, the OAuth endpoints) only fills in the current record through `record.current()`.
"""
