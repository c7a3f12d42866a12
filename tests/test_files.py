"""Files: upload_files, attaching at creation (multipart and the SDK `files` list), get_files, download."""

from __future__ import annotations

import io
import os
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from localsection import clock, errors, files
from localsection.actions.files import attachments
from localsection.api.params import Params, UploadedPart
from localsection.models import StoredFile
from tests.factories import make_project
from tests.helpers import ADMIN_PATH, Api

SIZES = [0, 1, 1000, 256 * 1024 + 7, 3 * 1024 * 1024 + 1]


def blob(size: int, seed: int = 0) -> bytes:
    return bytes((i * 31 + seed) % 256 for i in range(size)) if size < 4096 else os.urandom(size)


def multipart(api: Api, action: str, parts: list[tuple[str, tuple[str, bytes]]], **fields: Any) -> dict[str, Any]:
    resp = api.client.post(f"{ADMIN_PATH}?action={action}", data={k: str(v) for k, v in fields.items()},
                           files=[(k, (n, c, "application/octet-stream")) for k, (n, c) in parts],
                           headers={"Host": api.host, "Authorization": api.admin_header(action)})
    return resp.json()  # type: ignore[no-any-return]


def upload(api: Api, *named: tuple[str, bytes]) -> list[dict[str, Any]]:
    body = multipart(api, "upload_files", [("files[]", item) for item in named])
    assert body["status"] == "ok", body
    return body["data"]  # type: ignore[no-any-return]


def download(api: Api, file_id: str | int) -> httpx.Response:
    return api.client.post(f"{ADMIN_PATH}?action=download", json={"id_file": file_id},
                           headers={"Host": api.host, "Authorization": api.admin_header("download")})


def blobs_on_disk(api: Api) -> set[str]:
    root = api.state.settings.data_dir / "files"
    return {p.name for p in root.glob("??/*")} if root.is_dir() else set()


def file_rows(api: Api) -> int:
    with api.state.db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(StoredFile)
                            .where(StoredFile.account_id == api.account_id)) or 0)


def test_uploads_attached_through_the_sdk_files_list_round_trip_byte_for_byte(api: Api) -> None:
    project = make_project(api)
    contents = {f"blob{i}.bin": blob(size, i) for i, size in enumerate(SIZES)}
    uploaded = upload(api, *contents.items())
    assert [(u["ext"], u["name"]) for u in uploaded] == [("bin", n) for n in contents]
    assert all(isinstance(u["id"], str) and u["id"] and "error" not in u for u in uploaded)
    task = api.ok("post_task", id_project=project, title="With files", files=uploaded)
    listed = api.ok("get_files", id_task=task["id"])
    assert [(f["name"], f["size"]) for f in listed] == [(n, str(len(c))) for n, c in contents.items()]
    for item in listed:
        resp = download(api, item["id"])
        assert resp.status_code == 200 and resp.content == contents[item["name"]]


def test_multipart_attach_parts_round_trip_on_tasks(api: Api) -> None:
    project = make_project(api)
    contents = [(f"part{i}.dat", blob(size, i + 7)) for i, size in enumerate(SIZES)]
    body = multipart(api, "post_task", [(f"attach[{i}]", c) for i, c in enumerate(contents)],
                     id_project=project, title="Multipart")
    assert body["status"] == "ok", body
    listed = api.ok("get_files", id_task=body["data"]["id"])
    assert [f["name"] for f in listed] == [n for n, _ in contents]
    for item, (_, content) in zip(listed, contents, strict=True):
        assert download(api, item["id"]).content == content


@pytest.mark.parametrize("field", ["attach", "attach[]", "files", "files[]"])
def test_every_accepted_part_name_attaches(api: Api, field: str) -> None:
    project = make_project(api)
    body = multipart(api, "post_task", [(field, ("a.txt", b"hello"))], id_project=project, title="T")
    assert [f["name"] for f in api.ok("get_files", id_task=body["data"]["id"])] == ["a.txt"]


