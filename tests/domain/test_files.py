"""domain.files and files.attach called directly (no HTTP): uploads, attaching, listing and downloading."""

from __future__ import annotations

import io

import pytest

from localsection import errors, files
from localsection.domain import files as domain
from tests.factories import make_project, make_task
from tests.helpers import Api


class Part:
    def __init__(self, filename: str, data: bytes) -> None:
        self.filename, self.file, self.size = filename, io.BytesIO(data), len(data)


def test_an_upload_is_attached_by_its_token_and_downloads_with_its_bytes(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid)
    with api.ctx() as ctx:
        [up] = domain.upload_files(ctx, parts=[Part("../report.pdf", b"%PDF-1")])
    assert (up.name, up.ext, up.error) == ("report.pdf", "pdf", None) and up.token
    with api.ctx() as ctx:
        [row] = files.attach(ctx, files.Attachments(upload_ids=[up.token]), author=ctx.user, project_id=pid,
                             task_id=tid)
        file_id = row.id
    with api.ctx() as ctx:
        assert [f.id for f in domain.list_files(ctx, task_id=tid)] == [file_id]
        assert domain.list_files(ctx, project_id=pid) == []  # a task's file is not in the project's section
        d = domain.download(ctx, file_id=file_id)
    assert (d.name, d.size, d.path.read_bytes()) == ("report.pdf", 6, b"%PDF-1")
    with pytest.raises(errors.ApiError) as used, api.ctx() as ctx:  # a token is consumed once
        files.attach(ctx, files.Attachments(upload_ids=[up.token]), author=ctx.user, project_id=pid)
    assert (used.value.code, used.value.message, used.value.details) == (4, "File not found", up.token)


def test_too_large_uploads_are_refused_one_by_one_and_attachments_as_a_whole(api: Api) -> None:
    pid = make_project(api)
    settings = api.state.settings.with_(max_file_bytes=4)
    with api.ctx(settings=settings) as ctx:
        small, big = domain.upload_files(ctx, parts=[Part("a.txt", b"abc"), Part("b.txt", b"abcdef")])
    assert small.error is None and (big.token, big.error) == ("", "File is too large")
    with pytest.raises(errors.ApiError) as refused, api.ctx(settings=settings) as ctx:
        files.attach(ctx, files.Attachments(parts=[Part("b.txt", b"abcdef")]), author=ctx.user, project_id=pid)
    assert (refused.value.code, refused.value.details) == (11, "b.txt")


def test_a_guest_cannot_upload_and_an_outsider_cannot_see_or_download(api: Api) -> None:
    pid = make_project(api)
    with api.ctx() as ctx:
        [row] = files.attach(ctx, files.Attachments(parts=[Part("plan.txt", b"plan")]), author=ctx.user,
                             project_id=pid)
        file_id = row.id
    api.add_user("gil.guest@example.com", role="guest")
    api.add_user("oscar.out@example.com")
    with pytest.raises(errors.ApiError) as guest, api.ctx("gil.guest@example.com") as ctx:
        domain.upload_files(ctx, parts=[Part("x.txt", b"x")])
    assert guest.value.code == 20
    with pytest.raises(errors.ApiError) as hidden, api.ctx("oscar.out@example.com") as ctx:
        domain.download(ctx, file_id=file_id)
    assert (hidden.value.code, hidden.value.message) == (4, "File not found")
    with pytest.raises(errors.ApiError) as listing, api.ctx("oscar.out@example.com") as ctx:
        domain.list_files(ctx, project_id=pid)
    assert listing.value.code == 4
