"""Domain functions: the rules of the tracker, called by every front end (API actions, web pages, CLI, tests).

A domain function takes a `Ctx` and keyword-only domain values (ids, dates, enums, small dataclasses), checks
access through `localsection.access`, writes in the caller's transaction, records events, and returns domain
objects (models or dataclasses). It never sees `Params`, a request, a response or a template, and never imports
`localsection.api`, `localsection.web` or `localsection.cli` (enforced by import-linter in `make check`).
Errors are raised from the catalogue in `localsection.errors`; each carries its Worksection code and text.
"""
