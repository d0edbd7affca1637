"""The @tool decorator, running tools, their outputs, methods and Toolset."""

import asyncio
import dataclasses
import datetime
import enum
import functools
import logging
import threading
import uuid
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from agentcore import Tool, ToolOutput, Toolset, tool
from agentcore.approval import aapproval_reason, approval_reason
from agentcore.errors import ConfigurationError, ModelRetry, ToolDefinitionError, ToolError
from agentcore.log import capture_events
from agentcore.types import TextBlock


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
async def fetch_status(order_id: str) -> str:
    """Fetch the shipping status of an order."""
    await asyncio.sleep(0)
    return f"{order_id}: shipped"


class Status(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Order(BaseModel):
    order_id: str
    total: Decimal
    placed_at: datetime.datetime
    status: Status


@dataclasses.dataclass
class Receipt:
    receipt_id: uuid.UUID
    day: datetime.date


class TestDecorator:
    def test_plain_decorator_keeps_the_function_callable(self) -> None:
        assert isinstance(add, Tool)
        assert add(2, 3) == 5
        assert add.__name__ == "add"
        assert add.__doc__ == "Add two integers."

    def test_a_tool_without_a_description_is_made_with_a_warning(self) -> None:
        with capture_events() as events:

            @tool
            def ping() -> str:
                return "pong"

        assert ping.definition() == {
            "name": "ping",
            "input_schema": {
                "type": "object",
                "properties": {},
                "required": [],
                "additionalProperties": False,
            },
        }
        assert events == [
            {
                "event": "tool.no_description",
                "level": "warning",
                "logger": "agentcore.tools",
                "tool": "ping",
                "function": f"{__name__}.{type(self).__name__}."
                "test_a_tool_without_a_description_is_made_with_a_warning.<locals>.ping",
                "fix": "give the function a docstring, or pass @tool(description=...)",
            }
        ]

    def test_a_docstring_or_a_description_makes_no_warning(self) -> None:
        with capture_events() as events:

            @tool
            def documented() -> str:
                """Say pong."""
                return "pong"

            @tool(description="Say pong.")
            def described() -> str:
                return "pong"

        assert (documented.description, described.description) == ("Say pong.", "Say pong.")
        assert events == []

    def test_definition_is_the_api_shape(self) -> None:
        assert add.definition() == {
            "name": "add",
            "description": "Add two integers.",
            "input_schema": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
                "additionalProperties": False,
            },
        }

    def test_options_are_kept_on_the_tool(self) -> None:
        def policy(arguments: dict[str, Any]) -> bool:
            return bool(arguments["amount_cents"] > 10_000)

        @tool(
            name="refund",
            requires_approval=policy,
            secret_fields=["card_number"],
            cache_control={"type": "ephemeral"},
        )
        def refund_order(order_id: str, amount_cents: int, card_number: str) -> str:
            """Refund an order."""
            return "ok"

        assert refund_order.name == "refund"
        assert refund_order.sensitive is False
        assert refund_order.requires_approval is policy
        assert refund_order.secret_fields == frozenset({"card_number"})
        assert refund_order.is_async is False
        assert refund_order.definition()["cache_control"] == {"type": "ephemeral"}
        assert approval_reason(refund_order, {"amount_cents": 20_000}) == (
            "the approval policy of tool 'refund' asks for these arguments"
        )
        assert approval_reason(refund_order, {"amount_cents": 500}) is None

    async def test_an_async_approval_policy_is_awaited_by_the_approval_rule(self) -> None:
        async def over_limit(arguments: dict[str, Any]) -> bool:
            return bool(arguments["amount_cents"] > 100)

        @tool(requires_approval=over_limit)
        def refund(amount_cents: int) -> None:
            """Refund."""

        assert refund.requires_approval is over_limit
        assert await aapproval_reason(refund, {"amount_cents": 500}) == (
            "the approval policy of tool 'refund' asks for these arguments"
        )
        assert await aapproval_reason(refund, {"amount_cents": 50}) is None

    def test_requires_approval_of_another_type_is_refused(self) -> None:
        def refund(amount_cents: int) -> None: ...

        with pytest.raises(ToolDefinitionError) as caught:
            tool(requires_approval="yes")(refund)  # type: ignore[call-overload]
        assert str(caught.value) == (
            "tool 'refund': requires_approval must be a bool or a function of the arguments, "
            "got str"
        )

    def test_requires_approval_true_means_sensitive(self) -> None:
        @tool(requires_approval=True)
        def wipe(disk: str) -> None:
            """Wipe a disk."""

        assert (wipe.sensitive, wipe.requires_approval) == (True, None)
        assert approval_reason(wipe, {"disk": "sda"}) == "tool 'wipe' is marked sensitive"

    def test_sensitive_tool_always_needs_approval(self) -> None:
        @tool(sensitive=True)
        def wipe(disk: str) -> None:
            """Wipe a disk."""

        assert (wipe.sensitive, wipe.requires_approval) == (True, None)
        assert approval_reason(wipe, {"disk": "sda"}) == "tool 'wipe' is marked sensitive"
        assert approval_reason(add, {"a": 1, "b": 2}) is None

    def test_unknown_secret_field_is_rejected(self) -> None:
        def login(user: str, password: str) -> None: ...

        with pytest.raises(ToolDefinitionError) as caught:
            tool(secret_fields=["passwd"])(login)
        assert str(caught.value) == (
            "tool 'login': secret field 'passwd' is not an argument of the tool nor a field "
            "inside one (arguments: user, password)"
        )

    def test_dotted_secret_path_is_refused_with_the_name_to_use(self) -> None:
        class Card(BaseModel):
            number: str

        def pay(card: Card) -> None: ...

        with pytest.raises(ToolDefinitionError) as caught:
            tool(secret_fields=["card.number"])(pay)
        assert str(caught.value) == (
            "tool 'pay': secret field 'card.number' is a path; give the field name 'number' "
            "instead (secret names are masked at any depth)"
        )

    def test_callable_object_is_described_by_its_class_and_call(self) -> None:
        class Converter:
            """Convert an amount between currencies."""

            def __init__(self, rate: float) -> None:
                self.rate = rate

            def __call__(self, amount: float) -> float:
                return amount * self.rate

        converter = Converter(2.0)
        converter.name = "not the tool name"  # type: ignore[attr-defined]
        convert = tool(converter)
        assert convert.definition() == {
            "name": "Converter",
            "description": "Convert an amount between currencies.",
            "input_schema": {
                "type": "object",
                "properties": {"amount": {"type": "number"}},
                "required": ["amount"],
                "additionalProperties": False,
            },
        }
        assert convert.run(convert.validate({"amount": 3})) == ToolOutput(content="6.0")

    def test_partial_is_described_by_its_function_without_the_bound_arguments(self) -> None:
        def search(index: str, query: str, limit: int = 5) -> str:
            """Search an index.

            Args:
                index: Which index.
                query: Words to look for.
            """
            return f"{index}:{query}:{limit}"

        search_orders = tool(functools.partial(search, "orders"))
        assert search_orders.name == "search"
        assert search_orders.description == "Search an index."
        assert search_orders.input_schema["properties"] == {
            "query": {"description": "Words to look for.", "type": "string"},
            "limit": {"default": 5, "type": "integer"},
        }
        assert search_orders.run({"query": "late"}) == ToolOutput(content="orders:late:5")

    def test_field_as_a_default_value_is_refused_with_the_spelling_to_use(self) -> None:
        def charge(amount_cents: int = Field(1, gt=0)) -> None: ...

        with pytest.raises(ToolDefinitionError) as caught:
            tool(charge)
        assert str(caught.value) == (
            "tool 'charge': parameter 'amount_cents' has a pydantic Field as its default; put "
            "the Field in the annotation and the default after it, for example "
            "'amount_cents: Annotated[int, Field(gt=0)] = 1'"
        )

    def test_async_function_is_marked_async(self) -> None:
        assert fetch_status.is_async is True
        assert add.is_async is False


