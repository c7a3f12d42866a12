from tests.helpers import Api


def test_get_users_lists_the_owner_with_lowercase_role(api: Api) -> None:
    users = api.ok("get_users")
    assert [u["email"] for u in users] == [api.owner_email]
    assert users[0]["role"] == "owner"
    assert isinstance(users[0]["id"], str)
    assert isinstance(users[0]["rate"], int)


def test_seed_example_md5_signature_is_accepted(api: Api) -> None:
    body = api.md5_get("action=get_users")
    assert body["status"] == "ok"
