"""Tools that change the company database, each behind a person's approval where it matters.

Refunds above a threshold wait for approval (smaller ones are within an agent's authority) and
every refund is recorded with who made it. A cancellation waits when the order can still be
cancelled (for any other order the tool refuses without changing anything, so nobody is asked
for nothing). Address changes and emails always wait. Emails are written to the ``outbox``
table, never sent.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from agentcore import Tool, ToolError, tool
from agentcore.log import get_logger
from examples.support_agent.data import REFUND_APPROVAL_ABOVE_CENTS, REFUND_WINDOW_DAYS

__all__ = ["domain_tools"]

_log = get_logger("agentcore.examples.support_agent")

OrderId = Annotated[str, Field(pattern=r"^A-\d{4,}$", description='Order id such as "A-1001".')]


def domain_tools(
    database: str | Path,
    *,
    refund_approval_above_cents: int = REFUND_APPROVAL_ABOVE_CENTS,
    actor: str = "agent",
) -> list[Tool]:
    """Build the sensitive tools that act on the database at ``database``."""

    @contextmanager
    def transaction() -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(database, timeout=10)
        try:
            with connection:
                connection.execute("BEGIN IMMEDIATE")
                yield connection
        finally:
            connection.close()

    def order_row(connection: sqlite3.Connection, order_id: str) -> tuple[Any, ...]:
        row = connection.execute(
            "SELECT id, customer_id, status, total_cents FROM orders WHERE id = ?", (order_id,)
        ).fetchone()
        if row is None:
            raise ToolError(f"There is no order {order_id}.")
        return tuple(row)

    def check_refund_window(connection: sqlite3.Connection, order_id: str) -> None:
        row = connection.execute(
            "SELECT delivered_at FROM shipments WHERE order_id = ?", (order_id,)
        ).fetchone()
        if row is None or row[0] is None:
            return
        delivered = datetime.fromisoformat(row[0])
        days = (business_date(connection) - delivered).days
        if days > REFUND_WINDOW_DAYS:
            raise ToolError(
                f"Order {order_id} was delivered on {delivered.date()}, {days} days ago; "
                f"refunds are only possible within {REFUND_WINDOW_DAYS} days of delivery."
            )

    def refund_needs_approval(arguments: dict[str, Any]) -> str | None:
        amount = int(arguments["amount_cents"])
        if amount <= refund_approval_above_cents:
            return None
        return (
            f"refunds above {_dollars(refund_approval_above_cents)} need a supervisor's "
            f"approval (this one is {_dollars(amount)})"
        )

    @tool(requires_approval=refund_needs_approval)
    def refund_order(
        order_id: OrderId, amount_cents: Annotated[int, Field(gt=0)], reason: str
    ) -> dict[str, Any]:
        """Refund part or all of an order to the customer's original payment method.

        Args:
            order_id: The order to refund.
            amount_cents: Amount to refund, in cents (e.g. 2500 for $25.00).
            reason: Why the refund is given, in a few words.
        """
        with transaction() as connection:
            _, _, status, total = order_row(connection, order_id)
            if status not in ("shipped", "delivered"):
                raise ToolError(f"Order {order_id} is {status}; only shipped or delivered "
                                "orders can be refunded (cancel it instead).")
            check_refund_window(connection, order_id)
            (refunded,) = connection.execute(
                "SELECT COALESCE(SUM(amount_cents), 0) FROM refunds WHERE order_id = ?",
                (order_id,),
            ).fetchone()
            refundable = total - refunded
            if amount_cents > refundable:
                raise ToolError(
                    f"At most {refundable} cents can still be refunded on {order_id} "
                    f"(total {total}, already refunded {refunded})."
                )
            cursor = connection.execute(
                "INSERT INTO refunds (order_id, amount_cents, reason, created_at, created_by) "
                "VALUES (?, ?, ?, ?, ?)",
                (order_id, amount_cents, reason, _now(), actor),
            )
        _log.info("support.refund", order_id=order_id, amount_cents=amount_cents, actor=actor)
        return {
            "refund_id": cursor.lastrowid,
            "order_id": order_id,
            "amount_cents": amount_cents,
            "still_refundable_cents": refundable - amount_cents,
        }

    def cancel_needs_approval(arguments: dict[str, Any]) -> str | None:
        # Only an order that can still be cancelled is worth a person's time: for any other
        # (shipped, delivered, already cancelled, unknown) the tool refuses without a change.
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
        try:
            row = connection.execute(
                "SELECT status FROM orders WHERE id = ?", (arguments["order_id"],)
            ).fetchone()
        finally:
            connection.close()
        if row is None or row[0] not in ("pending", "paid"):
            return None
        return f"cancelling order {arguments['order_id']} ({row[0]}) needs your approval"

    @tool(requires_approval=cancel_needs_approval)
    def cancel_order(order_id: OrderId, reason: str) -> dict[str, Any]:
        """Cancel an order that has not shipped yet.

        Args:
            order_id: The order to cancel.
            reason: Why the customer cancels.
        """
        with transaction() as connection:
            _, _, status, _ = order_row(connection, order_id)
            if status not in ("pending", "paid"):
                raise ToolError(f"Order {order_id} is {status} and can no longer be cancelled.")
            connection.execute("UPDATE orders SET status = 'cancelled' WHERE id = ?", (order_id,))
        _log.info("support.cancel", order_id=order_id, reason=reason, actor=actor)
        return {"order_id": order_id, "status": "cancelled"}

    @tool(sensitive=True)
    def update_shipping_address(
        order_id: OrderId, line1: str, city: str, postcode: str, country: str
    ) -> dict[str, Any]:
        """Change where an order that has not shipped yet will be delivered.

        Args:
            order_id: The order to change.
            line1: Street and number.
            city: City.
            postcode: Postal code.
            country: Two-letter country code such as "US".
        """
        with transaction() as connection:
            _, customer_id, status, _ = order_row(connection, order_id)
            if status not in ("pending", "paid"):
                raise ToolError(f"Order {order_id} is {status}; its address can't change now.")
            cursor = connection.execute(
                "INSERT INTO addresses (customer_id, line1, city, postcode, country) "
                "VALUES (?, ?, ?, ?, ?)",
                (customer_id, line1, city, postcode, country.upper()),
            )
            connection.execute(
                "UPDATE orders SET shipping_address_id = ? WHERE id = ?",
                (cursor.lastrowid, order_id),
            )
        return {"order_id": order_id, "shipping_address": f"{line1}, {postcode} {city}, {country}"}

    @tool(sensitive=True)
    def send_email(
        customer_email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")],
        subject: Annotated[str, Field(max_length=120)],
        body: str,
    ) -> dict[str, Any]:
        """Email a customer (queued in the outbox for the mail system).

        Args:
            customer_email: The customer's email address on file.
            subject: Subject line.
            body: Plain-text message.
        """
        with transaction() as connection:
            row = connection.execute(
                "SELECT id FROM customers WHERE email = ?", (customer_email,)
            ).fetchone()
            if row is None:
                raise ToolError(f"No customer has the email address {customer_email}.")
            cursor = connection.execute(
                "INSERT INTO outbox (customer_id, subject, body, created_at) VALUES (?, ?, ?, ?)",
                (row[0], subject, body, _now()),
            )
        return {"queued_email_id": cursor.lastrowid, "to": customer_email}

    return [refund_order, cancel_order, update_shipping_address, send_email]


def business_date(connection: sqlite3.Connection) -> datetime:
    """The day the company's data describes (today, for a database without one)."""
    row = connection.execute("SELECT value FROM company WHERE key = 'business_date'").fetchone()
    return datetime.fromisoformat(row[0]) if row else datetime.now(UTC)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _dollars(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"