class TestRedact:
    def test_secret_fields_are_masked_at_top_level_and_inside_objects(self) -> None:
        class Card(BaseModel):
            number: str
            holder: str

        @tool(secret_fields=["password", "number"])
        def pay(user: str, password: str, card: Card) -> None:
            """Pay."""

        arguments = {
            "user": "ann",
            "password": "hunter2",
            "card": {"number": "4111", "holder": "Ann"},
        }
        assert pay.redact(arguments) == {
            "user": "ann",
            "password": "[REDACTED]",
            "card": {"number": "[REDACTED]", "holder": "Ann"},
        }
        assert arguments["password"] == "hunter2"

    def test_plain_secret_name_is_masked_at_any_depth(self) -> None:
        class Login(BaseModel):
            user: str
            token: str

        @tool(secret_fields=["token"])
        def connect(logins: list[Login]) -> None:
            """Connect."""

        assert connect.redact({"logins": [{"user": "a", "token": "t1"}]}) == {
            "logins": [{"user": "a", "token": "[REDACTED]"}]
        }

    def test_tool_without_secrets_returns_a_copy(self) -> None:
        arguments = {"a": 1, "b": 2}
        redacted = add.redact(arguments)
        assert redacted == arguments
        assert redacted is not arguments


class TestRun:
    def test_sync_tool_returns_its_value_as_text(self) -> None:
        assert add.run({"a": 2, "b": 3}) == ToolOutput(content="5")

    def test_async_tool_runs_to_completion_from_sync_code(self) -> None:
        assert fetch_status.run({"order_id": "A-1"}) == ToolOutput(content="A-1: shipped")

    def test_async_tool_runs_from_a_thread_without_a_loop(self) -> None:
        outputs: list[ToolOutput] = []
        worker = threading.Thread(
            target=lambda: outputs.append(fetch_status.run({"order_id": "B"}))
        )
        worker.start()
        worker.join(timeout=10)
        assert outputs == [ToolOutput(content="B: shipped")]

    async def test_async_tool_in_run_inside_a_running_loop_is_a_clear_error(self) -> None:
        with pytest.raises(ConfigurationError) as caught:
            fetch_status.run({"order_id": "A-1"})
        assert str(caught.value) == (
            "tool 'fetch_status' is async and Tool.run() was called inside a running event "
            "loop; await tool.arun(...) (or use the agent's async API) instead"
        )

    async def test_arun_awaits_an_async_tool(self) -> None:
        assert await fetch_status.arun({"order_id": "A-1"}) == ToolOutput(content="A-1: shipped")

    async def test_arun_runs_a_sync_tool_in_a_worker_thread(self) -> None:
        @tool
        def which_thread() -> str:
            """Name the current thread."""
            return "main" if threading.current_thread() is threading.main_thread() else "worker"

        assert await which_thread.arun({}) == ToolOutput(content="worker")

    def test_exception_becomes_an_error_result_and_the_traceback_is_logged(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        @tool
        def divide(a: int, b: int) -> float:
            """Divide a by b."""
            return a / b

        with caplog.at_level(logging.ERROR, logger="agentcore.tools"):
            output = divide.run({"a": 1, "b": 0})
        assert (output.content, output.is_error) == ("ZeroDivisionError: division by zero", True)
        assert isinstance(output.error, ZeroDivisionError)
        [record] = caplog.records
        assert record.getMessage() == "tool.error"
        fields = record.event_fields  # type: ignore[attr-defined]
        assert (fields["tool"], fields["error_type"], fields["error"]) == (
            "divide",
            "ZeroDivisionError",
            "division by zero",
        )
        assert fields["traceback"].startswith("Traceback (most recent call last):")
        assert "return a / b" in fields["traceback"]

    def test_exception_without_message_shows_its_type(self) -> None:
        @tool
        def fail() -> None:
            """Always fails."""
            raise KeyError

        output = fail.run({})
        assert (output.content, output.is_error) == ("KeyError", True)

    async def test_exception_in_async_tool_becomes_an_error_result(self) -> None:
        @tool
        async def fail(order_id: str) -> None:
            """Always fails."""
            raise LookupError(f"no order {order_id}")

        output = await fail.arun({"order_id": "A-9"})
        assert (output.content, output.is_error) == ("LookupError: no order A-9", True)
        assert isinstance(output.error, LookupError)

    def test_tool_error_sends_just_its_message(self) -> None:
        @tool
        def lookup(order_id: str) -> str:
            """Look up an order."""
            raise ToolError(f"order {order_id} does not exist")

        output = lookup.run({"order_id": "A-9"})
        assert (output.content, output.is_error) == ("order A-9 does not exist", True)
        assert isinstance(output.error, ToolError)

    def test_model_retry_is_phrased_as_a_retry_hint(self) -> None:
        @tool
        def lookup(order_id: str) -> str:
            """Look up an order."""
            raise ModelRetry("order ids look like A-1001; ask the customer for theirs")

        output = lookup.run({"order_id": "1001"})
        assert output.content == (
            "order ids look like A-1001; ask the customer for theirs\n"
            "Correct this and call lookup again."
        )
        assert output.is_error is True

    def test_base_exceptions_are_not_swallowed(self) -> None:
        @tool
        def interrupted() -> None:
            """Interrupted."""
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            interrupted.run({})


class TestOutputs:
    @pytest.mark.parametrize(
        ("value", "content"),
        [
            ("plain text", "plain text"),
            (None, "(no output)"),
            (42, "42"),
            (2.5, "2.5"),
            (True, "true"),
            ({"order_id": "A-1", "items": [1, 2]}, '{"order_id":"A-1","items":[1,2]}'),
            ([1, "two", None], '[1,"two",null]'),
            ({"name": "Zoë"}, '{"name":"Zoë"}'),
            (
                Order(
                    order_id="A-1",
                    total=Decimal("12.50"),
                    placed_at=datetime.datetime(2024, 5, 1, 14, 30, tzinfo=datetime.UTC),
                    status=Status.OPEN,
                ),
                '{"order_id":"A-1","total":"12.50","placed_at":"2024-05-01T14:30:00Z",'
                '"status":"open"}',
            ),
            (
                Receipt(
                    receipt_id=uuid.UUID("123e4567-e89b-12d3-a456-426614174000"),
                    day=datetime.date(2024, 5, 1),
                ),
                '{"receipt_id":"123e4567-e89b-12d3-a456-426614174000","day":"2024-05-01"}',
            ),
        ],
    )
    def test_return_values_become_text(self, value: Any, content: str) -> None:
        @tool
        def produce() -> Any:
            """Produce a value."""
            return value

        assert produce.run({}) == ToolOutput(content=content)

    def test_content_blocks_are_sent_as_blocks(self) -> None:
        blocks = [
            {"type": "text", "text": "chart:"},
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
            },
        ]

        @tool
        def chart() -> list[dict[str, Any]]:
            """Draw a chart."""
            return blocks

        assert chart.run({}) == ToolOutput(content=blocks)

    def test_content_block_models_are_sent_as_their_wire_form(self) -> None:
        @tool
        def greet() -> list[TextBlock]:
            """Greet."""
            return [TextBlock(text="hello")]

        assert greet.run({}) == ToolOutput(content=[{"type": "text", "text": "hello"}])

    def test_value_without_json_form_is_an_error_result(self) -> None:
        @tool
        def leak() -> object:
            """Return something odd."""
            return threading.Lock()

        output = leak.run({})
        assert output.is_error is True
        assert output.content == "the tool returned a lock that cannot be written as JSON"


