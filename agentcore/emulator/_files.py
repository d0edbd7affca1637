"""The emulator's Files API: uploads kept in memory or in a data directory.

:class:`FileStore` answers ``POST /v1/files`` (a ``multipart/form-data`` upload, parsed here
with the standard library's email parser under fixed limits), paged listing, metadata,
content download and deletion, with the API's rules: an uploaded file is not downloadable
(only files the API's own tools create are, :meth:`FileStore.add_generated`), names are
checked, and an unknown id is 404 ``not_found_error``. :meth:`FileStore.resolve_sources`
checks the ``{"type": "file", "file_id": …}`` sources of a Messages request against the
store and returns the documents the request holds, for the demo policy to cite.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

from agentcore.emulator._http import HTTPRequest
from agentcore.emulator._validation import RequestRejected

__all__ = ["MAX_UPLOAD_BYTES", "FileStore", "SourceDocument", "parse_upload"]

MAX_UPLOAD_BYTES = 500 * 1024 * 1024
"""The Files API's per-file limit."""

_MAX_PARTS = 8
_MAX_PART_HEADER_BYTES = 8 * 1024
_MAX_FILENAME_CHARS = 255
_FORBIDDEN_FILENAME = re.compile(r'[<>:"|?*\\/\x00-\x1f]')
_DOCUMENT_TYPES = ("application/pdf", "text/plain")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9.+_-]*/[a-z0-9][a-z0-9.+_-]*")


def _invalid(message: str) -> RequestRejected:
    return RequestRejected(400, "invalid_request_error", message)


def _not_found(file_id: str) -> RequestRejected:
    return RequestRejected(404, "not_found_error", f"File not found: {file_id}")


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """A document of a Messages request, in request order (its ``document_index``)."""

    index: int
    title: str | None
    text: str | None
    """The document's text when the emulator can read it (plain text), else None."""
    citations: bool
    """Whether the request enabled citations on it."""
    file_id: str | None = None


def _boundary(content_type: str) -> str:
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        raise _invalid("Content-Type must be multipart/form-data for file uploads")
    match = re.search(r'boundary="?([^";]{1,70})"?', params)
    if match is None:
        raise _invalid("multipart/form-data without a boundary")
    return match.group(1)


def _parts(body: bytes, boundary: str) -> Iterator[tuple[bytes, bytes]]:
    """The (header, content) bytes of each part, or 400 for a body that is not multipart."""
    delimiter = b"--" + boundary.encode("latin-1")
    sections = body.split(b"\r\n" + delimiter)
    first = sections[0]
    if not first.startswith(delimiter):
        raise _invalid("the multipart body does not start with its boundary")
    sections[0] = first[len(delimiter):]
    if len(sections) - 1 > _MAX_PARTS:
        raise _invalid(f"too many multipart parts (at most {_MAX_PARTS})")
    if not sections[-1].startswith(b"--"):
        raise _invalid("the multipart body does not end with its closing boundary")
    for section in sections[:-1]:
        if not section.startswith(b"\r\n"):
            raise _invalid("malformed multipart boundary line")
        head, separator, content = section[2:].partition(b"\r\n\r\n")
        if not separator or len(head) > _MAX_PART_HEADER_BYTES:
            raise _invalid("malformed multipart part headers")
        yield head, content


def _part_headers(head: bytes) -> tuple[str | None, str | None, str]:
    """The ``name`` and ``filename`` of a part's Content-Disposition and its media type
    (``application/octet-stream`` when it gives none); 400 for headers the parser cannot
    read or a media type that is not one."""
    try:
        headers = BytesParser(policy=HTTP).parsebytes(head + b"\r\n\r\n", headersonly=True)
        name = headers.get_param("name", header="content-disposition")
        filename = headers.get_filename()
        mime_type = (headers.get_content_type() if "content-type" in headers
                     else "application/octet-stream")
    except (LookupError, ValueError, TypeError, AttributeError):
        # The standard library's header parser fails this way on some malformed parameters.
        raise _invalid("malformed multipart part headers") from None
    if not _MEDIA_TYPE.fullmatch(mime_type):
        raise _invalid(f"malformed multipart part headers: {mime_type!r} is not a media type")
    return name if isinstance(name, str) else None, filename, mime_type


