"""Validating the model's tool arguments, converting them, and explaining what is wrong."""

import dataclasses
import datetime
import enum
import json
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from typing_extensions import TypedDict

from agentcore import ToolArgumentsError, tool
from agentcore.errors import ToolDefinitionError
from agentcore.tools._arguments import _formats


class Reason(enum.Enum):
    DAMAGED = "damaged"
    LATE = "late"


class LineItem(BaseModel):
    model_config = ConfigDict(regex_engine="python-re")

    sku: str = Field(pattern=r"^[A-Z]{3}-\d+$")
    quantity: Annotated[int, Field(ge=1)]


@dataclasses.dataclass
class Window:
    start: datetime.date
    end: datetime.date


class Contact(TypedDict):
    email: str
    phone: str | None


@tool
def refund_order(order_id: str, amount_cents: Annotated[int, Field(gt=0)]) -> str:
    """Refund part of an order.

    Args:
        order_id: Order number such as "A-1001".
        amount_cents: Amount to refund, in cents.
    """
    return f"refunded {amount_cents} on {order_id}"


@tool
def open_ticket(
    order_id: Annotated[str, Field(pattern=r"^A-\d{4}$")],
    reason: Reason,
    priority: Literal["low", "high"] = "low",
    summary: Annotated[str, Field(min_length=5, max_length=40)] = "no summary",
    items: list[LineItem] = [],  # noqa: B006 - never mutated; shows a default list in the schema
    due: datetime.date | None = None,
    ticket_id: uuid.UUID | None = None,
    opened_at: datetime.datetime | None = None,
    window: Window | None = None,
    contact: Contact | None = None,
    tags: set[str] = frozenset(),  # type: ignore[assignment]
    weight_kg: float = 0.0,
    location: tuple[float, float] | None = None,
) -> None:
    """Open a support ticket."""


def problems_of(fn: Any, arguments: Any) -> list[tuple[str, str]]:
    with pytest.raises(ToolArgumentsError) as caught:
        fn.validate(arguments)
    assert caught.value.tool_name == fn.name
    return caught.value.problems


class TestModelMessage:
    def test_deliberately_wrong_arguments_read_as_plain_instructions(self) -> None:
        with pytest.raises(ToolArgumentsError) as caught:
            refund_order.validate({"amount_cents": -5, "reason_code": "R1"})
        assert caught.value.model_message == (
            "Invalid arguments for tool 'refund_order':\n"
            "- order_id: required argument is missing (expected a string)\n"
            "- amount_cents: -5 is too small (expected an integer > 0)\n"
            "- reason_code: unknown argument (allowed: order_id, amount_cents)\n"
            "Call the tool again with corrected arguments."
        )
        assert str(caught.value) == caught.value.model_message

    def test_every_problem_of_a_complex_call_is_listed_in_parameter_order(self) -> None:
        with pytest.raises(ToolArgumentsError) as caught:
            open_ticket.validate(
                {
                    "summary": "hi",
                    "reason": "broken",
                    "order_id": "1001",
                    "items": [{"sku": "abc-1", "quantity": 0}, {"sku": "ABC-2"}],
                    "due": "next tuesday",
                    "priority": "urgent",
                }
            )
        assert caught.value.model_message == (
            "Invalid arguments for tool 'open_ticket':\n"
            '- order_id: "1001" does not match the required pattern ^A-\\d{4}$\n'
            '- reason: "broken" is not one of the allowed values: "damaged", "late"\n'
            '- priority: "urgent" is not one of the allowed values: "low", "high"\n'
            '- summary: "hi" is too short (expected a string of 5 to 40 characters)\n'
            '- items[0].sku: "abc-1" does not match the required pattern ^[A-Z]{3}-\\d+$\n'
            "- items[0].quantity: 0 is too small (expected an integer >= 1)\n"
            "- items[1].quantity: required field is missing (expected an integer >= 1)\n"
            '- due: "next tuesday" is not a valid date (expected a date such as 2024-05-01 or '
            "null)\n"
            "Call the tool again with corrected arguments."
        )


VALID = {"order_id": "A-1001", "reason": "late"}


