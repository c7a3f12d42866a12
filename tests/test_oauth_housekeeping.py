from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from localsection import clock, housekeeping
from localsection.models import Account, OAuthCode, OAuthRefreshToken, RevokedToken, User
from localsection.oauth2 import apps, codes
from tests.helpers import Api


def _count(api: Api, model: type, app_id: int | None = None) -> int:
    with api.state.db.session(write=False) as s:
        q = select(func.count()).select_from(model)
        if app_id is not None:
            q = q.where(model.app_id == app_id)  # type: ignore[attr-defined]
        return int(s.scalar(q) or 0)


def test_housekeeping_drops_expired_codes_refresh_tokens_and_revocations_but_keeps_live_ones(api: Api) -> None:
    now = clock.now()
    with api.state.db.session() as s:
        account = s.get(Account, api.account_id)
        owner = s.get(User, api.owner_id)
        assert account is not None and owner is not None
        app = apps.create(s, account, "Housekeeping", ["http://localhost/cb"]).app
        codes.issue(s, app, owner, ["tasks_read"], "http://localhost/cb", "")
        s.add(OAuthCode(code_hash="old" * 10, app_id=app.id, user_id=owner.id, scopes=[], redirect_uri="x",
                        code_challenge="", expires_at=now - dt.timedelta(days=2)))
        for name, expires in (("live", now + dt.timedelta(days=1)), ("dead", now - dt.timedelta(seconds=1))):
            s.add(OAuthRefreshToken(token_hash=name * 8, family=name, app_id=app.id, user_id=owner.id, scopes=[],
                                    expires_at=expires))
            s.add(RevokedToken(jti=f"{name}-{api.account}", expires_at=expires))
        app_id = app.id
    housekeeping.run(api.state.db, api.state.settings)
    assert _count(api, OAuthCode, app_id) == 1
    assert _count(api, OAuthRefreshToken, app_id) == 1
    with api.state.db.session(write=False) as s:
        left = set(s.scalars(select(RevokedToken.jti).where(RevokedToken.jti.like(f"%-{api.account}"))))
    assert left == {f"live-{api.account}"}