class Shop:
    def __init__(self, name: str) -> None:
        self.name = name

    @tool
    def describe(self, verbose: bool = False) -> str:
        """Describe the shop."""
        return f"{self.name} (verbose={verbose})"

    @tool
    async def adescribe(self) -> str:
        """Describe the shop, asynchronously."""
        return self.name

    @tool
    @staticmethod
    def version() -> str:
        """The shop software version."""
        return "1.0"

    @tool
    @classmethod
    def kind(cls) -> str:
        """The kind of shop."""
        return cls.__name__


class TestMethods:
    def test_self_is_not_part_of_the_schema(self) -> None:
        assert Shop.describe.input_schema == {
            "type": "object",
            "properties": {"verbose": {"default": False, "type": "boolean"}},
            "required": [],
            "additionalProperties": False,
        }

    def test_instance_attribute_is_a_bound_tool(self) -> None:
        shop = Shop("Corner")
        bound = shop.describe
        assert isinstance(bound, Tool)
        assert bound.run({"verbose": True}) == ToolOutput(content="Corner (verbose=True)")
        assert bound(verbose=False) == "Corner (verbose=False)"
        assert shop.describe is bound

    def test_two_instances_have_their_own_bound_tools(self) -> None:
        first, second = Shop("One"), Shop("Two")
        assert first.describe.run({}).content == "One (verbose=False)"
        assert second.describe.run({}).content == "Two (verbose=False)"

    async def test_async_method_runs_bound(self) -> None:
        assert await Shop("Corner").adescribe.arun({}) == ToolOutput(content="Corner")

    def test_static_and_class_methods(self) -> None:
        assert Shop.version.run({}) == ToolOutput(content="1.0")
        assert Shop.kind.run({}) == ToolOutput(content="Shop")
        assert Shop("x").kind.input_schema["properties"] == {}

    def test_method_taken_from_the_class_cannot_run(self) -> None:
        with pytest.raises(ConfigurationError) as caught:
            Shop.describe.run({})
        assert str(caught.value) == (
            "tool 'describe' is a method: use it through an instance (for example "
            "`obj.describe`), not through the class"
        )

    def test_method_taken_from_the_class_is_still_callable_with_an_instance(self) -> None:
        assert Shop.describe(Shop("Corner")) == "Corner (verbose=False)"