def test_project_and_comment_attachments_are_listed_where_they_belong(api: Api) -> None:
    created = multipart(api, "post_project", [("attach[0]", ("brief.pdf", b"%PDF"))], title="Files")
    project = created["data"]["id"]
    task = api.ok("post_task", id_project=project, title="T", files=upload(api, ("spec.txt", b"spec")))
    comment = multipart(api, "post_comment", [("attach[0]", ("shot.png", b"\x89PNG"))], id_task=task["id"],
                        text="see attached")
    assert comment["status"] == "ok", comment
    in_project = api.ok("get_files", id_project=project)
    assert [f["name"] for f in in_project] == ["brief.pdf"]
    item = in_project[0]
    assert list(item) == ["id", "page", "name", "size", "date_added", "user_from"]
    assert item["page"] == f"/download/{item['id']}/" and item["size"] == "4"
    assert item["user_from"]["email"] == api.owner_email
    assert [f["name"] for f in api.ok("get_files", id_task=task["id"])] == ["spec.txt", "shot.png"]


def test_download_sends_the_protocol_headers_and_an_rfc5987_name(api: Api) -> None:
    project = make_project(api)
    name = "Отчёт 2024 €; final (v2) 100%.txt"
    task = api.ok("post_task", id_project=project, title="T", files=upload(api, (name, b"payload")))
    file_id = api.ok("get_files", id_task=task["id"])[0]["id"]
    resp = download(api, file_id)
    assert resp.headers["content-type"] == "application/x-download"
    assert resp.headers["content-disposition"] == "attachment; filename*=UTF-8''" + urllib.parse.quote(name, safe="")
    assert resp.headers["content-length"] == "7"
    assert resp.headers["cache-control"] == "private"
    assert resp.headers["accept-ranges"] == "bytes"
    assert resp.headers["etag"].startswith('"') and resp.headers["last-modified"].endswith("GMT")


def test_download_errors_are_json_envelopes(api: Api) -> None:
    resp = download(api, 999999999)
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json() == {"status": "error", "status_code": 4, "message": "File not found"}
    assert api.error("download")["status_code"] in (4, 10)


def test_the_browser_link_serves_the_same_bytes_with_the_same_credentials(api: Api) -> None:
    project = make_project(api)
    task = api.ok("post_task", id_project=project, title="T", files=upload(api, ("x.bin", b"\x00\x01\x02")))
    page = api.ok("get_files", id_task=task["id"])[0]["page"]
    admin = api.client.get(page, headers={"Host": api.host, "Authorization": api.admin_header("download")})
    assert admin.content == b"\x00\x01\x02"
    token = api.token()
    assert api.client.get(page, headers={"Host": api.host, "Authorization": f"Bearer {token}"}).content == (
        b"\x00\x01\x02")
    anonymous = api.client.get(page, headers={"Host": api.host})
    assert anonymous.headers["content-type"].startswith("application/json")
    assert anonymous.json()["status"] == "error"


def test_an_oversized_upload_gets_an_empty_id_and_an_error(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.state, "settings", api.state.settings.with_(max_file_bytes=100))
    before = blobs_on_disk(api)
    items = upload(api, ("small.txt", b"x" * 100), ("big.iso", b"x" * 101))
    assert items[0]["id"] and "error" not in items[0]
    assert items[1] == {"id": "", "ext": "iso", "name": "big.iso", "error": "File is too large"}
    assert len(blobs_on_disk(api) - before) <= 1


