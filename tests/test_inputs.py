"""Document and image blocks: what document() and image() build, what they refuse, what the
emulator takes."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentcore import AsyncClient, Client, document, image
from agentcore.emulator import Emulator
from agentcore.errors import (
    AttachmentError,
    AttachmentTooLargeError,
    InvalidRequestError,
    NotFoundError,
    UnsupportedMediaTypeError,
)
from agentcore.inputs import (
    MAX_IMAGE_BYTES,
    MAX_IMAGE_SIDE_PIXELS,
    MAX_REQUEST_BYTES,
    detect_media_type,
    image_dimensions,
)
from agentcore.types import to_wire

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(32)
GIF = b"GIF89a" + bytes(32)


class TestDocument:
    def test_text_with_title_context_citations_and_a_cache_breakpoint(self) -> None:
        block = document(text="Refunds within 30 days.", title="Policy", context="2026 edition",
                         citations=True, cache_control=True)
        assert to_wire(block) == {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain",
                       "data": "Refunds within 30 days."},
            "title": "Policy",
            "context": "2026 edition",
            "citations": {"enabled": True},
            "cache_control": {"type": "ephemeral"},
        }

    def test_a_pdf_path_is_sent_base64_and_a_text_path_as_text(self, tmp_path: Path) -> None:
        (tmp_path / "terms.pdf").write_bytes(PDF)
        (tmp_path / "terms.md").write_text("# Terms\nBe nice.", encoding="utf-8")

        assert to_wire(document(path=tmp_path / "terms.pdf")) == {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf",
                       "data": base64.b64encode(PDF).decode()},
        }
        assert to_wire(document(path=tmp_path / "terms.md"))["source"] == {
            "type": "text", "media_type": "text/plain", "data": "# Terms\nBe nice."}

    def test_url_and_file_id_sources(self) -> None:
        assert to_wire(document(url="https://example.com/a.pdf"))["source"] == {
            "type": "url", "url": "https://example.com/a.pdf"}
        assert to_wire(document(file_id="file_011x", citations=True)) == {
            "type": "document", "source": {"type": "file", "file_id": "file_011x"},
            "citations": {"enabled": True}}

    def test_the_content_decides_the_type_not_the_name(self, tmp_path: Path) -> None:
        disguised = tmp_path / "report.pdf"
        disguised.write_bytes(PNG)
        with pytest.raises(UnsupportedMediaTypeError, match="image/png") as raised:
            document(path=disguised)
        assert raised.value.media_type == "image/png"

    def test_a_given_media_type_must_match_the_content(self) -> None:
        with pytest.raises(UnsupportedMediaTypeError, match="given as application/pdf"):
            document(data=b"just text", media_type="application/pdf")

    def test_binary_that_is_neither_pdf_nor_text(self) -> None:
        with pytest.raises(UnsupportedMediaTypeError, match="application/octet-stream"):
            document(data=b"\x00\xff\xfe\x81 binary")

    def test_a_text_file_that_is_not_utf8_is_refused_as_such(self, tmp_path: Path) -> None:
        latin1 = tmp_path / "menu.txt"
        latin1.write_bytes("Café crème".encode("latin-1"))
        with pytest.raises(UnsupportedMediaTypeError, match="not UTF-8") as raised:
            document(path=latin1)
        assert raised.value.media_type == "text/plain"
        with pytest.raises(UnsupportedMediaTypeError, match="not UTF-8"):
            document(data="Café".encode("latin-1"), media_type="text/plain")

    def test_text_that_cannot_be_encoded_is_refused(self) -> None:
        # A lone surrogate, as os.fsdecode or a lax JSON decoder can produce.
        with pytest.raises(AttachmentError, match="UTF-8"):
            document(text="half a pair: \ud800")

    @pytest.mark.parametrize("given", [
        {}, {"text": "a", "url": "https://e.com/a.pdf"}, {"url": "file:///etc/passwd"},
        {"url": "javascript:alert(1)"}, {"file_id": ""}, {"file_id": "file 1"},
        {"text": b"bytes"}, {"data": "text"},
        {"text": "a", "cache_control": {"type": "ephemeral", "ttl": "2h"}},
    ])
    def test_sources_that_make_no_sense(self, given: dict[str, Any]) -> None:
        with pytest.raises(AttachmentError):
            document(**given)

    def test_a_pdf_that_cannot_fit_in_a_request_base64_encoded(self) -> None:
        # 3/4 of the limit plus a little: under 32 MB raw, over it once base64-encoded.
        size = MAX_REQUEST_BYTES * 3 // 4 + 3
        with pytest.raises(AttachmentTooLargeError, match="base64") as raised:
            document(data=b"%PDF-" + bytes(size))
        assert raised.value.limit == "request"
        assert (raised.value.maximum, raised.value.unit) == (MAX_REQUEST_BYTES, "bytes")


def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
            + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))


def jpeg_header(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + bytes(9)
    return b"\xff\xd8" + app0 + b"\xff" + sof0  # a fill byte before the frame marker


def gif_header(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + bytes(3)


def webp_vp8x_header(width: int, height: int) -> bytes:
    chunk = b"VP8X" + struct.pack("<I", 10) + bytes(4)
    chunk += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def webp_vp8l_header(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    chunk = b"VP8L" + struct.pack("<I", 5) + b"\x2f" + struct.pack("<I", bits)
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def webp_vp8_header(width: int, height: int) -> bytes:
    chunk = (b"VP8 " + struct.pack("<I", 10) + bytes(3) + b"\x9d\x01\x2a"
             + struct.pack("<HH", width, height))
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


class TestImage:
    @pytest.mark.parametrize(("content", "media_type"), [
        (PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"), (GIF, "image/gif")])
    def test_each_api_image_type_is_recognised(self, content: bytes, media_type: str) -> None:
        assert to_wire(image(data=content)) == {
            "type": "image",
            "source": {"type": "base64", "media_type": media_type,
                       "data": base64.b64encode(content).decode()},
        }

    def test_url_file_id_and_cache(self) -> None:
        assert to_wire(image(url="https://e.com/x.png", cache_control={"type": "ephemeral",
                                                                      "ttl": "1h"})) == {
            "type": "image", "source": {"type": "url", "url": "https://e.com/x.png"},
            "cache_control": {"type": "ephemeral", "ttl": "1h"}}
        assert to_wire(image(file_id="file_011y"))["source"] == {"type": "file",
                                                                 "file_id": "file_011y"}

    def test_other_types_are_refused_with_their_first_bytes(self, tmp_path: Path) -> None:
        bmp = tmp_path / "scan.bmp"
        bmp.write_bytes(b"BM" + bytes(40))
        with pytest.raises(UnsupportedMediaTypeError, match="JPEG, PNG, GIF or WebP"):
            image(path=bmp)
        with pytest.raises(UnsupportedMediaTypeError, match="given as image/jpeg"):
            image(data=PNG, media_type="image/jpeg")

    def test_an_image_over_five_megabytes(self, tmp_path: Path) -> None:
        with pytest.raises(AttachmentTooLargeError, match=r"image limit of 5\.0 MB") as raised:
            image(data=PNG + bytes(MAX_IMAGE_BYTES))
        assert raised.value.limit == "image"
        big = tmp_path / "big.png"
        with big.open("wb") as handle:
            handle.write(PNG)
            handle.truncate(MAX_IMAGE_BYTES + 1)
        with pytest.raises(AttachmentTooLargeError):
            image(path=big)

    @pytest.mark.parametrize(("content", "size"), [
        (png_header(8001, 10), (8001, 10)),
        (jpeg_header(10, 9000), (10, 9000)),
        (gif_header(8001, 1), (8001, 1)),
        (webp_vp8x_header(1, 8001), (1, 8001)),
        (webp_vp8l_header(8001, 2), (8001, 2)),
        (webp_vp8_header(8001, 3), (8001, 3)),
    ])
    def test_an_image_over_8000_pixels_a_side(
        self, content: bytes, size: tuple[int, int]
    ) -> None:
        assert image_dimensions(content) == size
        with pytest.raises(AttachmentTooLargeError, match=f"{size[0]}x{size[1]} pixels") as raised:
            image(data=content)
        assert (raised.value.limit, raised.value.size, raised.value.maximum, raised.value.unit) == (
            "image dimensions", max(size), MAX_IMAGE_SIDE_PIXELS, "pixels")

    def test_an_image_of_8000_pixels_a_side_is_accepted(self) -> None:
        for content in (png_header(8000, 8000), jpeg_header(8000, 8000), gif_header(8000, 8000),
                        webp_vp8x_header(8000, 8000)):
            assert image(data=content).source.type == "base64"

    def test_a_header_that_cannot_be_read_is_left_to_the_api(self) -> None:
        assert image_dimensions(jpeg_header(9000, 9000)[:12]) is None
        assert image_dimensions(b"\xff\xd8\xff\x00garbage" * 3) is None
        assert image(data=WEBP).source.type == "base64"

    def test_a_missing_path(self, tmp_path: Path) -> None:
        with pytest.raises(AttachmentError, match="does not exist"):
            image(path=tmp_path / "nope.png")


def test_detect_media_type_reads_content_then_name() -> None:
    assert detect_media_type(PDF, "x.txt") == "application/pdf"
    assert detect_media_type(b"a,b\n", "data.csv") == "text/plain"
    assert detect_media_type(b"{}", "data.json") == "application/json"
    assert detect_media_type("héllo".encode()) == "text/plain"
    assert detect_media_type(b"\xff\xfe\x00") == "application/octet-stream"


class TestRequestLimit:
    def test_a_request_over_32_megabytes_is_refused_before_sending(self) -> None:
        sent: list[httpx.Request] = []
        client = Client(api_key="k", base_url="http://api.test", transport=httpx.MockTransport(
            lambda request: sent.append(request) or httpx.Response(500)))  # type: ignore[func-returns-value]
        huge = "x" * MAX_REQUEST_BYTES
        params: dict[str, Any] = {"model": "claude-haiku-4-5", "max_tokens": 10,
                                  "messages": [{"role": "user", "content": huge}]}

        with pytest.raises(AttachmentTooLargeError, match=r"32\.0 MB") as raised:
            client.messages.create(**params)
        with pytest.raises(AttachmentTooLargeError):
            client.messages.count_tokens(model="claude-haiku-4-5", messages=params["messages"])
        with pytest.raises(AttachmentTooLargeError), client.messages.stream(**params) as stream:
            stream.get_final_message()

        assert raised.value.limit == "request"
        assert sent == []

    async def test_the_async_client_refuses_it_too_counting_base64_growth(self) -> None:
        sent: list[httpx.Request] = []
        # Under 32 MB raw and under the document's own check with room to spare, but the
        # request holds it twice, base64-encoded: over 32 MB as sent.
        pdf = document(data=b"%PDF-1.7\n" + bytes(13 * 1024 * 1024))
        params: dict[str, Any] = {"model": "claude-haiku-4-5", "max_tokens": 10,
                                  "messages": [{"role": "user", "content": [pdf, pdf]}]}
        async with AsyncClient(api_key="k", base_url="http://api.test",
                               transport=httpx.MockTransport(
                                   lambda request: sent.append(request)  # type: ignore[func-returns-value]
                                   or httpx.Response(500))) as client:
            with pytest.raises(AttachmentTooLargeError, match="base64"):
                await client.messages.create(**params)
            with pytest.raises(AttachmentTooLargeError):
                await client.messages.count_tokens(model="claude-haiku-4-5",
                                                   messages=params["messages"])
            with pytest.raises(AttachmentTooLargeError):
                async with client.messages.stream(**params) as stream:
                    await stream.get_final_message()
        assert sent == []


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


@pytest.fixture
def client(emulator: Emulator) -> Iterator[Client]:
    with Client(api_key="k", base_url=emulator.base_url, max_retries=0) as opened:
        yield opened


def ask(client: Client, *content: Any) -> Any:
    return client.messages.create(model="claude-haiku-4-5", max_tokens=500, messages=[
        {"role": "user", "content": [*content, {"type": "text", "text": "What is this?"}]}])


class TestTheEmulatorAcceptsTheBlocks:
    def test_inline_blocks(self, client: Client, emulator: Emulator) -> None:
        reply = ask(client, document(text="A note."), document(data=PDF, title="Terms"),
                    image(data=PNG))
        assert reply.stop_reason == "end_turn"
        sent = emulator.requests[-1]["messages"][0]["content"]
        assert [block["type"] for block in sent] == ["document", "document", "image", "text"]

    def test_uploaded_files_by_id(self, client: Client) -> None:
        text = client.files.upload(b"Shipping takes 3 days.", filename="shipping.txt")
        picture = client.files.upload(PNG, filename="photo.png")

        reply = ask(client, document(file_id=text.id), image(file_id=picture.id))

        assert reply.stop_reason == "end_turn"

    def test_an_unknown_file_id_is_not_found(self, client: Client) -> None:
        with pytest.raises(NotFoundError, match="file_011missing"):
            ask(client, document(file_id="file_011missing"))

    def test_a_file_in_the_wrong_kind_of_block(self, client: Client) -> None:
        picture = client.files.upload(PNG, filename="photo.png")
        text = client.files.upload(b"words", filename="words.txt")
        with pytest.raises(InvalidRequestError, match="a document block takes"):
            ask(client, document(file_id=picture.id))
        with pytest.raises(InvalidRequestError, match="an image block takes"):
            ask(client, image(file_id=text.id))

    def test_token_counting_checks_file_ids_too(self, client: Client) -> None:
        with pytest.raises(NotFoundError):
            client.messages.count_tokens(model="claude-haiku-4-5", messages=[
                {"role": "user", "content": [document(file_id="file_011gone")]}])

    def test_a_file_costs_the_tokens_of_its_content_not_of_its_id(self, client: Client) -> None:
        manual = "Refunds are allowed within 30 days of delivery. " * 200
        uploaded = client.files.upload(manual.encode(), filename="manual.txt")

        def count(block: Any) -> int:
            return client.messages.count_tokens(model="claude-haiku-4-5", messages=[
                {"role": "user", "content": [block, {"type": "text", "text": "Summarise."}]}])

        by_id = count(document(file_id=uploaded.id))
        inline = count(document(text=manual))
        assert by_id == inline > 2000
        reply = ask(client, document(file_id=uploaded.id))
        assert reply.usage.input_tokens >= inline