@pytest.mark.parametrize(
    ("extra", "problems"),
    [
        ({"order_id": 1001}, [("order_id", "expected a string matching the pattern ^A-\\d{4}$, "
                                            "got an integer 1001")]),
        ({"priority": None}, [("priority", 'expected one of "low", "high", got null')]),
        ({"summary": "x" * 41}, [("summary", '"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" is too '
                                             "long (expected a string of 5 to 40 characters)")]),
        ({"items": {"sku": "ABC-1"}}, [("items", "expected a list whose items are each an object "
                                                 'with fields sku, quantity, got an object '
                                                 '{"sku": "ABC-1"}')]),
        ({"items": [{"sku": "ABC-1", "quantity": 1, "price": 3}]}, []),
        ({"ticket_id": "42"}, [("ticket_id", '"42" is not a valid UUID (expected a UUID such as '
                                             "123e4567-e89b-12d3-a456-426614174000 or null)")]),
        ({"opened_at": "2024-05-01T25:00:00Z"}, [
            ("opened_at", '"2024-05-01T25:00:00Z" is not a valid date and time (expected a '
                          "date-time such as 2024-05-01T14:30:00Z or null)")]),
        ({"window": {"start": "2024-05-01"}}, [
            ("window.end", "required field is missing (expected a date such as 2024-05-01)")]),
        ({"window": {"start": "2024-05-01", "end": "2024-05-02", "days": 1}}, [
            ("window.days", "unknown field (allowed: start, end)")]),
        ({"contact": {"email": "a@b.c", "phone": 5}}, [
            ("contact.phone", "expected a string or null, got an integer 5")]),
        ({"tags": ["vip", "vip"]}, [("tags", "contains duplicate items (every item must be "
                                             "different)")]),
        ({"weight_kg": "3"}, [("weight_kg", 'expected a number, got a string "3"')]),
        ({"weight_kg": True}, [("weight_kg", "expected a number, got a boolean true")]),
        ({"location": [1.5]}, [("location", "has 1 item, expected at least 2")]),
    ],
    ids=lambda value: str(value)[:40],
)
def test_each_kind_of_mistake_has_a_precise_message(
    extra: dict[str, Any], problems: list[tuple[str, str]]
) -> None:
    arguments = {**VALID, **extra}
    if not problems:
        open_ticket.validate(arguments)
        return
    assert problems_of(open_ticket, arguments) == problems


class TestShapeOfArguments:
    @pytest.mark.parametrize(
        ("arguments", "got"),
        [
            ([1, 2], "a list [1, 2]"),
            ("A-1001", 'a string "A-1001"'),
            (None, "null"),
        ],
    )
    def test_arguments_must_be_an_object(self, arguments: Any, got: str) -> None:
        assert problems_of(refund_order, arguments) == [
            ("", f"the arguments must be a JSON object whose keys are the parameter names, "
                 f"got {got}")
        ]

    def test_tool_without_parameters_refuses_any_argument(self) -> None:
        @tool
        def ping() -> str:
            """Ping."""
            return "pong"

        assert ping.validate({}) == {}
        assert problems_of(ping, {"x": 1}) == [
            ("x", "unknown argument (no arguments are accepted)")
        ]

    def test_long_values_are_shortened_in_messages(self) -> None:
        assert problems_of(refund_order, {"order_id": "A" * 100, "amount_cents": "lots" * 30}) == [
            ("amount_cents", 'expected an integer > 0, got a string "lotslotslotslotslotslotslot'
                             'slotslotslotslotslotslotslotslo…')
        ]


