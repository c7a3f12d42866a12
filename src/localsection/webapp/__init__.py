"""The web app people work in: server-rendered pages (Jinja2), server-side sessions, English and Ukrainian.

See docs/webapp.md for how it is put together and how to add a page.
"""
