"""The archive format of exports, server dumps and snapshots: a tar stream, compressed with zstandard.

Members, in this order (docs/operations.md, "Export and import", is the specification):

    format.json                          what this is: format name and version, scope, source, expected row counts
    tables/<table>/<NNNNNN>.ndjson       one JSON object per line and row, at most CHUNK_ROWS rows a member
    files/<sha256>                       the bytes of every stored file the rows refer to (content-addressed)
    manifest.json                        row counts, file totals and the SHA-256 of every member above

A table's rows are split into members of bounded size so that neither writing nor reading ever holds a table
whole. Values are JSON: DateTime as ISO 8601 without a zone (stored times are UTC), Date as YYYY-MM-DD, Numeric
as a decimal string, JSON columns as themselves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any, BinaryIO, cast

import orjson
import zstandard
from sqlalchemy import Date, DateTime, Numeric, Table

FORMAT = "localsection-archive"
FORMAT_VERSION = 1
CHUNK_ROWS = 5000
CHUNK_BYTES = 8 * 1024 * 1024
MAX_META_BYTES = 16 * 1024 * 1024  # format.json, manifest.json
MAX_CHUNK_BYTES = 64 * 1024 * 1024  # one tables/… member (a chunk ends at CHUNK_BYTES plus one row)
_TABLE_MEMBER = re.compile(r"tables/([a-z_][a-z0-9_]{0,62})/([0-9]{6})\.ndjson")
_FILE_MEMBER = re.compile(r"files/([0-9a-f]{64})")

# label, rows or bytes done so far, total expected (0 = unknown)
Progress = Callable[[str, int, int], None]


class ArchiveError(Exception):
    """The archive is not one we can read (truncated, tampered with, another format or a newer version)."""


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in an archive")


def encode_row(row: dict[str, Any]) -> bytes:
    return orjson.dumps(row, default=_default)


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a decimal: {value!r}") from None


def row_decoder(table: Table) -> Callable[[bytes], dict[str, Any]]:
    """Parse one NDJSON line into the values the table's columns take; ArchiveError on an unknown column."""
    converters: dict[str, Callable[[Any], Any]] = {}
    for column in table.columns:
        if isinstance(column.type, DateTime):
            converters[column.name] = dt.datetime.fromisoformat
        elif isinstance(column.type, Date):
            converters[column.name] = dt.date.fromisoformat
        elif isinstance(column.type, Numeric):
            converters[column.name] = _decimal
    known = set(table.c.keys())

    def decode(line: bytes) -> dict[str, Any]:
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise ArchiveError(f"table {table.name}: a row is not valid JSON") from None
        if not isinstance(row, dict):
            raise ArchiveError(f"table {table.name}: a row is not a JSON object")
        unknown = set(row) - known
        if unknown:
            raise ArchiveError(f"table {table.name} has no column {sorted(unknown)[0]} (an archive of a newer "
                               "schema? upgrade localsection first)")
        for name, convert in converters.items():
            value = row.get(name)
            if value is not None:
                try:
                    row[name] = convert(value)
                except (ValueError, TypeError):
                    raise ArchiveError(f"table {table.name}: column {name} holds {value!r}") from None
        return row

    return decode


@dataclass
class MemberInfo:
    sha256: str
    bytes: int
    rows: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sha256": self.sha256, "bytes": self.bytes}
        if self.rows is not None:
            out["rows"] = self.rows
        return out


