"""Structured final output: the model answers by calling a tool whose schema is your model.

``Agent(output_type=Invoice)`` adds a ``final_result`` tool whose input schema is
``Invoice``'s JSON Schema. The model's call to it ends the run with a validated ``Invoice``
in ``RunResult.output_object``; arguments that fail validation go back to the model as an
error result (within a retry budget), so it can correct them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from agentcore.errors import ConfigurationError

__all__ = ["DEFAULT_OUTPUT_TOOL", "OutputSpec"]

DEFAULT_OUTPUT_TOOL = "final_result"
"""Name of the tool the model calls to give its structured answer."""

_MAX_PROBLEMS = 10


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """How a run's structured output is asked for and checked."""

    output_type: type[BaseModel]
    tool_name: str = DEFAULT_OUTPUT_TOOL
    max_retries: int = 3
    """Invalid or missing structured answers the model may correct before the run fails."""
    definition: dict[str, Any] = field(default_factory=dict)
    """The tool definition sent to the model (built from ``output_type``)."""

    @classmethod
    def for_type(
        cls, output_type: object, *, tool_name: str = DEFAULT_OUTPUT_TOOL, max_retries: int = 3
    ) -> OutputSpec:
        """Build the spec for a pydantic model class.

        Raises:
            ConfigurationError: ``output_type`` is not a pydantic model class.
        """
        if not (isinstance(output_type, type) and issubclass(output_type, BaseModel)):
            raise ConfigurationError(
                f"output_type must be a pydantic BaseModel subclass, not {output_type!r}"
            )
        doc = (output_type.__doc__ or "").strip()
        description = (
            "Give your final answer by calling this tool with the structured result. "
            "Call it once, when you are done."
        )
        if doc:
            description += f" The result: {doc}"
        definition = {
            "name": tool_name,
            "description": description,
            "input_schema": output_type.model_json_schema(),
        }
        return cls(output_type, tool_name, max_retries, definition)

    @property
    def reminder(self) -> str:
        """What the model is told when it answers without calling the output tool."""
        return (
            f"Please give your final answer by calling the {self.tool_name} tool with the "
            "structured result."
        )

    def validate(self, arguments: dict[str, Any]) -> tuple[BaseModel | None, str | None]:
        """Return (instance, None) for valid arguments, else (None, message for the model)."""
        try:
            return self.output_type.model_validate(arguments), None
        except ValidationError as exc:
            problems = []
            for error in exc.errors()[:_MAX_PROBLEMS]:
                where = ".".join(str(part) for part in error["loc"]) or "(root)"
                problems.append(f"{where}: {error['msg']}")
            return None, (
                f"The {self.tool_name} arguments are invalid: " + "; ".join(problems)
                + ". Call it again with corrected arguments."
            )
