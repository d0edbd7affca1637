"""The read-only lookups the support agent may run: named queries from :mod:`agentcore_sql`.

The model never writes SQL: each lookup is a query written here, offered as a typed tool
whose only inputs are its parameters. Order lookups need the customer's email as well as the
order number, so the agent cannot read an order without knowing whose it is. No lookup
returns card data, password hashes or phone numbers, and the database's access policy hides
those columns even from a query that asks for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from agentcore_sql import DEFAULT_SECRET_COLUMNS, SQLDatabase
from pydantic import Field

from agentcore import Tool
from examples.support_agent.data import POLICY_SECTIONS

__all__ = ["READABLE_TABLES", "open_lookups"]

READABLE_TABLES = (
    "customers",
    "addresses",
    "products",
    "orders",
    "order_items",
    "payments",
    "shipments",
    "refunds",
    "policies",
)
"""Tables the lookups read; the outbox of customer emails is not one of them."""

_HIDDEN_COLUMNS = (*DEFAULT_SECRET_COLUMNS, "*card*", "customers.phone")

Email = Annotated[
    str,
    Field(
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="The customer's email address, e.g. ada.lovelace@example.com.",
    ),
]
OrderNumber = Annotated[
    str, Field(pattern=r"^A-\d{4,}$", description='The order number, e.g. "A-1001".')
]
PolicyTopic = Literal["refunds", "cancellations", "shipping", "privacy"]


def _usd(cents: str) -> str:
    """SQL for an amount in cents shown as dollars (``11800`` → ``$118.00``)."""
    return f"'$' || (({cents}) / 100) || '.' || substr('0' || (({cents}) % 100), -2)"


_REFUNDED = "(SELECT COALESCE(SUM(r.amount_cents), 0) FROM refunds r WHERE r.order_id = o.id)"

_ORDER_STATUS = f"""
SELECT o.id AS order_id,
       o.status,
       substr(o.placed_at, 1, 10) AS placed_on,
       {_usd("o.total_cents")} AS total,
       (SELECT group_concat(i.quantity || ' x ' || p.name || ' (' || {_usd("i.unit_price_cents")}
                            || ' each)', '; ')
          FROM order_items i JOIN products p ON p.sku = i.sku
         WHERE i.order_id = o.id) AS items,
       (SELECT pay.method || ', ' || {_usd("pay.amount_cents")} || ' on '
               || substr(pay.paid_at, 1, 10)
          FROM payments pay WHERE pay.order_id = o.id) AS payment,
       COALESCE((SELECT s.carrier || ' ' || s.status FROM shipments s WHERE s.order_id = o.id),
                'not shipped yet') AS shipping,
       {_usd(_REFUNDED)} AS refunded,
       {_usd("o.total_cents - " + _REFUNDED)} AS still_refundable
  FROM orders o JOIN customers c ON c.id = o.customer_id
 WHERE o.id = :order_id AND lower(c.email) = lower(:customer_email)
"""

_ORDERS_FOR_CUSTOMER = f"""
SELECT o.id AS order_id, o.status, substr(o.placed_at, 1, 10) AS placed_on,
       {_usd("o.total_cents")} AS total
  FROM orders o JOIN customers c ON c.id = o.customer_id
 WHERE lower(c.email) = lower(:customer_email)
 ORDER BY o.placed_at DESC
"""

_CUSTOMER_BY_EMAIL = """
SELECT c.id AS customer_id, c.name, c.email, c.tier, substr(c.created_at, 1, 10) AS customer_since,
       a.line1 || ', ' || a.postcode || ' ' || a.city || ', ' || a.country AS address
  FROM customers c
  LEFT JOIN addresses a ON a.id = (SELECT MIN(id) FROM addresses WHERE customer_id = c.id)
 WHERE lower(c.email) = lower(:customer_email)
"""

_SHIPMENT_TRACKING = """
SELECT s.order_id, s.carrier, s.tracking_number, s.status,
       substr(s.shipped_at, 1, 10) AS shipped_on, substr(s.delivered_at, 1, 10) AS delivered_on
  FROM shipments s JOIN orders o ON o.id = s.order_id JOIN customers c ON c.id = o.customer_id
 WHERE s.order_id = :order_id AND lower(c.email) = lower(:customer_email)
"""

_REFUNDS_FOR_ORDER = f"""
SELECT r.id AS refund_id, {_usd("r.amount_cents")} AS amount, r.amount_cents, r.reason,
       substr(r.created_at, 1, 10) AS refunded_on, r.created_by
  FROM refunds r JOIN orders o ON o.id = r.order_id JOIN customers c ON c.id = o.customer_id
 WHERE r.order_id = :order_id AND lower(c.email) = lower(:customer_email)
 ORDER BY r.id
"""

_SUPPORT_POLICY = "SELECT topic, text FROM policies WHERE topic = :topic"


def open_lookups(database: str | Path) -> tuple[SQLDatabase, list[Tool]]:
    """Open ``database`` read-only and declare the support lookups on it.

    Returns the database (close it when done) and its lookup tools.
    """
    db = SQLDatabase.sqlite(
        database,
        allow_tables=READABLE_TABLES,
        secret_columns=_HIDDEN_COLUMNS,
        row_limit=25,
        max_value_chars=400,
    )
    email_help = {"customer_email": "The customer's email address on file."}
    order_help = {"order_id": 'The order number, e.g. "A-1001".', **email_help}
    db.lookup(
        "customer_by_email",
        _CUSTOMER_BY_EMAIL,
        params={"customer_email": Email},
        param_descriptions=email_help,
        description=(
            "Find a customer by email address: customer id, name, tier, customer since and "
            "address. Use it to identify who you are talking to."
        ),
    )
    db.lookup(
        "orders_for_customer",
        _ORDERS_FOR_CUSTOMER,
        params={"customer_email": Email},
        param_descriptions=email_help,
        description="List a customer's orders, newest first: number, status, date and total.",
    )
    db.lookup(
        "order_status",
        _ORDER_STATUS,
        params={"order_id": OrderNumber, "customer_email": Email},
        param_descriptions=order_help,
        description=(
            "The status of one order of the customer with this email: items, total, payment "
            "method, shipping state and how much was refunded or can still be refunded. "
            "Returns no row when the order does not belong to that customer."
        ),
    )
    db.lookup(
        "shipment_tracking",
        _SHIPMENT_TRACKING,
        params={"order_id": OrderNumber, "customer_email": Email},
        param_descriptions=order_help,
        description=(
            "Carrier, tracking number and delivery dates of a shipped order (no row until "
            "the order ships)."
        ),
    )
    db.lookup(
        "refunds_for_order",
        _REFUNDS_FOR_ORDER,
        params={"order_id": OrderNumber, "customer_email": Email},
        param_descriptions=order_help,
        description="Refunds already given on an order: amount, reason, date and who gave it.",
    )
    db.lookup(
        "support_policy",
        _SUPPORT_POLICY,
        params={"topic": PolicyTopic},
        param_descriptions={"topic": "One of: " + ", ".join(POLICY_SECTIONS) + "."},
        description=(
            "The company's policy text on refunds, cancellations, shipping or privacy. "
            "Check it before promising anything."
        ),
    )
    return db, db.lookup_tools()
