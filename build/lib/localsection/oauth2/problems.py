"""OAuth2 provider errors: the league/oauth2-server codes and texts the real service answers with."""

from __future__ import annotations


class OAuthError(Exception):
    """`{"error": code, "errorDescription": text, "error_description": text}` (HTTP 200, PROTOCOL.md §2.4)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "errorDescription": self.description, "error_description": self.description}


def invalid_client() -> OAuthError:
    return OAuthError("invalid_client", "Client authentication failed")


def unsupported_grant() -> OAuthError:
    return OAuthError("unsupported_grant_type", "The authorization grant type is not supported")


def missing(name: str) -> OAuthError:
    return OAuthError("invalid_request", "The request is missing a required parameter, includes an invalid "
                      "parameter value, includes a parameter more than once, or is otherwise malformed. "
                      f"Check the `{name}` parameter")


def code_revoked() -> OAuthError:
    return OAuthError("invalid_request", "Authorization code has been revoked")


def code_expired() -> OAuthError:
    return OAuthError("invalid_request", "Authorization code has expired")


def code_undecryptable() -> OAuthError:
    return OAuthError("invalid_request", "Cannot decrypt the authorization code")


def code_other_client() -> OAuthError:
    return OAuthError("invalid_request", "Authorization code was not issued to this client")


def redirect_mismatch() -> OAuthError:
    return OAuthError("invalid_grant", "Redirect URI mismatch")


def verifier_failed() -> OAuthError:
    return OAuthError("invalid_grant", "Failed to verify `code_verifier`.")


def refresh_undecryptable() -> OAuthError:
    return OAuthError("invalid_request", "Cannot decrypt the refresh token")


def refresh_revoked() -> OAuthError:
    return OAuthError("invalid_request", "Token has been revoked")


def refresh_expired() -> OAuthError:
    return OAuthError("invalid_request", "Token has expired")


def refresh_other_client() -> OAuthError:
    return OAuthError("invalid_request", "Token is not linked to client")


def not_authorized(text: str) -> OAuthError:
    return OAuthError("not_authorized", text)