def test_an_oversized_attachment_refuses_the_whole_creation(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(api)
    monkeypatch.setattr(api.state, "settings", api.state.settings.with_(max_file_bytes=100))
    before_blobs, before_rows = blobs_on_disk(api), file_rows(api)
    body = multipart(api, "post_task", [("attach[0]", ("ok.txt", b"fine")), ("attach[1]", ("huge.bin", b"x" * 101))],
                     id_project=project, title="Refused")
    assert body == {"status": "error", "status_code": 11, "message": "File is too large", "message_details": "huge.bin"}
    assert api.ok("get_tasks", id_project=project) == []
    assert (blobs_on_disk(api), file_rows(api)) == (before_blobs, before_rows)


def test_a_failed_attach_leaves_no_blob_and_no_row_behind(api: Api) -> None:
    """Content larger than declared is caught while streaming, after an earlier part was stored."""
    project = make_project(api)
    settings = api.state.settings.with_(max_file_bytes=1000)
    first = os.urandom(500)
    p = Params(files=[UploadedPart("attach[0]", "a.bin", "application/octet-stream", io.BytesIO(first), 0),
                      UploadedPart("attach[1]", "b.bin", "application/octet-stream", io.BytesIO(b"x" * 1001), 0)])
    before_blobs, before_rows = blobs_on_disk(api), file_rows(api)
    with pytest.raises(errors.ApiError) as err, api.ctx(settings=settings) as ctx:
        files.attach(ctx, attachments(p), author=ctx.user, project_id=project)
    assert (err.value.code, err.value.details) == (11, "b.bin")
    assert (blobs_on_disk(api), file_rows(api)) == (before_blobs, before_rows)
    assert not list((settings.data_dir / "files" / "tmp").glob("up-*"))


def test_traversal_names_are_sanitised_and_never_leave_the_store(api: Api) -> None:
    data_dir: Path = api.state.settings.data_dir
    items = upload(api, ("../../etc/passwd", b"root"), ("..\\..\\win.ini", b"ini"), ("..", b"dots"))
    assert [i["name"] for i in items] == ["passwd", "win.ini", "file"]
    assert not (data_dir.parent / "etc" / "passwd").exists() and not (data_dir / "etc").exists()
    root = (data_dir / "files").resolve()
    for path in (data_dir / "files").rglob("*"):
        assert path.resolve().is_relative_to(root)


def test_an_upload_token_is_consumed_once_and_unknown_ones_are_file_not_found(api: Api) -> None:
    project = make_project(api)
    uploaded = upload(api, ("once.txt", b"1"))
    api.ok("post_task", id_project=project, title="First", files=uploaded)
    again = api.error("post_task", id_project=project, title="Second", files=uploaded)
    assert (again["status_code"], again["message"], again["message_details"]) == (4, "File not found",
                                                                                  uploaded[0]["id"])
    bogus = api.error("post_task", id_project=project, title="Third", files=[{"id": "nope"}])
    assert bogus["message_details"] == "nope"
    assert [t["name"] for t in api.ok("get_tasks", id_project=project)] == ["First"]


def test_upload_tokens_expire_after_24_hours(api: Api) -> None:
    project = make_project(api)
    clock.shift(-25 * 3600)
    try:
        with api.ctx() as ctx:
            item = files.upload(ctx, UploadedPart("files[]", "old.txt", "text/plain", io.BytesIO(b"old"), 3)).token
    finally:
        clock.shift(25 * 3600)
    assert api.error("post_task", id_project=project, title="Late", files=[item])["message"] == "File not found"


def test_get_files_needs_a_visible_project_or_task(api: Api, other: Api) -> None:
    assert api.error("get_files") == {"status": "error", "status_code": 10, "message": "Field is required",
                                      "message_details": "id_project"}
    assert api.error("get_files", id_project=999999999)["message"] == "Project is invalid"
    assert api.error("get_files", id_task=999999999)["message"] == "Task is invalid"
    assert other.error("get_files", id_project=make_project(api))["status_code"] == 4


def test_files_of_other_accounts_and_invisible_projects_are_not_found(api: Api, other: Api) -> None:
    project = make_project(api)
    uploaded = upload(api, ("secret.txt", b"secret"))
    task = api.ok("post_task", id_project=project, title="T", files=uploaded)
    file_id = api.ok("get_files", id_task=task["id"])[0]["id"]
    assert download(other, file_id).json()["message"] == "File not found"
    assert other.error("post_task", id_project=make_project(other), title="X", files=uploaded)["status_code"] == 4
    api.add_user("outsider@example.com")
    body = api.user_call(api.token("outsider@example.com"), "download", id_file=file_id)
    assert (body["status_code"], body["message"]) == (4, "File not found")


def test_a_pending_upload_cannot_be_downloaded_before_it_is_attached(api: Api) -> None:
    with api.state.db.session(write=False) as s:
        before = s.scalar(select(func.max(StoredFile.id))) or 0
    upload(api, ("pending.txt", b"p"))
    with api.state.db.session(write=False) as s:
        pending_id = s.scalar(select(func.max(StoredFile.id)))
    assert pending_id and pending_id > before
    assert download(api, pending_id).json()["message"] == "File not found"


def test_identical_content_is_stored_once(api: Api) -> None:
    before = blobs_on_disk(api)
    content = os.urandom(2048)
    upload(api, ("a.bin", content), ("b.bin", content))
    assert len(blobs_on_disk(api) - before) == 1


def test_sweep_removes_expired_uploads_and_unreferenced_blobs(api: Api) -> None:
    upload(api, ("stale.bin", os.urandom(64)))
    clock.shift(48 * 3600)
    try:
        with api.state.db.session() as s:
            files.sweep(s, api.state.settings, clock.now())
    finally:
        clock.shift(-48 * 3600)
    with api.state.db.session(write=False) as s:
        used = set(s.scalars(select(StoredFile.sha256)))
    assert blobs_on_disk(api) <= used
