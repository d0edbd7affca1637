"""The Files API: upload a document or image once, then refer to it by id in many requests.

``client.files`` on a :class:`~agentcore.client.Client` (or an
:class:`~agentcore.client.AsyncClient`, with ``await``)::

    manual = client.files.upload("policy.pdf")           # a path, bytes or a binary file
    block = document(file_id=manual.id, citations=True)  # agentcore.inputs
    for file in client.files.iterate():                  # every page, lazily
        print(file.filename, file.size_bytes)
    client.files.delete(manual.id)

Requests carry the ``anthropic-beta: files-api-2025-04-14`` header and go through the
client's own request path (retries with backoff, typed errors). A file is checked before it
is sent: a path that does not exist or is a directory raises
:class:`~agentcore.errors.AttachmentError`, and a file over the API's 500 MB limit
:class:`~agentcore.errors.AttachmentTooLargeError`, before any byte goes out.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import httpx
from pydantic import Field, ValidationError

from agentcore.client._flow import Flow, Send, response_or_error, with_retries
from agentcore.client._http import FILES_BETA, connection_error, request_id_of
from agentcore.errors import (
    APIError,
    AttachmentError,
    AttachmentTooLargeError,
    ConfigurationError,
    MalformedResponseError,
    UnsupportedMediaTypeError,
)
from agentcore.inputs import (
    IMAGE_MEDIA_TYPES,
    MAX_FILE_BYTES,
    detect_media_type,
    read_attachment,
)
from agentcore.types import WireModel

if TYPE_CHECKING:
    from agentcore.client._client import AsyncClient, Client
    from agentcore.client._flow import Calls

__all__ = [
    "FILES_BETA",
    "AsyncFiles",
    "FileMetadata",
    "FilePage",
    "FileUpload",
    "Files",
    "multipart_body",
]

_PATH = "/v1/files"
_MAX_FILENAME_CHARS = 255
_FORBIDDEN_FILENAME = re.compile(r'[<>:"|?*\\/\x00-\x1f]')
_READ_CHUNK_BYTES = 1024 * 1024
_MIME_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*")
_SNIFFED_TYPES = frozenset({"application/pdf", *IMAGE_MEDIA_TYPES})

FileUpload = str | os.PathLike[str] | bytes | IO[bytes]
"""What :meth:`Files.upload` takes: a path, the bytes, or a file object opened ``"rb"``."""


class FileMetadata(WireModel):
    """An uploaded file, as ``GET /v1/files/{id}`` describes it."""

    id: str
    """``file_…``; what a ``{"type": "file", "file_id": …}`` source refers to."""
    type: Literal["file"] = "file"
    filename: str
    mime_type: str
    size_bytes: int = Field(strict=True, ge=0)
    created_at: str
    """RFC 3339 time of the upload."""
    downloadable: bool = False
    """Whether ``content`` may be downloaded (the API allows it only for files its tools
    created, not for uploads)."""
    expires_at: str | None = None


@dataclass(frozen=True, slots=True)
class FilePage:
    """One page of ``GET /v1/files``, newest first."""

    data: list[FileMetadata]
    has_more: bool
    first_id: str | None
    last_id: str | None
    """Pass as ``after_id`` for the next page."""


def _check_filename(filename: str) -> str:
    if not filename or len(filename) > _MAX_FILENAME_CHARS:
        raise AttachmentError(
            f"file name {filename[:40]!r} must be 1 to {_MAX_FILENAME_CHARS} characters"
        )
    bad = _FORBIDDEN_FILENAME.search(filename)
    if bad:
        raise AttachmentError(
            f"file name {filename!r} contains {bad.group()!r}; the API refuses < > : \" | ? * "
            "\\ / and control characters"
        )
    return filename


def multipart_body(
    field: str, filename: str, content: bytes, mime_type: str, boundary: str | None = None
) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body with one file part; returns the body and its
    ``content-type`` header (with the boundary)."""
    boundary = boundary or "agentcore-" + secrets.token_hex(16)
    # The name is sent as UTF-8, as browsers do; it was checked to hold no quote, backslash
    # or control character, any of which could end the header or the parameter early.
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: {mime_type}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode("ascii")
    return head + content + tail, f"multipart/form-data; boundary={boundary}"


def _check_mime_type(mime_type: str, content: bytes, name: str) -> None:
    """Refuse a ``mime_type`` that is not a media type, or that names a PDF or one of the
    API's image types when the content's first bytes say otherwise (a block referring to
    the file would then be refused). A generic type such as
    ``application/octet-stream`` is taken as given."""
    if not _MIME_TYPE.fullmatch(mime_type):
        raise AttachmentError(f"mime_type {mime_type!r} is not a media type such as text/plain")
    if mime_type in _SNIFFED_TYPES:
        actual = detect_media_type(content)
        if actual != mime_type:
            raise UnsupportedMediaTypeError(
                f"{name!r} was given as {mime_type} but its content is {actual}",
                media_type=mime_type,
            )