class TestConversion:
    def test_values_arrive_as_the_declared_python_types(self) -> None:
        kwargs = open_ticket.validate(
            {
                "order_id": "A-1001",
                "reason": "damaged",
                "items": [{"sku": "ABC-1", "quantity": 2}],
                "due": "2024-05-01",
                "ticket_id": "123e4567-e89b-12d3-a456-426614174000",
                "opened_at": "2024-05-01T14:30:00Z",
                "window": {"start": "2024-05-01", "end": "2024-05-03"},
                "contact": {"email": "a@example.com", "phone": None},
                "tags": ["vip", "eu"],
                "weight_kg": 2,
                "location": [48.8, 2.35],
            }
        )
        assert kwargs == {
            "order_id": "A-1001",
            "reason": Reason.DAMAGED,
            "items": [LineItem(sku="ABC-1", quantity=2)],
            "due": datetime.date(2024, 5, 1),
            "ticket_id": uuid.UUID("123e4567-e89b-12d3-a456-426614174000"),
            "opened_at": datetime.datetime(2024, 5, 1, 14, 30, tzinfo=datetime.UTC),
            "window": Window(start=datetime.date(2024, 5, 1), end=datetime.date(2024, 5, 3)),
            "contact": {"email": "a@example.com", "phone": None},
            "tags": {"vip", "eu"},
            "weight_kg": 2.0,
            "location": (48.8, 2.35),
        }
        assert type(kwargs["weight_kg"]) is float

    def test_arguments_left_out_are_not_passed_so_function_defaults_apply(self) -> None:
        assert open_ticket.validate({"order_id": "A-1001", "reason": "late"}) == {
            "order_id": "A-1001",
            "reason": Reason.LATE,
        }

    def test_whole_number_float_is_accepted_for_an_integer(self) -> None:
        assert refund_order.validate({"order_id": "A-1", "amount_cents": 500.0}) == {
            "order_id": "A-1",
            "amount_cents": 500,
        }

    def test_plain_parameters_convert_integers_to_floats(self) -> None:
        @tool
        def scale(factor: float, label: str | None = None) -> None:
            """Scale."""

        result = scale.validate({"factor": 2})
        assert result == {"factor": 2.0}
        assert type(result["factor"]) is float
        assert problems_of(scale, {"factor": "2"}) == [
            ("factor", 'expected a number, got a string "2"')
        ]

    def test_a_validator_in_a_nested_model_is_reported_like_a_schema_problem(self) -> None:
        class Booking(BaseModel):
            nights: int

            @field_validator("nights")
            @classmethod
            def at_most_a_fortnight(cls, value: int) -> int:
                if value > 14:
                    raise ValueError("stays longer than 14 nights need a manager")
                return value

        @tool
        def book(booking: Booking) -> None:
            """Book a room."""

        assert problems_of(book, {"booking": {"nights": 20}}) == [
            ("booking.nights", "Value error, stays longer than 14 nights need a manager (got 20)")
        ]

    def test_an_int_or_str_union_keeps_the_type_given(self) -> None:
        @tool
        def find(key: int | str) -> None:
            """Find."""

        assert find.validate({"key": 7}) == {"key": 7}
        assert find.validate({"key": "7"}) == {"key": "7"}


PARITY_CASES: list[dict[str, Any]] = [
    VALID,
    {**VALID, "weight_kg": 1},
    {**VALID, "weight_kg": 1.5},
    {**VALID, "weight_kg": True},
    {**VALID, "opened_at": "2024-05-01T14:30:00+02:00"},
    {**VALID, "opened_at": "2024-05-01"},
    {**VALID, "opened_at": 1714573800},
    {**VALID, "due": "2024-05-01T00:00:00"},
    {**VALID, "due": None},
    {**VALID, "ticket_id": "123e4567e89b12d3a456426614174000"},
    {**VALID, "tags": ["a", "b"]},
    {**VALID, "tags": ["a", "a"]},
    {**VALID, "location": [1, 2]},
    {**VALID, "location": [1, 2, 3]},
    {**VALID, "items": [{"sku": "ABC-1", "quantity": 1.0}]},
    {**VALID, "items": [{"sku": "ABC-1", "quantity": "1"}]},
    {**VALID, "window": {"start": "2024-05-01", "end": "2024-05-01"}},
    {**VALID, "contact": {"email": "x", "phone": None, "fax": "1"}},
    {**VALID, "priority": "high"},
    {"order_id": "A-1001"},
]


@pytest.mark.parametrize("arguments", PARITY_CASES, ids=lambda value: str(value)[:60])
def test_arguments_are_accepted_exactly_when_the_schema_accepts_them(
    arguments: dict[str, Any],
) -> None:
    """The fast paths never accept what the published schema would refuse, nor the reverse."""
    schema = open_ticket.input_schema
    schema_accepts = Draft202012Validator(schema, format_checker=_formats()).is_valid(arguments)
    try:
        open_ticket.validate(arguments)
    except ToolArgumentsError:
        accepted = False
    else:
        accepted = True
    assert accepted is schema_accepts


