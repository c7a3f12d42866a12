"""Browser pages (login, consent, errors) rendered with jinja2, and their session cookie and throttle."""