def _read_upload(file: FileUpload, filename: str | None) -> tuple[bytes, str]:
    """The bytes to upload and the name to give them; raises AttachmentError."""
    if isinstance(file, bytes | bytearray | memoryview):
        if filename is None:
            raise AttachmentError("uploading bytes needs a filename= (the API stores one)")
        content = bytes(file)
        if len(content) > MAX_FILE_BYTES:
            _too_large(len(content), "the upload")
        return content, filename
    if isinstance(file, str | os.PathLike):
        content = read_attachment(file, limit_bytes=MAX_FILE_BYTES, limit="file upload")
        return content, filename or Path(os.fspath(file)).name
    read = getattr(file, "read", None)
    if not callable(read):
        raise AttachmentError(
            f"cannot upload a {type(file).__name__}: give a path, bytes or a file opened 'rb'"
        )
    content = _read_all(read)
    name = getattr(file, "name", None)
    if filename is None and isinstance(name, str):
        filename = Path(name).name
    if filename is None:
        raise AttachmentError("this file object has no name: pass filename=")
    if len(content) > MAX_FILE_BYTES:
        _too_large(len(content), f"{filename!r}")
    return content, filename


def _read_all(read: Any) -> bytes:
    """Everything a file object's ``read`` gives until end of file, stopping one byte past
    the upload limit. A raw stream (a pipe, a socket, ``buffering=0``) may return fewer
    bytes than asked, so it is read until it says end of file."""
    parts: list[bytes] = []
    size = 0
    while size <= MAX_FILE_BYTES:
        part = read(MAX_FILE_BYTES + 1 - size)
        if isinstance(part, str):
            raise AttachmentError("the file object returned text: open it in binary mode ('rb')")
        if part is None:
            raise AttachmentError("the file object returned no bytes and no end of file (a "
                                  "non-blocking stream with nothing ready); give a blocking one")
        if not isinstance(part, bytes | bytearray):
            raise AttachmentError(f"the file object's read() returned a {type(part).__name__}, "
                                  "not bytes")
        if not part:
            break
        parts.append(bytes(part))
        size += len(part)
    return b"".join(parts)


def _too_large(size: int, what: str) -> None:
    raise AttachmentTooLargeError(
        f"{what} is over the Files API's limit of {MAX_FILE_BYTES // (1024 * 1024)} MB "
        f"({MAX_FILE_BYTES} bytes)",
        limit="file upload", size=size, maximum=MAX_FILE_BYTES,
    )


def _malformed(response: httpx.Response, what: str, detail: str) -> MalformedResponseError:
    return MalformedResponseError(
        f"the API answered {response.status_code} with a body that is not {what}: {detail}"[:400],
        request_id=request_id_of(response),
        body=response.content,
    )


def _read_metadata(response: httpx.Response) -> FileMetadata | APIError:
    try:
        return FileMetadata.model_validate_json(response.content)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "body"
        return _malformed(response, "file metadata", f"{where}: {problem['msg']}")
    except RecursionError:
        return _malformed(response, "file metadata", "it is nested too deeply")


def _read_page(response: httpx.Response) -> FilePage | APIError:
    try:
        page = response.json()
    except (ValueError, RecursionError):
        return _malformed(response, "a page of files", "it is not JSON")
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        return _malformed(response, "a page of files", "it has no data list")
    files = []
    for position, item in enumerate(page["data"]):
        try:
            files.append(FileMetadata.model_validate(item))
        except ValidationError as exc:
            problem = exc.errors()[0]
            where = ".".join(str(part) for part in ("data", position, *problem["loc"]))
            return _malformed(response, "a page of files", f"{where}: {problem['msg']}")
    first_id, last_id = page.get("first_id"), page.get("last_id")
    for name, value in (("first_id", first_id), ("last_id", last_id)):
        if value is not None and not isinstance(value, str):
            return _malformed(response, "a page of files", f"{name} is {value!r}, not a string")
    return FilePage(files, page.get("has_more") is True, first_id or None, last_id or None)