class Card(BaseModel):
    kind: Literal["card"]
    number: str


class BankTransfer(BaseModel):
    kind: Literal["bank"]
    iban: str


@tool
def pay(
    method: Annotated[Card | BankTransfer, Field(discriminator="kind")],
    fallback: Card | BankTransfer | None = None,
) -> None:
    """Pay an invoice."""


class TestUnions:
    @pytest.mark.parametrize(
        ("arguments", "problems"),
        [
            (
                {"method": {"kind": "card"}},
                [("method.number", "required field is missing (expected a string)")],
            ),
            (
                {"method": {"kind": "crypto"}},
                [("method.kind", '"crypto" is not one of the allowed values: "card", "bank"')],
            ),
            (
                {"method": {"kind": "bank", "iban": 5}},
                [("method.iban", "expected a string, got an integer 5")],
            ),
            (
                {"method": {"kind": "bank", "iban": "X"}, "fallback": {"number": "4111"}},
                [("fallback.kind", 'required field is missing (expected one of "card", "bank")')],
            ),
            (
                {"method": 3},
                [
                    (
                        "method",
                        'expected an object with fields kind="card", number or an object with '
                        'fields kind="bank", iban, got an integer 3',
                    )
                ],
            ),
        ],
        ids=["missing-field", "unknown-tag", "wrong-type-in-branch", "no-tag", "not-an-object"],
    )
    def test_a_tagged_union_is_explained_through_the_branch_its_tag_names(
        self, arguments: dict[str, Any], problems: list[tuple[str, str]]
    ) -> None:
        assert problems_of(pay, arguments) == problems

    def test_the_tagged_branch_is_converted_to_its_model(self) -> None:
        assert pay.validate({"method": {"kind": "bank", "iban": "DE89"}}) == {
            "method": BankTransfer(kind="bank", iban="DE89")
        }


# --- the schema is the contract: what pydantic alone would have let through ----------------


class Tier(enum.IntEnum):
    BASIC = 1
    GOLD = 2


class Size(enum.Enum):
    SMALL = 1
    LARGE = 3


@tool
def refund(tier: Literal[1, 2], confirm: Literal[True] = True) -> str:
    """Refund at a tier."""
    return f"tier {tier!r}"


@tool
def upgrade(tier: Tier, size: Size = Size.SMALL) -> None:
    """Upgrade."""