def parse_upload(request: HTTPRequest) -> tuple[str, str, bytes]:
    """The ``(filename, mime_type, content)`` of the ``file`` part of an upload.

    Raises:
        RequestRejected: 400 for anything that is not a well-formed upload with a valid
            name, 413 for a file over :data:`MAX_UPLOAD_BYTES`.
    """
    boundary = _boundary(request.headers.get("content-type", ""))
    for head, content in _parts(request.body, boundary):
        name, filename, mime_type = _part_headers(head)
        if name != "file":
            continue
        if not isinstance(filename, str):
            raise _invalid("file: the part has no filename")
        _check_filename(filename)
        if len(content) > MAX_UPLOAD_BYTES:
            raise RequestRejected(413, "request_too_large",
                                  f"File exceeds the maximum size of {MAX_UPLOAD_BYTES} bytes")
        return filename, mime_type, content
    raise _invalid("file: Field required")


def _check_filename(filename: str) -> None:
    if not 1 <= len(filename) <= _MAX_FILENAME_CHARS:
        raise _invalid(f"Invalid filename: must be 1 to {_MAX_FILENAME_CHARS} characters")
    if _FORBIDDEN_FILENAME.search(filename):
        raise _invalid("Invalid filename: it contains a character that is not allowed "
                       '(< > : " | ? * \\ / or a control character)')


