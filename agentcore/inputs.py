"""Documents and images as message content, checked against the API's limits before sending.

:func:`document` builds a ``document`` block (a PDF or plain text, from a path, bytes, a
string, a URL or an uploaded file id; with a title, context, citations and a cache
breakpoint), and :func:`image` an ``image`` block (JPEG, PNG, GIF or WebP, from a path,
bytes, a URL or a file id). Both read the content's first bytes to learn its real type, and
refuse what the API would refuse with an :class:`~agentcore.errors.AttachmentError` that
names the limit, instead of a 400 after the upload::

    from agentcore import Agent, document

    manual = document(path="policy.pdf", title="Support policy", citations=True)
    result = agent.run([{"role": "user", "content": [manual, {"type": "text",
                                                              "text": "Can I return a mouse?"}]}])
    for citation in result.citations:
        print(citation.cited_text)

The limits are the API's documented ones (:data:`MAX_REQUEST_BYTES`,
:data:`MAX_IMAGE_BYTES`, :data:`MAX_IMAGE_SIDE_PIXELS`, :data:`MAX_FILE_BYTES`); a block
given by URL or file id is not measured here, as its bytes never pass through the client.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import stat
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agentcore.errors import AttachmentError, AttachmentTooLargeError, UnsupportedMediaTypeError
from agentcore.types import (
    Base64Source,
    CacheControl,
    DocumentBlock,
    FileSource,
    ImageBlock,
    TextSource,
    URLSource,
)

__all__ = [
    "IMAGE_MEDIA_TYPES",
    "MAX_FILE_BYTES",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_SIDE_PIXELS",
    "MAX_REQUEST_BYTES",
    "check_request_size",
    "detect_media_type",
    "document",
    "image",
    "image_dimensions",
    "read_attachment",
]

_MB = 1024 * 1024

MAX_REQUEST_BYTES = 32 * _MB
"""The largest Messages API request (the JSON body, attachments base64-encoded inside)."""
MAX_IMAGE_BYTES = 5 * _MB
"""The largest image the Messages API takes, before base64 encoding."""
MAX_IMAGE_SIDE_PIXELS = 8000
"""The widest and tallest image the Messages API takes, in pixels."""
MAX_FILE_BYTES = 500 * _MB
"""The largest file the Files API takes in one upload."""
IMAGE_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
"""The image types the API reads."""
_DOCUMENT_MEDIA_TYPES = ("application/pdf", "text/plain")
_TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".rst", ".csv", ".log", ".text"})
_SNIFF_BYTES = 16


def _megabytes(size: int) -> str:
    return f"{size / _MB:.1f} MB"


def detect_media_type(content: bytes, filename: str | None = None) -> str:
    """The media type of ``content``: from its first bytes for PDF and the image types, else
    from ``filename``'s extension, else ``text/plain`` for UTF-8 text, else
    ``application/octet-stream``."""
    head = content[:_SNIFF_BYTES]
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if filename:
        suffix = Path(filename).suffix.lower()
        if suffix in _TEXT_SUFFIXES:
            return "text/plain"
        guessed, _ = mimetypes.guess_type(filename, strict=False)
        if guessed and not guessed.startswith(("image/", "application/pdf")):
            return guessed
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"


_JPEG_FRAME_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_dimensions(content: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 9 <= len(content):
        if content[position] != 0xFF:
            return None
        marker = content[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _JPEG_FRAME_MARKERS:
            height = int.from_bytes(content[position + 5:position + 7], "big")
            width = int.from_bytes(content[position + 7:position + 9], "big")
            return width, height
        if 0xD0 <= marker <= 0xD9 or marker == 0x01:  # markers without a length
            position += 2
            continue
        position += 2 + int.from_bytes(content[position + 2:position + 4], "big")
    return None


def _webp_dimensions(content: bytes) -> tuple[int, int] | None:
    chunk = content[12:16]
    if chunk == b"VP8 " and len(content) >= 30:
        width = int.from_bytes(content[26:28], "little") & 0x3FFF
        height = int.from_bytes(content[28:30], "little") & 0x3FFF
        return width, height
    if chunk == b"VP8L" and len(content) >= 25:
        bits = int.from_bytes(content[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8X" and len(content) >= 30:
        width = 1 + int.from_bytes(content[24:27], "little")
        height = 1 + int.from_bytes(content[27:30], "little")
        return width, height
    return None


def image_dimensions(content: bytes) -> tuple[int, int] | None:
    """``(width, height)`` in pixels read from a JPEG, PNG, GIF or WebP header; None when
    the header cannot be read (the API then judges the image itself)."""
    media_type = detect_media_type(content[:_SNIFF_BYTES])
    if media_type == "image/png" and content[12:16] == b"IHDR" and len(content) >= 24:
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    if media_type == "image/gif" and len(content) >= 10:
        return int.from_bytes(content[6:8], "little"), int.from_bytes(content[8:10], "little")
    if media_type == "image/jpeg":
        return _jpeg_dimensions(content)
    if media_type == "image/webp":
        return _webp_dimensions(content)
    return None


def read_attachment(path: str | os.PathLike[str], *, limit_bytes: int, limit: str) -> bytes:
    """The bytes of the regular file at ``path``, refused before reading when it is larger
    than ``limit_bytes``.

    Raises:
        AttachmentError: the path does not exist, is a directory or another non-file, or
            cannot be read.
        AttachmentTooLargeError: the file is over the limit (``limit`` names it).
    """
    where = os.fspath(path)
    try:
        status = os.stat(where)
    except FileNotFoundError:
        raise AttachmentError(f"{where!r} does not exist") from None
    except OSError as exc:
        raise AttachmentError(f"{where!r} cannot be read: {exc.strerror}") from None
    if stat.S_ISDIR(status.st_mode):
        raise AttachmentError(f"{where!r} is a directory, not a file")
    if not stat.S_ISREG(status.st_mode):
        raise AttachmentError(f"{where!r} is not a regular file")
    _check_size(status.st_size, limit_bytes, limit, what=f"{where!r}")
    try:
        with open(where, "rb") as handle:
            # Read one byte past the limit: a file that grew since stat() is still caught.
            content = handle.read(limit_bytes + 1)
    except OSError as exc:
        raise AttachmentError(f"{where!r} cannot be read: {exc.strerror}") from None
    _check_size(len(content), limit_bytes, limit, what=f"{where!r}")
    return content


def _check_size(size: int, limit_bytes: int, limit: str, *, what: str) -> None:
    if size > limit_bytes:
        raise AttachmentTooLargeError(
            f"{what} is {_megabytes(size)} ({size} bytes), over the API's {limit} limit of "
            f"{_megabytes(limit_bytes)} ({limit_bytes} bytes)",
            limit=limit, size=size, maximum=limit_bytes,
        )


def check_request_size(content: bytes) -> None:
    """Refuse a Messages API request body over :data:`MAX_REQUEST_BYTES` before it is sent.

    Raises:
        AttachmentTooLargeError: with ``limit="request"``.
    """
    if len(content) > MAX_REQUEST_BYTES:
        _check_size(len(content), MAX_REQUEST_BYTES, "request",
                    what="the request (attachments count base64-encoded)")


def _base64_size(size: int) -> int:
    return 4 * ((size + 2) // 3)


def _one_source(**given: Any) -> tuple[str, Any]:
    chosen = [(name, value) for name, value in given.items() if value is not None]
    if len(chosen) != 1:
        names = ", ".join(f"{name}=" for name in given)
        raise AttachmentError(f"give exactly one of {names} (got {len(chosen)})")
    return chosen[0]


def _cache(cache_control: CacheControl | dict[str, Any] | bool | None) -> CacheControl | None:
    if cache_control is None or cache_control is False:
        return None
    if cache_control is True:
        return CacheControl()
    if isinstance(cache_control, CacheControl):
        return cache_control
    try:
        return CacheControl.model_validate(cache_control)
    except ValidationError:
        raise AttachmentError(
            f"cache_control must be True or {{'type': 'ephemeral', 'ttl': '5m' or '1h'}}, not "
            f"{cache_control!r}"
        ) from None


def _check_url(url: str) -> str:
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise AttachmentError(f"url must be an http(s) URL, not {url!r}")
    return url


def _check_file_id(file_id: str) -> str:
    if not isinstance(file_id, str) or not file_id.strip() or any(c.isspace() for c in file_id):
        raise AttachmentError(f"file_id must be the id of an uploaded file, not {file_id!r}")
    return file_id


def document(
    *,
    path: str | os.PathLike[str] | None = None,
    data: bytes | None = None,
    text: str | None = None,
    url: str | None = None,
    file_id: str | None = None,
    media_type: str | None = None,
    title: str | None = None,
    context: str | None = None,
    citations: bool = False,
    cache_control: CacheControl | dict[str, Any] | bool | None = None,
) -> DocumentBlock:
    """A ``document`` content block: a PDF or plain text, given one way.

    Args:
        path: A PDF or text file to read (its type is read from its first bytes, then its
            name).
        data: The document's bytes (a PDF, or UTF-8 text).
        text: Plain text.
        url: A PDF the API fetches itself.
        file_id: A file uploaded with ``client.files.upload`` (PDF or text).
        media_type: ``application/pdf`` or ``text/plain``, when ``path``/``data`` should be
            checked against it.
        title: Shown to the model and returned in citations.
        context: Background for the model about the document (not citable).
        citations: Let the model cite the document (``{"citations": {"enabled": true}}``).
        cache_control: A prompt-cache breakpoint after the document (``True`` for the
            default five minutes).

    Raises:
        AttachmentError: none or several sources were given, a path cannot be read, or a URL
            or file id is malformed.
        UnsupportedMediaTypeError: the content is neither a PDF nor UTF-8 text, or not the
            ``media_type`` given.
        AttachmentTooLargeError: the document could not fit in a request
            (:data:`MAX_REQUEST_BYTES`, base64-encoded for a PDF).
    """
    kind, value = _one_source(path=path, data=data, text=text, url=url, file_id=file_id)
    source: Base64Source | TextSource | URLSource | FileSource
    if kind == "url":
        source = URLSource(url=_check_url(value))
    elif kind == "file_id":
        source = FileSource(file_id=_check_file_id(value))
    elif kind == "text":
        if not isinstance(value, str):
            raise AttachmentError("text= must be a str (give bytes as data=)")
        try:
            encoded = value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise AttachmentError(
                f"text= cannot be sent as UTF-8: character {exc.start} is "
                f"{value[exc.start]!r}, half of a surrogate pair"
            ) from None
        _check_size(len(encoded), MAX_REQUEST_BYTES, "request", what="the text")
        source = TextSource(data=value, media_type="text/plain")
    else:
        if kind == "path":
            content = read_attachment(value, limit_bytes=MAX_REQUEST_BYTES, limit="request")
            name: str | None = os.fspath(value)
        else:
            if not isinstance(value, bytes | bytearray | memoryview):
                raise AttachmentError("data= must be bytes (give a string as text=)")
            content, name = bytes(value), None
        source = _document_source(content, name, media_type)
    block = DocumentBlock(source=source)
    if title is not None:
        block.title = title
    if context is not None:
        block.context = context
    if citations:
        block.citations = {"enabled": True}
    cache = _cache(cache_control)
    if cache is not None:
        block.cache_control = cache
    return block


def _document_source(
    content: bytes, name: str | None, media_type: str | None
) -> Base64Source | TextSource:
    detected = detect_media_type(content, name)
    what = repr(name) if name else "the document"
    if "text/plain" in (detected, media_type) and detected != "application/pdf":
        # A name ending in .txt, or a media type given as text, does not make bytes UTF-8.
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnsupportedMediaTypeError(
                f"{what} is meant as plain text but is not UTF-8 (byte {exc.start} is "
                f"{content[exc.start:exc.start + 1]!r}); re-encode it as UTF-8 first",
                media_type="text/plain",
            ) from None
        detected = "text/plain"
    if detected not in _DOCUMENT_MEDIA_TYPES:
        raise UnsupportedMediaTypeError(
            f"{what} is {detected}; a document must be a PDF or UTF-8 plain text "
            "(convert other formats to text first)",
            media_type=detected,
        )
    if media_type is not None and media_type != detected:
        raise UnsupportedMediaTypeError(
            f"{what} was given as {media_type} but its content is {detected}",
            media_type=media_type,
        )
    if detected == "text/plain":
        _check_size(len(content), MAX_REQUEST_BYTES, "request", what=what)
        return TextSource(data=text, media_type="text/plain")
    _check_size(_base64_size(len(content)), MAX_REQUEST_BYTES, "request",
                what=f"{what} base64-encoded")
    return Base64Source(media_type=detected, data=base64.b64encode(content).decode("ascii"))


def image(
    *,
    path: str | os.PathLike[str] | None = None,
    data: bytes | None = None,
    url: str | None = None,
    file_id: str | None = None,
    media_type: str | None = None,
    cache_control: CacheControl | dict[str, Any] | bool | None = None,
) -> ImageBlock:
    """An ``image`` content block (JPEG, PNG, GIF or WebP), given one way.

    Args:
        path: An image file to read.
        data: The image's bytes.
        url: An image the API fetches itself.
        file_id: An image uploaded with ``client.files.upload``.
        media_type: The type ``path``/``data`` must have; by default it is read from the
            content.
        cache_control: A prompt-cache breakpoint after the image.

    Raises:
        AttachmentError: none or several sources were given, or a path cannot be read.
        UnsupportedMediaTypeError: the content is not one of :data:`IMAGE_MEDIA_TYPES`, or
            not the ``media_type`` given.
        AttachmentTooLargeError: over :data:`MAX_IMAGE_BYTES`, or wider or taller than
            :data:`MAX_IMAGE_SIDE_PIXELS`.
    """
    kind, value = _one_source(path=path, data=data, url=url, file_id=file_id)
    source: Base64Source | URLSource | FileSource
    if kind == "url":
        source = URLSource(url=_check_url(value))
    elif kind == "file_id":
        source = FileSource(file_id=_check_file_id(value))
    else:
        if kind == "path":
            content = read_attachment(value, limit_bytes=MAX_IMAGE_BYTES, limit="image")
            name: str | None = os.fspath(value)
        else:
            if not isinstance(value, bytes | bytearray | memoryview):
                raise AttachmentError("data= must be bytes")
            content, name = bytes(value), None
            _check_size(len(content), MAX_IMAGE_BYTES, "image", what="the image")
        detected = detect_media_type(content[:_SNIFF_BYTES])
        what = repr(name) if name else "the image"
        if detected not in IMAGE_MEDIA_TYPES:
            raise UnsupportedMediaTypeError(
                f"{what} is not a JPEG, PNG, GIF or WebP image (its first bytes are "
                f"{content[:8]!r})",
                media_type=None,
            )
        if media_type is not None and media_type != detected:
            raise UnsupportedMediaTypeError(
                f"{what} was given as {media_type} but its content is {detected}",
                media_type=media_type,
            )
        dimensions = image_dimensions(content)
        if dimensions is not None and max(dimensions) > MAX_IMAGE_SIDE_PIXELS:
            width, height = dimensions
            raise AttachmentTooLargeError(
                f"{what} is {width}x{height} pixels, over the API's limit of "
                f"{MAX_IMAGE_SIDE_PIXELS} pixels a side (scale it down first)",
                limit="image dimensions", size=max(dimensions),
                maximum=MAX_IMAGE_SIDE_PIXELS, unit="pixels",
            )
        source = Base64Source(media_type=detected, data=base64.b64encode(content).decode("ascii"))
    block = ImageBlock(source=source)
    cache = _cache(cache_control)
    if cache is not None:
        block.cache_control = cache
    return block
