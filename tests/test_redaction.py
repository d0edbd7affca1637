"""Redacting message content and finding the values of secret arguments."""

from pydantic import BaseModel

from agentcore.redaction import REDACTED, Redactor, redact_content, secret_values_in

KEY = "sk-ant-api03-" + "Z" * 40


class TestRedactContent:
    def test_text_is_scrubbed_of_keys_and_secret_values(self) -> None:
        assert redact_content(
            f"card 4111111111111111 charged with {KEY}", secret_values=["4111111111111111"]
        ) == f"card {REDACTED} charged with {REDACTED}"

    def test_blocks_keep_their_types_ids_and_sources(self) -> None:
        image = {"type": "base64", "media_type": "image/png", "data": "c2stYW50LWFwaTAz"}
        blocks = [
            {"type": "text", "text": f"key {KEY}"},
            {"type": "image", "source": image},
            {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True,
             "content": [{"type": "text", "text": "password=hunter2-long"}]},
        ]

        assert redact_content(blocks) == [
            {"type": "text", "text": f"key {REDACTED}"},
            {"type": "image", "source": image},
            {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": True,
             "content": [{"type": "text", "text": f"password={REDACTED}"}]},
        ]

    def test_tool_inputs_lose_credential_and_secret_fields(self) -> None:
        block = {"type": "tool_use", "id": "toolu_2", "name": "login",
                 "input": {"user": "ann", "api_key": "abc-12345", "pin": "9876"}}

        assert Redactor(["pin"]).redact_content([block]) == [
            {"type": "tool_use", "id": "toolu_2", "name": "login",
             "input": {"user": "ann", "api_key": REDACTED, "pin": REDACTED}},
        ]

    def test_content_without_secrets_is_returned_equal(self) -> None:
        blocks = [{"type": "text", "text": "shipped"}]
        assert redact_content(blocks, secret_fields=["card"], secret_values=["9999-0000"]) == blocks


class Card(BaseModel):
    number: str
    expiry_month: int


class TestSecretValuesIn:
    def test_values_under_secret_names_are_found_at_any_depth(self) -> None:
        arguments = {
            "account": "A-1",
            "payment": {"card": {"number": "4111111111111111", "expiry_month": 12}},
            "pins": [{"pin": "1234"}, {"pin": 5678}],
            "flag": True,
        }

        assert secret_values_in(arguments, {"card", "pin"}) == [
            "4111111111111111", "12", "1234", "5678",
        ]

    def test_validated_models_are_searched_as_their_json(self) -> None:
        kwargs = {"card": Card(number="4111111111111111", expiry_month=1), "note": "hi"}

        assert secret_values_in(kwargs, ["card"]) == ["4111111111111111", "1"]

    def test_no_secret_fields_means_no_values(self) -> None:
        assert secret_values_in({"pin": "1234"}, ()) == []