class TestTheSchemaDecides:
    @pytest.mark.parametrize(
        ("fn", "arguments", "problem"),
        [
            (refund, {"tier": True}, ("tier", "expected one of 1, 2, got a boolean true")),
            (
                refund,
                {"tier": 1, "confirm": 1},
                ("confirm", "expected exactly true, got an integer 1"),
            ),
            (upgrade, {"tier": True}, ("tier", "expected one of 1, 2, got a boolean true")),
            (
                upgrade,
                {"tier": 1, "size": False},
                ("size", "expected one of 1, 3, got a boolean false"),
            ),
        ],
        ids=["true-for-literal-int", "1-for-literal-true", "true-for-intenum", "false-for-enum"],
    )
    def test_a_boolean_is_not_a_number_and_a_number_is_not_a_boolean(
        self, fn: Any, arguments: dict[str, Any], problem: tuple[str, str]
    ) -> None:
        assert problems_of(fn, arguments) == [problem]

    def test_a_scripted_model_cannot_call_refund_with_tier_true(self) -> None:
        from agentcore import Agent, Client, ModelSettings
        from agentcore.testing import ScriptedModel, text_reply, tool_reply

        script = ScriptedModel(
            [
                tool_reply(("refund", {"tier": True}, "toolu_1")),
                text_reply("Sorry."),
            ]
        )
        agent = Agent(
            "claude-sonnet-4-6",
            "You refund.",
            [refund],
            client=Client(api_key="test", transport=script, max_retries=0),
            model_settings=ModelSettings(cache=False),
        )
        agent.run("Refund me.")
        result_block = script.requests[1]["messages"][-1]["content"][0]
        assert result_block["is_error"] is True
        assert "tier: expected one of 1, 2, got a boolean true" in result_block["content"]

    @pytest.mark.parametrize(
        ("pattern", "value"),
        [(r"^\w+$", "e\u0301"), (r"^\S+$", "\x1c")],
        ids=["word-and-combining-mark", "non-space-and-file-separator"],
    )
    def test_patterns_are_matched_by_python_re_as_jsonschema_matches_them(
        self, pattern: str, value: str
    ) -> None:
        @tool
        def label(text: Annotated[str, Field(pattern=pattern)]) -> None:
            """Label."""

        assert problems_of(label, {"text": value}) == [
            ("text", f"{json.dumps(value, ensure_ascii=False)} does not match the required "
                     f"pattern {pattern}")
        ]

    def test_a_trailing_newline_is_accepted_where_the_schema_accepts_it(self) -> None:
        @tool
        def label(text: Annotated[str, Field(pattern=r"^a$")]) -> None:
            """Label."""

        assert label.validate({"text": "a\n"}) == {"text": "a\n"}

    @pytest.mark.parametrize(
        "pattern", [r"^\p{L}+$", r"^a\z", r"^a\Z", r"(?P<word>a)", r"(?i)^a$", r"a*+"]
    )
    def test_a_pattern_python_and_json_schema_do_not_read_alike_is_refused_at_definition(
        self, pattern: str
    ) -> None:
        def label(text: Annotated[str, Field(pattern=pattern)]) -> None:
            """Label."""

        def note(text: Annotated[str, Field(pattern=pattern)] | None = None) -> None:
            """Note."""

        for fn in (label, note):
            with pytest.raises(ToolDefinitionError, match="pattern"):
                tool(fn)

    def test_a_nested_model_checking_its_pattern_with_the_rust_engine_is_refused(self) -> None:
        class Code(BaseModel):
            value: str = Field(pattern=r"^[A-Z]+$")

        def lookup(code: Code) -> None:
            """Look up."""

        with pytest.raises(ToolDefinitionError) as caught:
            tool(lookup)
        assert 'regex_engine="python-re"' in str(caught.value)
        assert "Code" in str(caught.value)

    @pytest.mark.parametrize(
        ("value", "accepted"),
        [(0.3, False), (0.5, True), (float("inf"), False), (float("nan"), False)],
    )
    def test_a_float_multiple_is_exact(self, value: float, accepted: bool) -> None:
        @tool
        def measure(step: Annotated[float, Field(multiple_of=0.1)]) -> None:
            """Measure."""

        if accepted:
            assert measure.validate({"step": value}) == {"step": value}
        else:
            with pytest.raises(ToolArgumentsError):
                measure.validate({"step": value})

    def test_stripping_whitespace_after_validation_is_refused_at_definition(self) -> None:
        def name(text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=3)]):
            """Name."""

        with pytest.raises(ToolDefinitionError, match="strip_whitespace"):
            tool(name)

    def test_a_field_is_filled_only_from_the_key_the_schema_names(self) -> None:
        class Account(BaseModel):
            model_config = ConfigDict(populate_by_name=True)

            user_id: int = Field(alias="userId")

        class Optional_(BaseModel):
            model_config = ConfigDict(populate_by_name=True)

            user_id: int = Field(0, alias="userId")

        @tool
        def find(account: Account | None = None, other: Optional_ | None = None) -> None:
            """Find."""

        assert problems_of(find, {"account": {"user_id": 5}}) == [
            ("account.userId", "required field is missing (expected an integer)")
        ]
        with pytest.raises(ToolArgumentsError, match="other"):
            find.validate({"other": {"user_id": 5}})
        assert find.validate({"other": {"userId": 5}}) == {"other": Optional_(userId=5)}

    def test_a_constraint_of_the_wrong_type_is_a_definition_error(self) -> None:
        def pick(count: Annotated[int, Field(lt=2.5)]) -> None:
            """Pick."""

        with pytest.raises(ToolDefinitionError, match="constraint"):
            tool(pick)


