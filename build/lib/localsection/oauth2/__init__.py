"""The OAuth2 provider: access tokens, and (later) authorize / token / refresh / resource endpoints."""
