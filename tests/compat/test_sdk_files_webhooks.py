"""The official Python SDK against a real server: files.upload / tasks.create(files=...) / files.list /
files.download, and webhook.create / list / delete (plus a real delivery)."""

from __future__ import annotations

import io
import os
from pathlib import Path

from tests.compat.conftest import Server
from tests.webhook_receiver import running_receiver


def test_sdk_uploads_attaches_lists_and_downloads_files(sdk, server: Server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    contents = {"notes.txt": b"plain text\n", "Звіт €.bin": os.urandom(70_000)}
    paths = []
    for name, content in contents.items():
        path = tmp_path / name
        path.write_bytes(content)
        paths.append(str(path))
    uploaded = sdk.files.upload(paths)
    assert [u.name for u in uploaded] == list(contents) and all(u.id for u in uploaded)
    project = sdk.projects.create("SDK files")
    task = sdk.tasks.create(int(project.id), "With files", {"files": uploaded})
    listed = sdk.files.list({"id_task": int(task.id)})
    assert [(f.name, int(f.size)) for f in listed] == [(n, len(c)) for n, c in contents.items()]
    for item in listed:
        sink = io.BytesIO()
        downloaded = sdk.files.download(int(item.id), sink)
        assert downloaded.filename == item.name and downloaded.type == "attachment"
        assert sink.getvalue() == contents[item.name]


def test_sdk_download_of_an_unknown_file_raises_the_api_message(sdk) -> None:  # type: ignore[no-untyped-def]
    from worksection.exceptions.response_exception import ResponseException

    try:
        sdk.files.download(999999999, io.BytesIO())
    except ResponseException as exc:
        assert "File not found" in str(exc)
    else:
        raise AssertionError("download of an unknown file succeeded")


def test_sdk_creates_lists_and_deletes_webhooks_and_receives_events(sdk) -> None:  # type: ignore[no-untyped-def]
    with running_receiver() as receiver:
        hook_id = sdk.webhook.create(receiver.url, ["post_project", "post_task"])
        assert isinstance(hook_id, int) and hook_id > 0
        hooks = {h.id: h for h in sdk.webhook.list()}
        assert hooks[str(hook_id)].status == "active"
        assert hooks[str(hook_id)].events == "post_project,post_task"
        project = sdk.projects.create("Hooked by SDK")
        assert receiver.wait_for(lambda: any(e["object"]["id"] == str(project.id) for e in receiver.events()),
                                 timeout=30)
        sdk.webhook.delete(hook_id)
        assert str(hook_id) not in {h.id for h in sdk.webhook.list()}