class TestConversionKeepsTheValue:
    def test_a_number_too_large_for_a_float_is_refused_with_a_message(self) -> None:
        @tool
        def scale(factor: float) -> None:
            """Scale."""

        [(path, message)] = problems_of(scale, {"factor": 10**400})
        assert path == "factor"
        assert "too large for a number" in message

    def test_an_integer_a_float_cannot_hold_is_refused_not_rounded(self) -> None:
        @tool
        def scale(factor: float, note: str | None = None) -> None:
            """Scale."""

        [(path, message)] = problems_of(scale, {"factor": 2**53 + 1})
        assert path == "factor"
        assert "9007199254740993 cannot be held exactly as a floating-point number" in message
        assert scale.validate({"factor": 2**53}) == {"factor": float(2**53)}

    @pytest.mark.parametrize("value", ["\ud800", "0", "2024-02-30", "20240501"])
    def test_a_date_is_a_calendar_date_written_yyyy_mm_dd(self, value: str) -> None:
        @tool
        def book(day: datetime.date, ticket: uuid.UUID | None = None) -> None:
            """Book."""

        [(path, message)] = problems_of(book, {"day": value})
        assert path == "day"
        assert "is not a valid date" in message
        [(path, message)] = problems_of(book, {"day": "2024-05-01", "ticket": value})
        assert (path, "is not a valid UUID" in message) == ("ticket", True)

    def test_decimal_strings_integer_keys_and_large_whole_numbers_are_accepted(self) -> None:
        @tool
        def ledger(
            price: Decimal, names: dict[int, str] | None = None, count: int = 0
        ) -> None:
            """Ledger."""

        arguments = {"price": "1.50", "names": {"7": "a", "-2": "b"}, "count": 1e20}
        assert ledger.validate(arguments) == {
            "price": Decimal("1.50"),
            "names": {7: "a", -2: "b"},
            "count": 10**20,
        }
        assert problems_of(ledger, {"price": "1,5"})[0][0] == "price"
        assert problems_of(ledger, {"price": 1, "names": {"07": "a"}}) == [
            ("names", '"07" does not match the required pattern ^(0|-?[1-9][0-9]*)(?![\\s\\S])')
        ]

    def test_a_validator_that_rewrites_a_value_is_refused_not_passed_on_silently(self) -> None:
        class Code(BaseModel):
            value: str

            @field_validator("value")
            @classmethod
            def upper(cls, value: str) -> str:
                return value.upper()

        @tool
        def lookup(code: Code) -> None:
            """Look up."""

        assert lookup.validate({"code": {"value": "AB"}}) == {"code": Code(value="AB")}
        [(path, message)] = problems_of(lookup, {"code": {"value": "ab"}})
        assert path == "code.value"
        assert "would reach the tool changed" in message


class TestSecretsAreNeverQuoted:
    def test_a_validator_message_quoting_a_secret_is_masked(self) -> None:
        class Login(BaseModel):
            password: str

            @field_validator("password")
            @classmethod
            def long_enough(cls, value: str) -> str:
                if len(value) < 12:
                    raise ValueError(f"{value} is too short")
                return value

        @tool
        def sign_in(login: Login) -> None:
            """Sign in."""

        with pytest.raises(ToolArgumentsError) as caught:
            sign_in.validate({"login": {"password": "hunter2-x"}})
        assert "hunter2-x" not in caught.value.model_message
        assert "is too short" in caught.value.model_message

    @tool(secret_fields=["pin"])
    @staticmethod
    def unlock(
        pin: Annotated[str, Field(pattern=r"^[0-9]{4}$")],
        password: Annotated[str, Field(min_length=12)] = "x" * 12,
        profile: dict[str, Any] | None = None,
    ) -> None:
        """Unlock."""

    @pytest.mark.parametrize(
        "arguments",
        [
            {"pin": "12ab-secret"},
            {"pin": 98765432},
            {"pin": "1234", "password": "hunter2-secret"[:11]},
            {"pin": "1234", "password": 12345678901},
            {"pin": "1234", "profile": ["token", {"api_key": "sk-secret-value"}]},
            [{"pin": "12ab-secret", "password": "hunter2-secret"}],
        ],
        ids=["pattern", "type", "length", "credential-type", "nested-credential", "not-an-object"],
    )
    def test_a_secret_value_is_never_in_the_message(self, arguments: Any) -> None:
        with pytest.raises(ToolArgumentsError) as caught:
            self.unlock.validate(arguments)
        message = caught.value.model_message
        for secret in ("12ab-secret", "98765432", "hunter2-sec", "12345678901", "sk-secret"):
            assert secret not in message
        assert "not shown" in message or "[REDACTED]" in message