class TestToolset:
    def test_lookup_by_name_and_definitions_in_given_order(self) -> None:
        toolset = Toolset([fetch_status, add])
        assert toolset.get("add") is add
        assert toolset.get("missing") is None
        assert toolset["fetch_status"] is fetch_status
        assert "add" in toolset
        assert len(toolset) == 2
        assert list(toolset) == [fetch_status, add]
        assert toolset.names == ["fetch_status", "add"]
        assert toolset.definitions() == [fetch_status.definition(), add.definition()]

    def test_duplicate_names_are_rejected(self) -> None:
        @tool(name="add")
        def other_add(x: int) -> int:
            """Another add."""
            return x

        with pytest.raises(ToolDefinitionError) as caught:
            Toolset([add, other_add])
        assert str(caught.value) == (
            "two tools are named 'add'; tool names must be unique within an agent, so rename "
            "one with @tool(name='...')"
        )

    def test_plain_functions_become_tools(self) -> None:
        def ping() -> str:
            """Ping."""
            return "pong"

        toolset = Toolset([ping])
        assert toolset["ping"].run({}) == ToolOutput(content="pong")

    def test_bound_method_tools_are_accepted_and_class_ones_refused(self) -> None:
        assert Toolset([Shop("A").describe])["describe"].run({}).content == "A (verbose=False)"
        with pytest.raises(ToolDefinitionError) as caught:
            Toolset([Shop.describe])
        assert str(caught.value) == (
            "tool 'describe' is a method taken from the class; pass the bound tool from an "
            "instance instead (for example `obj.describe`)"
        )

    def test_a_single_tool_instead_of_a_list_is_a_clear_error(self) -> None:
        def ping() -> str:
            """Ping."""
            return "pong"

        for single, name in ((add, "add"), (ping, "ping")):
            with pytest.raises(ConfigurationError) as caught:
                Toolset(single)  # type: ignore[arg-type]
            assert str(caught.value) == (
                f"tools must be a list of tools, not a single tool: tools=[{name}]"
            )

    @pytest.mark.parametrize(
        ("tools", "given"),
        [
            (None, "None"),
            ("add", "the string 'add' (give the tools, not names)"),
            ({"add": add}, "a value of type dict"),
            (42, "a value of type int"),
        ],
    )
    def test_something_other_than_a_list_of_tools_is_a_clear_error(
        self, tools: Any, given: str
    ) -> None:
        with pytest.raises(ConfigurationError) as caught:
            Toolset(tools)
        assert str(caught.value) == (
            f"tools must be a list of tools, e.g. tools=[lookup_order], not {given}"
        )

    def test_any_iterable_of_tools_is_accepted(self) -> None:
        assert Toolset(iter((add, fetch_status))).names == ["add", "fetch_status"]
        assert Toolset((add,)).names == ["add"]

    def test_definitions_are_not_shared_with_callers(self) -> None:
        toolset = Toolset([add])
        toolset.definitions().append({"name": "intruder"})
        assert toolset.definitions() == [add.definition()]


def test_annotated_constraints_survive_into_conversion() -> None:
    @tool
    def charge(amount_cents: Annotated[int, Field(gt=0)]) -> int:
        """Charge."""
        return amount_cents

    assert charge.run(charge.validate({"amount_cents": 5})) == ToolOutput(content="5")
