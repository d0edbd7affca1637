"""The one redaction walker: what it replaces, what it leaves alone, and the one marker."""

import ast
from pathlib import Path

import pytest
from pydantic import BaseModel

import agentcore
from agentcore.errors import APIConnectionError, AuthenticationError, StreamError, make_status_error
from agentcore.redaction import (
    REDACTED,
    Redactor,
    credentials_sent,
    excerpt,
    mask_fields,
    redact_content,
    secret_values_in,
)

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


class TestWalker:
    def test_secret_names_are_replaced_at_any_depth_and_the_rest_kept(self) -> None:
        value = {
            "model": "claude-sonnet-4-6",
            "request": {
                "headers": {"X-Api-Key": "abc-12345", "anthropic-version": "2023-06-01"},
                "attempts": [{"auth_token": "t0k3n-xyz", "n": 1}, ({"db_password": "pw"},)],
            },
            "card": {"number": "4111111111111111", "holder": "Ann"},
            "password": None,
        }

        assert Redactor(["card"]).redact(value) == {
            "model": "claude-sonnet-4-6",
            "request": {
                "headers": {"X-Api-Key": REDACTED, "anthropic-version": "2023-06-01"},
                "attempts": [{"auth_token": REDACTED, "n": 1}, ({"db_password": REDACTED},)],
            },
            "card": REDACTED,
            "password": None,
        }
        assert value["card"] == {"number": "4111111111111111", "holder": "Ann"}

    def test_known_values_are_replaced_inside_longer_strings_at_any_depth(self) -> None:
        redactor = Redactor(secret_values=["corp-77f0a91c", "corp-77f0a91c-admin"])
        line = "gateway said corp-77f0a91c-admin; retry corp-77f0a91c"
        value = {"log": ["first", {"line": line}]}

        assert redactor.redact(value) == {
            "log": ["first", {"line": f"gateway said {REDACTED}; retry {REDACTED}"}]
        }

    @pytest.mark.parametrize(
        "key",
        [
            KEY,
            "sk-proj-" + "Ab3" * 12,
            "sk_live_" + "51HqLyjWDarjtT1zdp7dc",
            "ghp_" + "a1B2c3D4e5" * 4,
            "github_pat_" + "11ABCDEFG0" * 4,
            "glpat-" + "x1Y2z3W4v5U6t7S8r9Q0",
            "xoxb-" + "1234567890-abcdefghij",
            "AKIAIOSFODNN7EXAMPLE",
            "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ],
    )
    def test_keys_are_recognised_by_their_shape(self, key: str) -> None:
        assert Redactor().redact({"note": f"use {key} for this"}) == {
            "note": f"use {REDACTED} for this"
        }

    def test_a_private_key_block_is_replaced_whole_even_when_cut(self) -> None:
        pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"

        assert Redactor().redact(f"key:\n{pem}\ndone") == f"key:\n{REDACTED}\ndone"
        assert Redactor().redact(f"key:\n{pem[:40]}") == f"key:\n{REDACTED}"

    @pytest.mark.parametrize(
        "text",
        [
            "The skeleton key opened the task-force room after the risk-assessment.",
            "Password reset instructions were sent; the token usage was 1,204.",
            "input_tokens: 120, max_tokens: 512, cache_read_input_tokens: 0",
            "toolu_01A09q90qw90lq917835lq9 answered msg_01XFDUDYJgAACzvnptvVoYEL",
            "request req_011CSHoEeqs5C35K2UUqR7Fy, id 550e8400-e29b-41d4-a716-446655440000",
            "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "A bearer of good news; authorization pending; secret santa at 5.",
            "AKIA is an acronym; eyJ alone is nothing; sk-1 is short.",
        ],
    )
    def test_ordinary_words_and_ids_are_left_alone(self, text: str) -> None:
        assert Redactor().redact({"text": text, "items": [text]}) == {"text": text, "items": [text]}

    def test_values_that_are_not_text_or_containers_pass_through(self) -> None:
        marker = object()
        assert Redactor().redact([1, 2.5, True, None, marker]) == [1, 2.5, True, None, marker]


class TestRedactError:
    def test_an_error_is_scrubbed_in_place_with_its_body_and_cause(self) -> None:
        secret = "gw-live-8f3a2c9d41e0"
        cause = ValueError(f"upstream quoted {secret}")
        error = make_status_error(401, {"error": {"type": "authentication_error",
                                                  "message": f"bad key {secret}"}})
        error.__cause__ = cause

        returned = Redactor(secret_values=[secret]).redact_error(error)

        assert returned is error
        assert type(error) is AuthenticationError
        assert error.message == f"bad key {REDACTED}"
        assert error.args == (f"bad key {REDACTED}",)
        assert error.body == {"error": {"type": "authentication_error",
                                        "message": f"bad key {REDACTED}"}}
        assert str(cause) == f"upstream quoted {REDACTED}"

    def test_a_stream_error_keeps_its_partial_message(self) -> None:
        secret = "gw-live-8f3a2c9d41e0"
        partial = Card(number="4111", expiry_month=1)
        error = StreamError(f"cut after {secret}", partial=partial,
                            cause=APIConnectionError(f"reset by {secret}"))

        Redactor(secret_values=[secret]).redact_error(error)

        assert error.message == f"cut after {REDACTED}"
        assert str(error.cause) == f"reset by {REDACTED}"
        assert error.partial is partial


class TestExcerpt:
    def test_a_cut_never_ends_inside_a_token(self) -> None:
        text = "refused " + "gw-live-8f3a2c9d41e07b5a6f18" + " for this gateway"

        assert excerpt(text, 12) == "refused …"
        assert excerpt(text, 40) == "refused gw-live-8f3a2c9d41e07b5a6f18 for…"
        assert excerpt(text, 200) == text

    def test_credentials_are_replaced_before_the_cut(self) -> None:
        assert excerpt(f"x-api-key: {KEY} and more text", 25) == f"x-api-key: {REDACTED} and…"


class TestCredentialsSent:
    def test_credential_headers_and_url_secrets_are_collected(self) -> None:
        headers = {
            "x-api-key": "gw-live-8f3a2c9d41e0",
            "authorization": "Bearer tok.Zq81PzLw0ef3",
            "X-Gateway-Session": "sess-0a1b2c3d4e",
            "anthropic-version": "2023-06-01",
            "user-agent": "agentcore/1.0",
            "x-short-token": "abc",
        }

        url = "https://bot:pw-9f8e7d6c@gw.example/v1?apikey=k-12345678"
        assert credentials_sent(headers, url) == (
            "gw-live-8f3a2c9d41e0",
            "Bearer tok.Zq81PzLw0ef3",
            "tok.Zq81PzLw0ef3",
            "sess-0a1b2c3d4e",
            "pw-9f8e7d6c",
            "k-12345678",
        )

    def test_a_plain_url_holds_no_credentials(self) -> None:
        assert credentials_sent({}, "https://api.anthropic.com") == ()


class TestMaskFields:
    def test_only_the_named_fields_change(self) -> None:
        """The approval view: a key-shaped note is shown as it is, as it will run."""
        arguments = {"note": f"rotate {KEY}", "card": {"pin": "1234", "last4": "4242"},
                     "api_key": "kept-as-sent"}

        assert mask_fields(arguments, ["pin"]) == {
            "note": f"rotate {KEY}", "card": {"pin": REDACTED, "last4": "4242"},
            "api_key": "kept-as-sent",
        }


def _string_literals(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


class TestOneMarker:
    def test_no_module_but_redaction_spells_the_marker(self) -> None:
        package = Path(agentcore.__file__).parent
        spelled = [
            f"{path.relative_to(package)}:{line}"
            for path in sorted(package.rglob("*.py"))
            if path.name != "redaction.py" or path.parent != package
            for line, text in _string_literals(path)
            if "[redacted]" in text.lower()
        ]
        assert spelled == []

    def test_every_public_marker_is_the_same_object(self) -> None:
        from agentcore import approval, tools
        from agentcore.approval import requests
        from agentcore.state import REDACTED as state_marker

        assert {id(m) for m in (approval.REDACTED, requests.REDACTED, tools.REDACTED,
                                state_marker)} == {id(REDACTED)}