def _read_deleted(response: httpx.Response) -> str | APIError:
    try:
        deleted = response.json()["id"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        return _malformed(response, "a deletion", repr(exc))
    if not isinstance(deleted, str):
        return _malformed(response, "a deletion", f"id is {deleted!r}")
    return deleted


def _file_path(file_id: str, suffix: str = "") -> str:
    if not isinstance(file_id, str) or not file_id or file_id in (".", ".."):
        # "." and ".." would be read as a path step, sending the call to another endpoint.
        raise ConfigurationError(f"file id must be a non-empty string, not {file_id!r}")
    return f"{_PATH}/{quote(file_id, safe='')}{suffix}"


class _FileFlows:
    """The flow of each Files API call, on the client's request path."""

    __slots__ = ("_calls", "_options")

    def __init__(self, calls: Calls) -> None:
        self._calls = calls
        sent = calls.settings.sends_beta(FILES_BETA)
        self._options: dict[str, Any] = {} if sent else {"betas": [FILES_BETA]}

    def upload(
        self, file: FileUpload, filename: str | None, mime_type: str | None
    ) -> Flow[FileMetadata]:
        content, name = _read_upload(file, filename)
        name = _check_filename(name)
        if mime_type is not None:
            _check_mime_type(mime_type, content, name)
        media_type = mime_type or detect_media_type(content, name)
        body, content_type = multipart_body("file", name, content, media_type)
        options = {**self._options, "extra_headers": {"content-type": content_type}}
        return self._calls._simple("POST", _PATH, _read_metadata, body, options)

    def retrieve(self, file_id: str) -> Flow[FileMetadata]:
        return self._calls._simple("GET", _file_path(file_id), _read_metadata,
                                   options=self._options)

    def list(self, limit: int, after_id: str | None, before_id: str | None) -> Flow[FilePage]:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ConfigurationError(f"limit must be between 1 and 1000, not {limit!r}")
        query = {"limit": str(limit)}
        if after_id is not None:
            query["after_id"] = after_id
        if before_id is not None:
            query["before_id"] = before_id
        return self._calls._simple("GET", _PATH, _read_page, options=self._options, query=query)

    def delete(self, file_id: str) -> Flow[str]:
        return self._calls._simple("DELETE", _file_path(file_id), _read_deleted,
                                   options=self._options)

    def open_content(self, file_id: str) -> Flow[httpx.Response]:
        """GET the file's content, returning the response with its body unread."""
        calls, path, options = self._calls, _file_path(file_id, "/content"), self._options

        def attempt(_: str, number: int) -> Generator[Send, Any, httpx.Response | APIError]:
            request = calls.settings.build_request("GET", path, options=options)
            return response_or_error((yield Send(request, stream=True)))

        return with_retries(("",), attempt, calls.policy, calls.rng, calls.log)


def _next_cursor(page: FilePage, seen: set[str]) -> str | None:
    """The ``after_id`` of the page after ``page``, or None when it was the last.

    Raises:
        MalformedResponseError: the server gave a cursor it had given before, so following
            it would page forever.
    """
    if not page.has_more or page.last_id is None:
        return None
    if page.last_id in seen:
        raise MalformedResponseError(
            f"the file list's next-page cursor {page.last_id!r} came back a second time: "
            "following it would list the same pages forever"
        )
    seen.add(page.last_id)
    return page.last_id


def _temporary_beside(path: str | os.PathLike[str]) -> tuple[Path, int]:
    """A new file in ``path``'s directory to download into, created with the permissions
    ``open(path, "wb")`` would give (the umask applies); its path and descriptor."""
    target = Path(path)
    while True:
        candidate = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
        try:
            return candidate, os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue


def _content_too_large(response: httpx.Response, size: int) -> MalformedResponseError:
    return MalformedResponseError(
        f"the file content is over {MAX_FILE_BYTES} bytes, the Files API's own limit "
        f"({size} bytes read so far)",
        request_id=request_id_of(response),
    )


class Files:
    """``client.files`` of a blocking :class:`~agentcore.client.Client`."""

    __slots__ = ("_client", "_flows")

    def __init__(self, client: Client) -> None:
        self._client = client
        self._flows = _FileFlows(client._calls)

    def upload(
        self, file: FileUpload, *, filename: str | None = None, mime_type: str | None = None
    ) -> FileMetadata:
        """Upload a file (a path, bytes or a binary file object) and return its metadata.

        Args:
            file: What to upload.
            filename: The name to store; defaults to the path's or file object's name
                (required for bytes).
            mime_type: Defaults to the type read from the content (PDF, images), then the
                name, then ``text/plain`` for UTF-8 text.

        Raises:
            AttachmentError: the path is missing or a directory, the name is one the API
                refuses, or the file object is in text mode.
            AttachmentTooLargeError: over :data:`~agentcore.inputs.MAX_FILE_BYTES`.
            UnsupportedMediaTypeError: ``mime_type`` names a PDF or an image type and the
                content is something else.
            APIStatusError: the API refused the upload (after retries where they help).
        """
        return self._client._run(self._flows.upload(file, filename, mime_type))

    def retrieve(self, file_id: str) -> FileMetadata:
        """The metadata of one file (``NotFoundError`` if there is no such file)."""
        return self._client._run(self._flows.retrieve(file_id))

    def list(
        self, *, limit: int = 20, after_id: str | None = None, before_id: str | None = None
    ) -> FilePage:
        """One page of files, newest first; continue with ``after_id=page.last_id``."""
        return self._client._run(self._flows.list(limit, after_id, before_id))

    def iterate(self, *, page_size: int = 100) -> Iterator[FileMetadata]:
        """Every file, newest first, fetching pages as the iteration reaches them."""
        after: str | None = None
        cursors: set[str] = set()
        while True:
            page = self.list(limit=page_size, after_id=after)
            yield from page.data
            after = _next_cursor(page, cursors)
            if after is None:
                return

    def download(self, file_id: str) -> bytes:
        """The content of a downloadable file (one a server tool created).

        Raises:
            InvalidRequestError: the file is not downloadable (an upload), as the API says.
            NotFoundError: there is no such file.
        """
        return b"".join(self._chunks(file_id))

    def download_to(self, file_id: str, path: str | os.PathLike[str]) -> int:
        """Write a downloadable file's content to ``path``; returns the number of bytes
        written.

        The content goes chunk by chunk into a new file beside ``path``, which replaces
        ``path`` (a symbolic link itself, not its target) only once the whole content has
        arrived: a refused or cut download leaves whatever was at ``path`` as it was.
        """
        partial, descriptor = _temporary_beside(path)
        try:
            written = 0
            with open(descriptor, "wb") as handle:
                for chunk in self._chunks(file_id):
                    handle.write(chunk)
                    written += len(chunk)
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return written

    def _chunks(self, file_id: str) -> Iterator[bytes]:
        response = self._client._run(self._flows.open_content(file_id))
        size = 0
        try:
            for chunk in response.iter_bytes(_READ_CHUNK_BYTES):
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise _content_too_large(response, size)
                yield chunk
        except httpx.RequestError as exc:
            raise connection_error(exc, request_id=request_id_of(response)) from exc
        finally:
            response.close()

    def delete(self, file_id: str) -> str:
        """Delete a file; returns its id. Messages that referred to it can no longer be
        sent again."""
        return self._client._run(self._flows.delete(file_id))


class AsyncFiles:
    """``client.files`` of an :class:`~agentcore.client.AsyncClient`."""

    __slots__ = ("_client", "_flows")

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._flows = _FileFlows(client._calls)

    async def upload(
        self, file: FileUpload, *, filename: str | None = None, mime_type: str | None = None
    ) -> FileMetadata:
        """Upload a file (see :meth:`Files.upload`). A path or file object is read in the
        calling thread."""
        return await self._client._run(self._flows.upload(file, filename, mime_type))

    async def retrieve(self, file_id: str) -> FileMetadata:
        """The metadata of one file."""
        return await self._client._run(self._flows.retrieve(file_id))

    async def list(
        self, *, limit: int = 20, after_id: str | None = None, before_id: str | None = None
    ) -> FilePage:
        """One page of files, newest first."""
        return await self._client._run(self._flows.list(limit, after_id, before_id))

    async def iterate(self, *, page_size: int = 100) -> AsyncIterator[FileMetadata]:
        """Every file, newest first, page by page (``async for``)."""
        after: str | None = None
        cursors: set[str] = set()
        while True:
            page = await self.list(limit=page_size, after_id=after)
            for file in page.data:
                yield file
            after = _next_cursor(page, cursors)
            if after is None:
                return

    async def download(self, file_id: str) -> bytes:
        """The content of a downloadable file (see :meth:`Files.download`)."""
        return b"".join([chunk async for chunk in self._chunks(file_id)])

    async def download_to(self, file_id: str, path: str | os.PathLike[str]) -> int:
        """Write a downloadable file's content to ``path`` (the writes are blocking); returns
        the number of bytes written. As with :meth:`Files.download_to`, ``path`` is replaced
        only once the whole content has arrived."""
        partial, descriptor = _temporary_beside(path)
        try:
            written = 0
            with open(descriptor, "wb") as handle:
                async for chunk in self._chunks(file_id):
                    handle.write(chunk)
                    written += len(chunk)
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return written

    async def _chunks(self, file_id: str) -> AsyncIterator[bytes]:
        response = await self._client._run(self._flows.open_content(file_id))
        size = 0
        try:
            async for chunk in response.aiter_bytes(_READ_CHUNK_BYTES):
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise _content_too_large(response, size)
                yield chunk
        except httpx.RequestError as exc:
            raise connection_error(exc, request_id=request_id_of(response)) from exc
        finally:
            await response.aclose()

    async def delete(self, file_id: str) -> str:
        """Delete a file; returns its id."""
        return await self._client._run(self._flows.delete(file_id))
