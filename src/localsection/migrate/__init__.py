"""`localsection migrate`: copy a live Worksection account through its public admin API into a new account.

`source` reads the admin API (signed, rate-limited, retried), `splitter` reads lists past the 10,000-record cap,
`writer` writes rows with their original dates and authors, `state` makes a run resumable, `report` says what
was and was not copied, and `run` puts the phases in order.
"""