class _Hashing(io.RawIOBase):
    """Reads through another file, hashing and counting what passes."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass
class ArchiveWriter:
    """Writes members into a zstd-compressed tar stream (never seeks; `out` may be a pipe)."""

    out: BinaryIO
    level: int = 3
    members: dict[str, MemberInfo] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._z = zstandard.ZstdCompressor(level=self.level).stream_writer(self.out, closefd=False)
        self._tar = tarfile.open(fileobj=self._z, mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self._mtime = int(time.time())

    def _info(self, name: str, size: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, self._mtime, 0o600
        return info

    def add_bytes(self, name: str, data: bytes, rows: int | None = None) -> None:
        self._tar.addfile(self._info(name, len(data)), io.BytesIO(data))
        self.members[name] = MemberInfo(hashlib.sha256(data).hexdigest(), len(data), rows)

    def add_json(self, name: str, data: Any) -> None:
        self.add_bytes(name, orjson.dumps(data, option=orjson.OPT_INDENT_2, default=_default) + b"\n")

    def add_stream(self, name: str, source: IO[bytes], size: int) -> None:
        """A member of known size read from `source` (a stored file) in pieces."""
        hashing = _Hashing(source)
        self._tar.addfile(self._info(name, size), hashing)
        self.members[name] = MemberInfo(hashing.digest.hexdigest(), hashing.size)

    def close(self) -> None:
        self._tar.close()
        self._z.flush(zstandard.FLUSH_FRAME)
        self._z.close()  # type: ignore[no-untyped-call]


class TableChunker:
    """Collects encoded rows of one table and writes a member when a chunk is full."""

    def __init__(self, writer: ArchiveWriter, table: str) -> None:
        self.writer, self.table = writer, table
        self.lines: list[bytes] = []
        self.size = 0
        self.seq = 0
        self.rows = 0

    def add(self, row: dict[str, Any]) -> None:
        line = encode_row(row)
        self.lines.append(line)
        self.size += len(line) + 1
        self.rows += 1
        if len(self.lines) >= CHUNK_ROWS or self.size >= CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self.lines:
            return
        self.seq += 1
        self.writer.add_bytes(f"tables/{self.table}/{self.seq:06d}.ndjson", b"\n".join(self.lines) + b"\n",
                              rows=len(self.lines))
        self.lines, self.size = [], 0


@dataclass
class Member:
    """One member as the reader meets it: `kind` is format | manifest | table | file."""

    name: str
    kind: str
    size: int
    table: str = ""
    sha256: str = ""  # for files: the name, i.e. the digest the content must have
    reader: BinaryIO | None = None
    hashing: _Hashing | None = None

    def read_all(self, limit: int) -> bytes:
        if self.size > limit:
            raise ArchiveError(f"member {self.name} is too large ({self.size} bytes)")
        assert self.reader is not None
        data = self.reader.read()
        if len(data) != self.size:
            raise ArchiveError(f"member {self.name} is truncated")
        return data

    def checksum(self) -> MemberInfo:
        assert self.hashing is not None
        return MemberInfo(self.hashing.digest.hexdigest(), self.hashing.size)


# name -> (kind, table, sha256) of a member, or None when the name is not one of the format's
Classifier = Callable[[str], "tuple[str, str, str] | None"]


def export_member(name: str) -> tuple[str, str, str] | None:
    """The members of an export: format.json, tables/<t>/<n>.ndjson, files/<sha256>, manifest.json."""
    if name in ("format.json", "manifest.json"):
        return name.split(".")[0], "", ""
    if m := _TABLE_MEMBER.fullmatch(name):
        return "table", m.group(1), ""
    if m := _FILE_MEMBER.fullmatch(name):
        return "file", "", m.group(1)
    return None


def read_members(source: BinaryIO, classify: Classifier = export_member) -> Iterator[Member]:
    """The archive's members in order, each to be consumed before the next is asked for.

    Only regular members with the names of the format are accepted; nothing is ever extracted to a path."""
    reader = zstandard.ZstdDecompressor().stream_reader(source, closefd=False)
    try:
        tar = tarfile.open(fileobj=reader, mode="r|")  # noqa: SIM115
    except (tarfile.TarError, zstandard.ZstdError, EOFError) as exc:
        raise ArchiveError(f"not a localsection archive ({_why(exc)})") from None
    try:
        while True:
            try:
                info = tar.next()
            except (tarfile.TarError, zstandard.ZstdError, EOFError, OSError) as exc:
                raise ArchiveError(f"the archive is damaged ({_why(exc)})") from None
            if info is None:
                return
            yield _member(tar, info, classify)
    finally:
        tar.close()


def _why(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or exc.__class__.__name__


def _member(tar: tarfile.TarFile, info: tarfile.TarInfo, classify: Classifier) -> Member:
    kinds = classify(info.name) if info.isreg() else None
    if kinds is None:
        raise ArchiveError(f"unexpected member {info.name!r}")
    kind, table, sha = kinds
    raw = tar.extractfile(info)
    assert raw is not None
    hashing = _Hashing(raw)
    return Member(info.name, kind, info.size, table, sha, cast(BinaryIO, hashing), hashing)


def parse_json(member: Member) -> dict[str, Any]:
    try:
        data = orjson.loads(member.read_all(MAX_META_BYTES))
    except orjson.JSONDecodeError:
        raise ArchiveError(f"{member.name} is not valid JSON") from None
    if not isinstance(data, dict):
        raise ArchiveError(f"{member.name} is not a JSON object")
    return data


def check_format(header: dict[str, Any]) -> None:
    if header.get("format") != FORMAT:
        raise ArchiveError("not a localsection archive (format.json names another format)")
    version = header.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ArchiveError("format.json has no valid format_version")
    if version > FORMAT_VERSION:
        raise ArchiveError(f"archive format version {version} is newer than this localsection reads "
                           f"({FORMAT_VERSION}): upgrade localsection")


def verify_checksums(manifest: dict[str, Any], seen: dict[str, MemberInfo]) -> dict[str, Any]:
    """Every member read is listed in manifest.json with its SHA-256 and size, and every listed one was read.

    Returns the manifest's member entries."""
    listed = manifest.get("members")
    if not isinstance(listed, dict):
        raise ArchiveError("manifest.json lists no members")
    for name, info in seen.items():
        entry = listed.get(name)
        if not isinstance(entry, dict):
            raise ArchiveError(f"member {name} is not listed in manifest.json")
        if entry.get("sha256") != info.sha256 or entry.get("bytes") != info.bytes:
            raise ArchiveError(f"member {name} does not match its checksum in manifest.json (damaged archive)")
    absent = [n for n in listed if n not in seen]
    if absent:
        raise ArchiveError(f"member {absent[0]} listed in manifest.json is missing (truncated archive)")
    return listed