def _describes(metadata: Any, file_id: str, content: bytes) -> bool:
    """Whether ``metadata`` read from disk is what :meth:`FileStore._create` writes for the
    file ``file_id`` holding ``content``: every field present with its type, a name the
    upload would take, and the content's size."""
    if not isinstance(metadata, dict) or metadata.get("id") != file_id:
        return False
    filename, mime_type = metadata.get("filename"), metadata.get("mime_type")
    size = metadata.get("size_bytes")
    if not (metadata.get("type") == "file" and isinstance(filename, str)
            and isinstance(mime_type, str) and _MEDIA_TYPE.fullmatch(mime_type)
            and type(size) is int and size == len(content)
            and isinstance(metadata.get("created_at"), str)
            and type(metadata.get("downloadable")) is bool):
        return False
    try:
        _check_filename(filename)
    except RequestRejected:
        return False
    return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class FileStore:
    """Files by id, newest last, in memory or mirrored to ``directory`` (one ``<id>.json``
    of metadata and one ``<id>.bin`` of content per file; a directory is read back when the
    store is created, so files outlive the emulator)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._metadata: dict[str, dict[str, Any]] = {}
        self._content: dict[str, bytes] = {}
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            self._load(directory)

    def _load(self, directory: Path) -> None:
        found = []
        for path in directory.glob("file_*.json"):
            try:
                metadata = json.loads(path.read_text(encoding="utf-8"))
                content = path.with_suffix(".bin").read_bytes()
            except (OSError, ValueError):
                continue  # a half-written or foreign file is not one of ours
            if _describes(metadata, path.stem, content):
                found.append((metadata["created_at"], metadata, content))
        for _, metadata, content in sorted(found, key=lambda item: item[0]):
            self._metadata[metadata["id"]] = metadata
            self._content[metadata["id"]] = content

    def _save(self, metadata: dict[str, Any], content: bytes) -> None:
        file_id = metadata["id"]
        self._metadata[file_id] = metadata
        self._content[file_id] = content
        if self.directory is not None:
            (self.directory / f"{file_id}.bin").write_bytes(content)
            (self.directory / f"{file_id}.json").write_text(json.dumps(metadata), "utf-8")

    def _create(self, filename: str, mime_type: str, content: bytes,
                *, downloadable: bool) -> dict[str, Any]:
        metadata = {
            "id": "file_011" + secrets.token_hex(12),
            "type": "file",
            "filename": filename,
            "mime_type": mime_type,
            "size_bytes": len(content),
            "created_at": _now(),
            "downloadable": downloadable,
        }
        self._save(metadata, content)
        return dict(metadata)

    def upload(self, request: HTTPRequest) -> dict[str, Any]:
        """``POST /v1/files``: store the uploaded file; returns its metadata."""
        filename, mime_type, content = parse_upload(request)
        return self._create(filename, mime_type, content, downloadable=False)

    def add_generated(self, filename: str, content: bytes,
                      mime_type: str = "application/octet-stream") -> dict[str, Any]:
        """Store a file as one of the API's tools would create it: downloadable."""
        _check_filename(filename)
        return self._create(filename, mime_type, content, downloadable=True)

    def retrieve(self, file_id: str) -> dict[str, Any]:
        """``GET /v1/files/{id}``."""
        metadata = self._metadata.get(file_id)
        if metadata is None:
            raise _not_found(file_id)
        return dict(metadata)

    def content(self, file_id: str) -> bytes:
        """``GET /v1/files/{id}/content``; 400 for a file that is not downloadable."""
        metadata = self.retrieve(file_id)
        if not metadata.get("downloadable"):
            raise _invalid(f"File {file_id} is not downloadable: only files created by "
                           "tools can be downloaded")
        return self._content[file_id]

    def delete(self, file_id: str) -> dict[str, Any]:
        """``DELETE /v1/files/{id}``."""
        self.retrieve(file_id)
        del self._metadata[file_id], self._content[file_id]
        if self.directory is not None:
            for suffix in (".json", ".bin"):
                (self.directory / f"{file_id}{suffix}").unlink(missing_ok=True)
        return {"id": file_id, "type": "file_deleted"}

    def list_page(self, query: Mapping[str, str]) -> dict[str, Any]:
        """``GET /v1/files``: newest first, ``limit`` (1-1000, default 20), ``after_id`` /
        ``before_id`` cursors."""
        try:
            limit = int(query.get("limit", "20"))
        except ValueError:
            raise _invalid("limit: Input should be a valid integer") from None
        if not 1 <= limit <= 1000:
            raise _invalid("limit: Input should be between 1 and 1000")
        ordered = list(reversed(self._metadata))
        after, before = query.get("after_id"), query.get("before_id")
        if after is not None:
            start = ordered.index(after) + 1 if after in ordered else len(ordered)
            window = ordered[start:]
            chosen = window[:limit]
            has_more = len(window) > limit
        elif before is not None:
            end = ordered.index(before) if before in ordered else 0
            window = ordered[:end]
            chosen = window[-limit:]
            has_more = len(window) > limit
        else:
            chosen = ordered[:limit]
            has_more = len(ordered) > limit
        return {
            "data": [dict(self._metadata[file_id]) for file_id in chosen],
            "has_more": has_more,
            "first_id": chosen[0] if chosen else None,
            "last_id": chosen[-1] if chosen else None,
        }

    def resolve_sources(self, body: Mapping[str, Any]) -> list[SourceDocument]:
        """Check every file source in a Messages request and return its documents in order.

        Raises:
            RequestRejected: 404 for an unknown file id; 400 for a file whose type does not
                fit its block (an image file in a document block, say), or for citations
                enabled on some documents but not all (the API wants all or none).
        """
        documents: list[SourceDocument] = []
        for where, block in _blocks(body.get("messages")):
            kind = block.get("type")
            source = block.get("source")
            source = source if isinstance(source, dict) else {}
            text: str | None = None
            file_id: str | None = None
            if source.get("type") == "file":
                file_id = source.get("file_id")
                if not isinstance(file_id, str) or not file_id:
                    raise _invalid(f"{where}.source.file_id: Field required")
                metadata = self._metadata.get(file_id)
                if metadata is None:
                    raise _not_found(file_id)
                mime_type = str(metadata["mime_type"])
                if kind == "document" and mime_type not in _DOCUMENT_TYPES:
                    raise _invalid(f"{where}: file {file_id} is {mime_type}; a document block "
                                   "takes application/pdf or text/plain")
                if kind == "image" and not mime_type.startswith("image/"):
                    raise _invalid(f"{where}: file {file_id} is {mime_type}; an image block "
                                   "takes an image")
                if mime_type == "text/plain":
                    text = self._content[file_id].decode("utf-8", "replace")
            elif source.get("type") == "text" and isinstance(source.get("data"), str):
                text = source["data"]
            elif (source.get("type") == "base64" and source.get("media_type") == "text/plain"
                  and isinstance(source.get("data"), str)):
                try:
                    text = base64.b64decode(source["data"], validate=True).decode("utf-8")
                except (binascii.Error, ValueError):
                    raise _invalid(f"{where}.source.data: invalid base64 text") from None
            if kind != "document":
                continue
            settings = block.get("citations")
            title = block.get("title")
            documents.append(SourceDocument(
                index=len(documents),
                title=title if isinstance(title, str) else None,
                text=text,
                citations=isinstance(settings, dict) and settings.get("enabled") is True,
                file_id=file_id,
            ))
        if len({document.citations for document in documents}) > 1:
            raise _invalid("citations must be enabled on all of the documents of a request or "
                           "on none of them")
        return documents

    def inline_sources(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """``body`` with each file source replaced by the file's content inline, as the API
        reads it: a file costs its content's tokens, not those of its id. ``body`` itself
        when it refers to no file. Call after :meth:`resolve_sources` has checked the ids."""
        messages = body.get("messages")
        if not any(True for _ in _file_blocks(messages)):
            return body
        rewritten = []
        for message in messages if isinstance(messages, list) else []:
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(content, list):
                rewritten.append(message)
                continue
            blocks = []
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result" and \
                        isinstance(block.get("content"), list):
                    block = {**block, "content": [
                        _inline(part, self) if isinstance(part, dict) else part
                        for part in block["content"]]}
                elif isinstance(block, dict):
                    block = _inline(block, self)
                blocks.append(block)
            rewritten.append({**message, "content": blocks})
        return {**body, "messages": rewritten}


def _file_blocks(messages: Any) -> Iterator[dict[str, Any]]:
    for _, block in _blocks(messages):
        source = block.get("source")
        if isinstance(source, dict) and source.get("type") == "file":
            yield block


def _inline(block: dict[str, Any], files: FileStore) -> dict[str, Any]:
    source = block.get("source")
    if not isinstance(source, dict) or source.get("type") != "file":
        return block
    file_id = str(source.get("file_id"))
    mime_type = str(files.retrieve(file_id)["mime_type"])
    content = files._content[file_id]
    inline: dict[str, Any]
    if mime_type == "text/plain":
        inline = {"type": "text", "media_type": mime_type,
                  "data": content.decode("utf-8", "replace")}
    else:
        inline = {"type": "base64", "media_type": mime_type,
                  "data": base64.b64encode(content).decode("ascii")}
    return {**block, "source": inline}


def _blocks(messages: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every document and image block of the messages, tool results included, in order."""
    for index, message in enumerate(messages if isinstance(messages, list) else []):
        content = message.get("content") if isinstance(message, dict) else None
        for position, block in enumerate(content if isinstance(content, list) else []):
            if not isinstance(block, dict):
                continue
            where = f"messages.{index}.content.{position}"
            if block.get("type") in ("document", "image"):
                yield where, block
            elif block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                for inner, part in enumerate(block["content"]):
                    if isinstance(part, dict) and part.get("type") in ("document", "image"):
                        yield f"{where}.content.{inner}", part
