from tests.compat.conftest import Server


def test_official_sdk_lists_members_with_the_admin_key(sdk, server: Server) -> None:  # type: ignore[no-untyped-def]
    users = sdk.members.list()
    assert server.owner_email in [u.email for u in users]
    assert all(u.role for u in users)
