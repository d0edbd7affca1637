"""The Files API: the client's ``files`` resource against the emulator, and what it refuses."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentcore import AsyncClient, Client, FileMetadata, document
from agentcore.client import FILES_BETA, multipart_body
from agentcore.client.batches import Batches
from agentcore.emulator import Emulator, FileStore
from agentcore.emulator._app import EmulatorApp
from agentcore.emulator._http import HTTPRequest
from agentcore.errors import (
    APIConnectionError,
    APIStatusError,
    AttachmentError,
    AttachmentTooLargeError,
    ConfigurationError,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    UnsupportedMediaTypeError,
)
from agentcore.inputs import MAX_FILE_BYTES
from agentcore.testing import ScriptedModel, text_reply

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


@pytest.fixture
def client(emulator: Emulator) -> Iterator[Client]:
    with Client(api_key="test-key", base_url=emulator.base_url, max_retries=0) as opened:
        yield opened
    for file in list(emulator.files.list_page({"limit": "1000"})["data"]):
        emulator.files.delete(file["id"])


def recording_client(
    answer: httpx.Response, sent: list[httpx.Request], **options: object
) -> Client:
    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        sent.append(request)
        return answer

    return Client(api_key="test-key", base_url="http://files.test", max_retries=0,
                  transport=httpx.MockTransport(handler), **options)  # type: ignore[arg-type]


METADATA = {"id": "file_011abc", "type": "file", "filename": "a.txt", "mime_type": "text/plain",
            "size_bytes": 5, "created_at": "2026-11-30T12:00:00Z", "downloadable": False}


class TestUploadAndManage:
    def test_uploading_a_path_stores_its_name_type_and_bytes(
        self, client: Client, emulator: Emulator, tmp_path: Path
    ) -> None:
        path = tmp_path / "returns.pdf"
        path.write_bytes(PDF)

        file = client.files.upload(path)

        assert (file.filename, file.mime_type, file.size_bytes) == ("returns.pdf",
                                                                     "application/pdf", len(PDF))
        assert file.id.startswith("file_") and file.downloadable is False
        assert client.files.retrieve(file.id) == file
        assert emulator.files._content[file.id] == PDF

    def test_bytes_and_binary_file_objects_upload_with_a_name(self, client: Client) -> None:
        from_bytes = client.files.upload(b"plain words\n", filename="notes.md")
        from_object = client.files.upload(io.BytesIO(b"GIF89a...."), filename="pic.gif")

        assert (from_bytes.filename, from_bytes.mime_type) == ("notes.md", "text/plain")
        assert (from_object.filename, from_object.mime_type) == ("pic.gif", "image/gif")

    def test_a_named_file_object_gives_its_own_name(self, client: Client, tmp_path: Path) -> None:
        path = tmp_path / "manual.txt"
        path.write_text("Refunds within 30 days.", encoding="utf-8")
        with path.open("rb") as handle:
            file = client.files.upload(handle)
        assert (file.filename, file.mime_type, file.size_bytes) == ("manual.txt", "text/plain", 23)

    def test_list_pages_newest_first_and_iterate_walks_every_page(self, client: Client) -> None:
        uploaded = [client.files.upload(f"file {n}".encode(), filename=f"f{n}.txt")
                    for n in range(5)]
        newest_first = [file.id for file in reversed(uploaded)]

        first = client.files.list(limit=2)
        second = client.files.list(limit=2, after_id=first.last_id)

        assert [file.id for file in first.data] == newest_first[:2] and first.has_more
        assert [file.id for file in second.data] == newest_first[2:4] and second.has_more
        assert [file.id for file in client.files.iterate(page_size=2)] == newest_first
        before = client.files.list(limit=2, before_id=newest_first[2])
        assert [file.id for file in before.data] == newest_first[:2]

    def test_delete_removes_the_file_and_later_lookups_are_not_found(
        self, client: Client
    ) -> None:
        file = client.files.upload(b"gone soon", filename="tmp.txt")

        assert client.files.delete(file.id) == file.id

        with pytest.raises(NotFoundError, match=file.id):
            client.files.retrieve(file.id)
        with pytest.raises(NotFoundError):
            client.files.delete(file.id)

    def test_a_file_a_tool_created_downloads_and_an_upload_does_not(
        self, client: Client, emulator: Emulator, tmp_path: Path
    ) -> None:
        chart = emulator.files.add_generated("chart.png", b"\x89PNG\r\n\x1a\n" + bytes(3000),
                                             "image/png")
        upload = client.files.upload(b"mine", filename="mine.txt")

        assert client.files.retrieve(chart["id"]).downloadable is True
        assert client.files.download(chart["id"]) == b"\x89PNG\r\n\x1a\n" + bytes(3000)
        target = tmp_path / "chart.png"
        assert client.files.download_to(chart["id"], target) == 3008
        assert target.read_bytes()[:4] == b"\x89PNG"
        with pytest.raises(InvalidRequestError, match="not downloadable"):
            client.files.download(upload.id)

    async def test_the_async_client_does_the_same(
        self, emulator: Emulator, tmp_path: Path
    ) -> None:
        async with AsyncClient(api_key="k-async", base_url=emulator.base_url) as client:
            file = await client.files.upload(b"async words", filename="a.txt")
            generated = emulator.files.add_generated("out.csv", b"a,b\n1,2\n", "text/csv")

            assert (await client.files.retrieve(file.id)).filename == "a.txt"
            listed = [item.id async for item in client.files.iterate(page_size=1)]
            assert listed[:2] == [generated["id"], file.id]
            assert await client.files.download(generated["id"]) == b"a,b\n1,2\n"
            target = tmp_path / "out.csv"
            assert await client.files.download_to(generated["id"], target) == 8
            assert target.read_bytes() == b"a,b\n1,2\n"
            assert await client.files.delete(file.id) == file.id
            assert (await client.files.list()).data[0].id == generated["id"]
            await client.files.delete(generated["id"])


class TestWhatIsSent:
    def test_upload_is_multipart_with_the_files_beta_header(self) -> None:
        sent: list[httpx.Request] = []
        client = recording_client(httpx.Response(200, json=METADATA), sent)

        file = client.files.upload(b"hello", filename="a.txt")

        assert file == FileMetadata.model_validate(METADATA)
        (request,) = sent
        assert request.method == "POST" and request.url.path == "/v1/files"
        assert request.headers["anthropic-beta"] == FILES_BETA
        content_type = request.headers["content-type"]
        boundary = content_type.split("boundary=")[1]
        assert content_type == f"multipart/form-data; boundary={boundary}"
        assert request.content == (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
            f"--{boundary}--\r\n"
        ).encode()

    def test_the_beta_is_not_repeated_when_the_client_already_sends_it(self) -> None:
        sent: list[httpx.Request] = []
        client = recording_client(httpx.Response(200, json=METADATA), sent,
                                  betas=["other-beta", FILES_BETA])
        client.files.retrieve("file_011abc")
        assert sent[0].headers["anthropic-beta"] == f"other-beta,{FILES_BETA}"

    def test_a_file_id_is_quoted_into_the_path(self) -> None:
        sent: list[httpx.Request] = []
        client = recording_client(httpx.Response(200, json=METADATA), sent)
        client.files.retrieve("file_../../v1/messages")
        assert sent[0].url.raw_path == b"/v1/files/file_..%2F..%2Fv1%2Fmessages"


class TestMessagesReferringToFiles:
    """A message that refers to an uploaded file carries the files beta, added for you."""

    def betas_sent(self, content: list[object], **options: object) -> list[str | None]:
        model = ScriptedModel([text_reply("ok"), text_reply("ok"), text_reply("ok")])
        client = Client(api_key="k", transport=model, **options)  # type: ignore[arg-type]
        params = {"model": "claude-haiku-4-5", "max_tokens": 10,
                  "messages": [{"role": "user", "content": content}]}
        client.messages.create(**params)  # type: ignore[arg-type]
        with client.messages.stream(**params) as stream:  # type: ignore[arg-type]
            stream.get_final_message()
        client.messages.count_tokens(model="claude-haiku-4-5",
                                     messages=params["messages"])  # type: ignore[arg-type]
        return [request.headers.get("anthropic-beta") for request in model.raw_requests]

    def test_a_file_source_adds_the_beta_to_create_stream_and_count(self) -> None:
        content = [document(file_id="file_011abc"), {"type": "text", "text": "Summarise."}]
        assert self.betas_sent(content) == [FILES_BETA] * 3
        assert self.betas_sent(content, betas=["other"]) == [f"other,{FILES_BETA}"] * 3

    @pytest.mark.parametrize("text", [
        'my "file_id" is file_011abc', "file_id", 'the key is "file_id',
    ])
    def test_text_that_mentions_file_id_adds_nothing(self, text: str) -> None:
        assert self.betas_sent([{"type": "text", "text": text}]) == [None] * 3

    def test_a_tool_whose_arguments_hold_a_file_id_adds_nothing(self) -> None:
        content = [{"type": "tool_result", "tool_use_id": "toolu_1",
                    "content": [{"type": "text", "text": "ok"}]}]
        model = ScriptedModel([text_reply("ok")])
        client = Client(api_key="k", transport=model)
        client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=[
            {"role": "user", "content": "fetch it"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1",
                                               "name": "fetch", "input": {"file_id": "f1"}}]},
            {"role": "user", "content": content},  # type: ignore[typeddict-item]
        ], tools=[{"name": "fetch", "input_schema": {
            "type": "object", "properties": {"file_id": {"type": "string"}}}}])
        assert model.raw_requests[0].headers.get("anthropic-beta") is None

    def test_a_file_in_a_tool_result_or_a_container_upload_adds_the_beta(self) -> None:
        in_result = [{"type": "tool_result", "tool_use_id": "toolu_1",
                      "content": [document(file_id="file_011abc")]}]
        upload = [{"type": "container_upload", "file_id": "file_011abc"},
                  {"type": "text", "text": "Plot it."}]
        assert self.betas_sent(upload) == [FILES_BETA] * 3
        model = ScriptedModel([text_reply("ok")])
        Client(api_key="k", transport=model).messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=[
                {"role": "user", "content": "read it"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1",
                                                   "name": "read", "input": {}}]},
                {"role": "user", "content": in_result},  # type: ignore[typeddict-item]
            ])
        assert model.raw_requests[0].headers.get("anthropic-beta") == FILES_BETA

    def test_a_batch_of_messages_referring_to_a_file_carries_the_beta(self) -> None:
        sent: list[httpx.Request] = []
        client = recording_client(httpx.Response(500), sent)
        params = {"model": "claude-haiku-4-5", "max_tokens": 10, "messages": [
            {"role": "user", "content": [document(file_id="file_011abc")]}]}
        with pytest.raises(APIStatusError):
            Batches(client).create([("with-file", params)])  # type: ignore[list-item]
        with pytest.raises(APIStatusError):
            Batches(client).create([("plain", {**params, "messages": [  # type: ignore[list-item]
                {"role": "user", "content": "file_id"}]})])
        assert [request.headers.get("anthropic-beta") for request in sent] == [FILES_BETA, None]

    def test_a_client_that_sends_the_beta_already_sends_it_once(self) -> None:
        content = [document(file_id="file_011abc")]
        assert self.betas_sent(content, betas=[FILES_BETA]) == [FILES_BETA] * 3


class TestRefusedBeforeSending:
    def refusing_client(self, sent: list[httpx.Request]) -> Client:
        return recording_client(httpx.Response(500), sent)

    def test_a_missing_path_a_directory_and_a_text_mode_file(self, tmp_path: Path) -> None:
        sent: list[httpx.Request] = []
        client = self.refusing_client(sent)
        (tmp_path / "notes.txt").write_text("x", encoding="utf-8")

        with pytest.raises(AttachmentError, match="does not exist"):
            client.files.upload(tmp_path / "missing.pdf")
        with pytest.raises(AttachmentError, match="is a directory"):
            client.files.upload(tmp_path)
        with (tmp_path / "notes.txt").open("r", encoding="utf-8") as text_mode, \
                pytest.raises(AttachmentError, match="binary mode"):
            client.files.upload(text_mode)  # type: ignore[arg-type]
        with pytest.raises(AttachmentError, match="filename="):
            client.files.upload(b"no name")
        assert sent == []

    def test_a_file_over_the_limit_is_refused_without_reading_it(self, tmp_path: Path) -> None:
        sent: list[httpx.Request] = []
        client = self.refusing_client(sent)
        huge = tmp_path / "huge.bin"
        with huge.open("wb") as handle:
            handle.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is written to disk

        with pytest.raises(AttachmentTooLargeError) as raised:
            client.files.upload(huge)

        assert (raised.value.limit, raised.value.size, raised.value.maximum) == (
            "file upload", MAX_FILE_BYTES + 1, MAX_FILE_BYTES)
        assert "500.0 MB" in str(raised.value)
        assert sent == []

    @pytest.mark.parametrize("name", ["a/b.txt", "quote\".txt", "line\nbreak.txt", "x" * 256, ""])
    def test_names_the_api_refuses(self, name: str) -> None:
        sent: list[httpx.Request] = []
        with pytest.raises(AttachmentError, match="file name"):
            self.refusing_client(sent).files.upload(b"x", filename=name)
        assert sent == []

    @pytest.mark.parametrize(("content", "mime_type", "actual"), [
        (b"\x89PNG\r\n\x1a\n" + bytes(16), "image/jpeg", "image/png"),
        (b"plain words", "application/pdf", "text/plain"),
        (PDF, "image/png", "application/pdf"),
    ])
    def test_a_mime_type_the_content_contradicts(
        self, content: bytes, mime_type: str, actual: str
    ) -> None:
        sent: list[httpx.Request] = []
        with pytest.raises(UnsupportedMediaTypeError, match=f"given as {mime_type}") as raised:
            self.refusing_client(sent).files.upload(content, filename="f", mime_type=mime_type)
        assert actual in str(raised.value) and raised.value.media_type == mime_type
        assert sent == []

    def test_a_generic_mime_type_is_taken_as_given(self) -> None:
        sent: list[httpx.Request] = []
        client = recording_client(httpx.Response(200, json=METADATA), sent)
        client.files.upload(b"\x89PNG\r\n\x1a\n", filename="blob",
                            mime_type="application/octet-stream")
        assert b"Content-Type: application/octet-stream\r\n" in sent[0].content

    def test_a_mime_type_that_could_inject_a_header(self) -> None:
        sent: list[httpx.Request] = []
        with pytest.raises(AttachmentError, match="media type"):
            self.refusing_client(sent).files.upload(
                b"x", filename="a.txt", mime_type="text/plain\r\nX-Evil: 1")
        assert sent == []


class TestServerGarbage:
    @pytest.mark.parametrize("body", [
        b"<html>502</html>",
        json.dumps({**METADATA, "size_bytes": -1}).encode(),
        json.dumps({**METADATA, "size_bytes": "5"}).encode(),
        json.dumps({"id": "file_1"}).encode(),
        b"[" * 100_000,
    ])
    def test_metadata_that_is_not_metadata_is_a_malformed_response(self, body: bytes) -> None:
        client = recording_client(httpx.Response(200, content=body), [])
        with pytest.raises(MalformedResponseError, match="file metadata"):
            client.files.retrieve("file_011abc")

    @pytest.mark.parametrize(("body", "problem"), [
        ({"data": "nope"}, "it has no data list"),
        ({"data": [METADATA, {**METADATA, "id": 3}]}, "data.1.id: Input should be a valid string"),
        ({"data": [], "last_id": 7}, "last_id is 7, not a string"),
        ([], "it has no data list"),
    ])
    def test_a_page_that_is_not_a_page(self, body: object, problem: str) -> None:
        client = recording_client(httpx.Response(200, json=body), [])
        with pytest.raises(MalformedResponseError, match="page of files") as raised:
            client.files.list()
        assert str(raised.value).endswith(problem)

    def test_a_download_cut_part_way_is_a_connection_error(self) -> None:
        class CutStream(httpx.SyncByteStream):
            def __iter__(self) -> Iterator[bytes]:
                yield b"first part"
                raise httpx.ReadError("connection reset by peer")

        client = recording_client(
            httpx.Response(200, stream=CutStream(), headers={"request-id": "req_cut"}), [])
        with pytest.raises(APIConnectionError, match="reset by peer") as raised:
            client.files.download("file_011abc")
        assert raised.value.request_id == "req_cut"

    def test_a_deletion_answer_without_an_id(self) -> None:
        client = recording_client(httpx.Response(200, json={"type": "file_deleted"}), [])
        with pytest.raises(MalformedResponseError, match="deletion"):
            client.files.delete("file_011abc")


def upload_request(body: bytes, content_type: str) -> HTTPRequest:
    return HTTPRequest("POST", "/v1/files", {}, {
        "x-api-key": "k", "anthropic-version": "2023-06-01", "content-type": content_type,
    }, body)


class TestEmulatorUploads:
    async def answer(self, app: EmulatorApp, request: HTTPRequest) -> tuple[int, dict[str, str]]:
        outcome = await app.handle(request)
        return outcome.status, json.loads(outcome.body)

    async def test_a_well_formed_upload_is_stored(self) -> None:
        body, content_type = multipart_body("file", "café menu.txt", b"soup", "text/plain")
        status, answer = await self.answer(EmulatorApp(), upload_request(body, content_type))
        assert status == 200
        assert (answer["filename"], answer["mime_type"], answer["size_bytes"]) == (
            "café menu.txt", "text/plain", 4)

    @pytest.mark.parametrize(("body", "content_type", "message"), [
        (b"{}", "application/json", "multipart/form-data"),
        (b"--x\r\n", "multipart/form-data", "without a boundary"),
        (b"garbage", "multipart/form-data; boundary=x", "does not start"),
        (b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nab",
         "multipart/form-data; boundary=x", "closing boundary"),
        (b"--x\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nab\r\n--x--\r\n",
         "multipart/form-data; boundary=x", "file: Field required"),
        (b"--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nab\r\n--x--\r\n",
         "multipart/form-data; boundary=x", "no filename"),
        (b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a:b\"\r\n\r\nab"
         b"\r\n--x--\r\n", "multipart/form-data; boundary=x", "Invalid filename"),
        (b"--x" + b"\r\n--x" * 20 + b"--\r\n", "multipart/form-data; boundary=x", "too many"),
    ])
    async def test_a_broken_upload_is_a_400_naming_the_problem(
        self, body: bytes, content_type: str, message: str
    ) -> None:
        status, answer = await self.answer(EmulatorApp(), upload_request(body, content_type))
        assert status == 400
        assert answer["error"]["type"] == "invalid_request_error"  # type: ignore[index]
        assert message in answer["error"]["message"]  # type: ignore[index]

    @pytest.mark.parametrize("head", [
        b'Content-Disposition: \x00\x01a* ; nam*\n=e="file"; filename="a"',
        b'Content-Type: \xff/\xfe\r\nContent-Disposition: form-data; name="file"; '
        b'filename="a"',
    ])
    async def test_part_headers_the_parser_cannot_make_sense_of_are_a_400(
        self, head: bytes
    ) -> None:
        body = b"--x\r\n" + head + b"\r\n\r\ndata\r\n--x--\r\n"
        status, answer = await self.answer(
            EmulatorApp(), upload_request(body, "multipart/form-data; boundary=x"))
        assert status == 400
        assert "part headers" in answer["error"]["message"]  # type: ignore[index]

    def test_a_file_over_the_messages_request_limit_uploads(self, client: Client) -> None:
        # The Files API takes up to 500 MB; the 32 MB cap is the Messages API's.
        big = b"%PDF-1.7\n" + bytes(33 * 1024 * 1024)
        file = client.files.upload(big, filename="scan.pdf")
        assert (file.size_bytes, file.mime_type) == (len(big), "application/pdf")

    def test_a_messages_request_over_32_megabytes_is_still_413(self, emulator: Emulator) -> None:
        answer = httpx.post(f"{emulator.base_url}/v1/messages", content=bytes(33 * 1024 * 1024),
                            headers={"x-api-key": "k", "anthropic-version": "2023-06-01",
                                     "content-type": "application/json"}, timeout=30)
        assert answer.status_code == 413
        assert "32 MB" in answer.json()["error"]["message"]

    def test_a_data_directory_keeps_files_across_restarts(self, tmp_path: Path) -> None:
        with Emulator(files_dir=tmp_path) as first, \
                Client(api_key="k", base_url=first.base_url) as client:
            file = client.files.upload(b"kept", filename="kept.txt")
        (tmp_path / "file_garbage.json").write_text("{not json", encoding="utf-8")

        store = FileStore(tmp_path)

        assert store.retrieve(file.id)["filename"] == "kept.txt"
        assert store.list_page({})["data"] == [store.retrieve(file.id)]
        store.delete(file.id)
        assert sorted(path.name for path in tmp_path.iterdir()) == ["file_garbage.json"]


class TestHostileServers:
    """What a server that answers wrongly can and cannot do to the client."""

    def paging_client(self, next_cursor: dict[str | None, str]) -> tuple[Client, list[str]]:
        asked: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            after = request.url.params.get("after_id")
            asked.append(str(after))
            if len(asked) > 50:
                raise AssertionError("the client kept asking for pages")
            cursor = next_cursor[after]
            return httpx.Response(200, json={
                "data": [{**METADATA, "id": cursor}], "has_more": True,
                "first_id": cursor, "last_id": cursor})

        client = Client(api_key="k", base_url="http://files.test", max_retries=0,
                        transport=httpx.MockTransport(handler))
        return client, asked

    @pytest.mark.parametrize("next_cursor", [
        {None: "file_a", "file_a": "file_a"},
        {None: "file_a", "file_a": "file_b", "file_b": "file_a"},
    ], ids=["repeats", "cycles"])
    def test_a_next_page_cursor_that_comes_back_stops_iterate_with_an_error(
        self, next_cursor: dict[str | None, str]
    ) -> None:
        client, asked = self.paging_client(next_cursor)
        seen: list[str] = []

        with pytest.raises(MalformedResponseError, match="came back"):
            for file in client.files.iterate():
                seen.append(file.id)

        assert len(asked) == len(next_cursor)
        assert seen == [next_cursor[after] for after in [None, *asked[1:]]]

    async def test_the_async_iterate_stops_on_a_cycle_too(self) -> None:
        asked: list[str] = []
        cursors = {None: "file_a", "file_a": "file_b", "file_b": "file_a"}

        def handler(request: httpx.Request) -> httpx.Response:
            after = request.url.params.get("after_id")
            asked.append(str(after))
            assert len(asked) < 50, "the client kept asking for pages"
            cursor = cursors[after]
            return httpx.Response(200, json={
                "data": [], "has_more": True, "first_id": cursor, "last_id": cursor})

        async with AsyncClient(api_key="k", base_url="http://files.test", max_retries=0,
                               transport=httpx.MockTransport(handler)) as client:
            with pytest.raises(MalformedResponseError, match="came back"):
                async for _ in client.files.iterate():
                    pass
        assert asked == ["None", "file_a", "file_b"]

    def test_a_failed_download_leaves_the_file_already_at_the_path(self, tmp_path: Path) -> None:
        target = tmp_path / "report.csv"
        target.write_bytes(b"yesterday's report")
        missing = recording_client(httpx.Response(404, json={
            "type": "error", "error": {"type": "not_found_error", "message": "no such file"}}),
            [])

        with pytest.raises(NotFoundError):
            missing.files.download_to("file_011abc", target)

        assert target.read_bytes() == b"yesterday's report"
        assert sorted(path.name for path in tmp_path.iterdir()) == ["report.csv"]

    def test_a_download_cut_part_way_writes_nothing(self, tmp_path: Path) -> None:
        class CutStream(httpx.SyncByteStream):
            def __iter__(self) -> Iterator[bytes]:
                yield b"first part"
                raise httpx.ReadError("connection reset by peer")

        target = tmp_path / "report.csv"
        target.write_bytes(b"yesterday's report")
        client = recording_client(httpx.Response(200, stream=CutStream()), [])

        with pytest.raises(APIConnectionError):
            client.files.download_to("file_011abc", target)

        assert target.read_bytes() == b"yesterday's report"
        assert sorted(path.name for path in tmp_path.iterdir()) == ["report.csv"]

    async def test_an_async_download_cut_part_way_writes_nothing(self, tmp_path: Path) -> None:
        class CutStream(httpx.AsyncByteStream):
            async def __aiter__(self) -> AsyncIterator[bytes]:
                yield b"first part"
                raise httpx.ReadError("connection reset by peer")

        target = tmp_path / "report.csv"
        async with AsyncClient(
            api_key="k", base_url="http://files.test", max_retries=0,
            transport=httpx.MockTransport(lambda _: httpx.Response(200, stream=CutStream())),
        ) as client:
            with pytest.raises(APIConnectionError):
                await client.files.download_to("file_011abc", target)
        assert list(tmp_path.iterdir()) == []

    def test_a_completed_download_replaces_the_file_whole(self, tmp_path: Path) -> None:
        target = tmp_path / "report.csv"
        target.write_bytes(b"a much longer report from yesterday")
        client = recording_client(httpx.Response(200, content=b"a,b\n"), [])

        assert client.files.download_to("file_011abc", target) == 4

        assert target.read_bytes() == b"a,b\n"
        assert sorted(path.name for path in tmp_path.iterdir()) == ["report.csv"]

    @pytest.mark.parametrize("file_id", [".", ".."])
    def test_a_dot_file_id_cannot_climb_to_another_endpoint(self, file_id: str) -> None:
        sent: list[httpx.Request] = []
        client = recording_client(httpx.Response(200, json={"id": file_id}), sent)
        with pytest.raises(ConfigurationError, match="file id"):
            client.files.delete(file_id)
        with pytest.raises(ConfigurationError, match="file id"):
            client.files.download(file_id)
        assert sent == []


class TestFileObjects:
    def test_a_file_object_that_reads_a_few_bytes_at_a_time_is_uploaded_whole(self) -> None:
        class Trickle(io.RawIOBase):
            """A raw stream (a pipe, a socket) that returns at most three bytes per read."""

            name = "notes.txt"

            def __init__(self, content: bytes) -> None:
                self.left = content

            def readable(self) -> bool:
                return True

            def readinto(self, buffer: Any) -> int:
                count = min(3, len(buffer), len(self.left))
                buffer[:count] = self.left[:count]
                self.left = self.left[count:]
                return count

        sent: list[httpx.Request] = []
        client = recording_client(httpx.Response(200, json=METADATA), sent)

        client.files.upload(Trickle(b"hello, whole world"))

        assert b"\r\n\r\nhello, whole world\r\n--" in sent[0].content

    def test_a_file_object_with_nothing_ready_is_refused(self) -> None:
        class NotReady(io.RawIOBase):
            name = "pipe.txt"

            def readable(self) -> bool:
                return True

            def readinto(self, buffer: Any) -> None:
                return None  # a non-blocking stream with no data yet

        sent: list[httpx.Request] = []
        with pytest.raises(AttachmentError, match="no bytes"):
            recording_client(httpx.Response(200, json=METADATA), sent).files.upload(NotReady())
        assert sent == []


class TestEmulatorDataDirectory:
    """The files directory is read back at start; what is there is not trusted."""

    def stored(self, directory: Path, file_id: str, metadata: object, content: bytes) -> None:
        (directory / f"{file_id}.json").write_text(json.dumps(metadata), encoding="utf-8")
        (directory / f"{file_id}.bin").write_bytes(content)

    @pytest.mark.parametrize("change", [
        {"mime_type": None}, {"filename": None}, {"filename": "../../etc/passwd"},
        {"size_bytes": 999}, {"size_bytes": "4"}, {"created_at": 5}, {"downloadable": "yes"},
        {"type": "batch"},
    ])
    def test_metadata_that_does_not_describe_its_file_is_left_out(
        self, tmp_path: Path, change: dict[str, object]
    ) -> None:
        good = {"id": "file_good", "type": "file", "filename": "a.txt",
                "mime_type": "text/plain", "size_bytes": 4,
                "created_at": "2026-11-30T12:00:00.000000Z", "downloadable": False}
        self.stored(tmp_path, "file_good", good, b"kept")
        bad = {key: value for key, value in {**good, "id": "file_bad", **change}.items()
               if value is not None}
        self.stored(tmp_path, "file_bad", bad, b"lost")

        store = FileStore(tmp_path)

        assert [file["id"] for file in store.list_page({})["data"]] == ["file_good"]
        with pytest.raises(Exception, match="File not found: file_bad"):
            store.retrieve("file_bad")

    def test_a_message_citing_a_file_left_out_is_not_found(self, tmp_path: Path) -> None:
        self.stored(tmp_path, "file_x", {"id": "file_x"}, b"x")
        with Emulator(files_dir=tmp_path) as emulator, \
                Client(api_key="k", base_url=emulator.base_url, max_retries=0) as client, \
                pytest.raises(NotFoundError, match="file_x"):
            client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=[{
                "role": "user", "content": [document(file_id="file_x")]}])
