"""The support agent's company database: created on first run with realistic, deterministic data.

This database is the source of truth. The agent reads it through lookup tools and changes it
only through the sensitive domain tools; nothing the model says is stored as fact.
"""

from __future__ import annotations

import random
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agentcore.errors import ConfigurationError

__all__ = [
    "POLICY_MANUAL_TITLE",
    "POLICY_SECTIONS",
    "REFUND_APPROVAL_ABOVE_CENTS",
    "REFUND_WINDOW_DAYS",
    "SCHEMA",
    "TABLES",
    "check_database",
    "create_database",
    "policy_manual",
]

SCHEMA = """
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    phone TEXT,
    tier TEXT NOT NULL CHECK (tier IN ('standard', 'plus', 'premium')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE addresses (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    line1 TEXT NOT NULL,
    city TEXT NOT NULL,
    postcode TEXT NOT NULL,
    country TEXT NOT NULL
);
CREATE TABLE products (
    sku TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    price_cents INTEGER NOT NULL
);
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL
        CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
    total_cents INTEGER NOT NULL,
    shipping_address_id INTEGER NOT NULL REFERENCES addresses(id),
    placed_at TEXT NOT NULL
);
CREATE TABLE order_items (
    order_id TEXT NOT NULL REFERENCES orders(id),
    sku TEXT NOT NULL REFERENCES products(sku),
    quantity INTEGER NOT NULL,
    unit_price_cents INTEGER NOT NULL,
    PRIMARY KEY (order_id, sku)
);
CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    method TEXT NOT NULL,
    card_last4 TEXT,
    amount_cents INTEGER NOT NULL,
    paid_at TEXT NOT NULL
);
CREATE TABLE shipments (
    order_id TEXT PRIMARY KEY REFERENCES orders(id),
    carrier TEXT NOT NULL,
    tracking_number TEXT NOT NULL,
    status TEXT NOT NULL,
    shipped_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE TABLE refunds (
    id INTEGER PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders(id),
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE policies (
    topic TEXT PRIMARY KEY,
    text TEXT NOT NULL
);
CREATE TABLE company (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

TABLES = tuple(re.findall(r"CREATE TABLE (\w+)", SCHEMA))
"""The tables of a company database, in creation order."""

REFUND_APPROVAL_ABOVE_CENTS = 2000
"""Refunds up to $20.00 are within an agent's authority; larger ones need a supervisor."""

REFUND_WINDOW_DAYS = 30
"""Refunds are possible up to this many days after delivery."""

POLICY_SECTIONS = {
    "refunds": (
        f"Refunds are allowed within {REFUND_WINDOW_DAYS} days of delivery, up to the order "
        "total minus earlier "
        f"refunds. Refunds above ${REFUND_APPROVAL_ABOVE_CENTS // 100}.00 need a supervisor's "
        "approval. Every refund is recorded."
    ),
    "cancellations": (
        "Orders can be cancelled while pending or paid. Shipped or delivered orders cannot be "
        "cancelled; offer a return and refund instead."
    ),
    "shipping": (
        "Standard shipping takes 3-5 business days. The shipping address can be changed until "
        "the order ships."
    ),
    "privacy": (
        "Never reveal card numbers, passwords or another customer's data. Confirm the customer's "
        "email address before discussing an order."
    ),
}

POLICY_MANUAL_TITLE = "Northwind Devices support policy manual"


def policy_manual() -> str:
    """The support policy manual as plain text: the policy sections, one headed paragraph
    each (the same text the ``support_policy`` lookup returns)."""
    parts = [POLICY_MANUAL_TITLE]
    for topic, text in POLICY_SECTIONS.items():
        parts.append(f"{topic.capitalize()}\n{text}")
    return "\n\n".join(parts) + "\n"


_FIRST_NAMES = (
    "Ada Alan Grace Linus Margaret Ken Barbara Dennis Frances Edsger Radia Tim Hedy Claude "
    "Katherine John Annie Guido Sophie Niklaus Karen Donald Lynn Bjarne Mary Ivan Joan Whitfield"
)
_LAST_NAMES = (
    "Lovelace Turing Hopper Torvalds Hamilton Thompson Liskov Ritchie Allen Dijkstra Perlman "
    "Berners-Lee Lamarr Shannon Johnson McCarthy Easley Rossum Wilson Wirth Jones Knuth Conway "
    "Stroustrup Keller Sutherland Clarke Diffie"
)
_FIRST = _FIRST_NAMES.split()
_LAST = _LAST_NAMES.split()
_CITIES = [
    ("Springfield", "US"),
    ("Riverton", "US"),
    ("Lakeside", "US"),
    ("Bristol", "GB"),
    ("Leeds", "GB"),
    ("Toronto", "CA"),
    ("Lyon", "FR"),
    ("Utrecht", "NL"),
]
_STREETS = (
    "Oak", "Maple", "Cedar", "Pine", "Elm", "Birch", "Willow", "Chestnut", "Hawthorn", "Juniper"
)
_PRODUCTS = [
    ("KB-101", "Mechanical keyboard", 8900),
    ("MS-220", "Wireless mouse", 2900),
    ("HD-330", "Noise-cancelling headphones", 19900),
    ("MN-270", "27-inch monitor", 32900),
    ("CB-010", "USB-C cable (2 m)", 1500),
    ("DK-550", "Laptop dock", 14900),
    ("WC-120", "HD webcam", 5900),
    ("LS-040", "Laptop stand", 3900),
    ("SP-610", "Desk speakers", 7900),
    ("CH-900", "Ergonomic chair", 45900),
]
_CARRIERS = ("UPS", "DHL", "FedEx", "Royal Mail")

_EPOCH = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def create_database(path: str | Path, *, customers: int = 300, seed: int = 7) -> Path:
    """Create the company database at ``path`` (overwriting nothing: an existing file is kept).

    The data is generated from ``seed``, so every fresh demo has the same customers and
    orders: customer 1 is Ada Lovelace <ada.lovelace@example.com> with order A-1001.
    """
    path = Path(path)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.unlink(missing_ok=True)
    connection = sqlite3.connect(partial)
    try:
        with connection:
            connection.executescript(SCHEMA)
            connection.executemany("INSERT INTO products VALUES (?, ?, ?)", _PRODUCTS)
            connection.executemany("INSERT INTO policies VALUES (?, ?)", POLICY_SECTIONS.items())
            # The data describes the shop as of this day; policies that count days use it.
            connection.execute(
                "INSERT INTO company VALUES ('business_date', ?)", (_iso(_EPOCH),)
            )
            _insert_customers(connection, rng, customers)
        connection.execute("PRAGMA journal_mode = WAL")
    finally:
        connection.close()
    partial.replace(path)
    return path


def check_database(path: str | Path) -> None:
    """Check that ``path`` is a company database (one :func:`create_database` made).

    Raises:
        ConfigurationError: it is not a SQLite database, or lacks the company tables.
    """
    hint = "choose another --db, or --reset to recreate it"
    try:
        connection = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
        try:
            names = {row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )}
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise ConfigurationError(f"{path} is not a SQLite database ({exc}); {hint}") from exc
    missing = [table for table in TABLES if table not in names]
    if missing:
        raise ConfigurationError(
            f"{path} is not a company database: it has no {', '.join(missing)} table(s); {hint}"
        )


def _insert_customers(connection: sqlite3.Connection, rng: random.Random, count: int) -> None:
    order_number = 1001
    used_emails: set[str] = set()
    for customer_id in range(1, count + 1):
        first = _FIRST[(customer_id - 1) % len(_FIRST)]
        last = _LAST[((customer_id - 1) // len(_FIRST) + customer_id - 1) % len(_LAST)]
        email = f"{first}.{last}".lower().replace("-", "") + "@example.com"
        if email in used_emails:
            email = email.replace("@", f"{customer_id}@")
        used_emails.add(email)
        created = _EPOCH - timedelta(days=rng.randint(40, 900))
        connection.execute(
            "INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                customer_id,
                f"{first} {last}",
                email,
                f"+1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                rng.choices(("standard", "plus", "premium"), weights=(6, 3, 1))[0],
                f"pbkdf2${rng.getrandbits(128):032x}",
                _iso(created),
            ),
        )
        city, country = rng.choice(_CITIES)
        address = connection.execute(
            "INSERT INTO addresses (customer_id, line1, city, postcode, country) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                customer_id,
                f"{rng.randint(1, 240)} {rng.choice(_STREETS)} Street",
                city,
                f"{rng.randint(10000, 99999)}",
                country,
            ),
        )
        address_id = address.lastrowid
        for _ in range(1 if customer_id == 1 else rng.randint(0, 5)):
            _insert_order(connection, rng, f"A-{order_number}", customer_id, address_id)
            order_number += 1


def _insert_order(
    connection: sqlite3.Connection,
    rng: random.Random,
    order_id: str,
    customer_id: int,
    address_id: int | None,
) -> None:
    placed = _EPOCH - timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23))
    items = rng.sample(_PRODUCTS, rng.randint(1, 3))
    if order_id == "A-1001":
        # The demo's first order: a keyboard and a cable, delivered, so it can be refunded.
        items = [_PRODUCTS[0], _PRODUCTS[4]]
    total = 0
    lines = []
    for sku, _name, price in items:
        quantity = 1 if order_id == "A-1001" else rng.randint(1, 2)
        total += quantity * price
        lines.append((order_id, sku, quantity, price))
    age_days = (_EPOCH - placed).days
    if order_id == "A-1001":
        status = "delivered"
    elif age_days < 2:
        status = rng.choice(("pending", "paid"))
    elif age_days < 6:
        status = rng.choice(("paid", "shipped"))
    else:
        status = rng.choices(("delivered", "cancelled"), weights=(12, 1))[0]
    connection.execute(
        "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)",
        (order_id, customer_id, status, total, address_id, _iso(placed)),
    )
    connection.executemany("INSERT INTO order_items VALUES (?, ?, ?, ?)", lines)
    if status == "pending":
        return
    method = rng.choice(("card", "card", "card", "paypal"))
    connection.execute(
        "INSERT INTO payments (order_id, method, card_last4, amount_cents, paid_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            order_id,
            method,
            f"{rng.randint(0, 9999):04d}" if method == "card" else None,
            total,
            _iso(placed + timedelta(minutes=rng.randint(1, 30))),
        ),
    )
    if status in ("shipped", "delivered"):
        shipped = placed + timedelta(days=1, hours=rng.randint(0, 20))
        delivered = shipped + timedelta(days=rng.randint(2, 5)) if status == "delivered" else None
        carrier = rng.choice(_CARRIERS)
        connection.execute(
            "INSERT INTO shipments VALUES (?, ?, ?, ?, ?, ?)",
            (
                order_id,
                carrier,
                f"{carrier[:2].upper()}{rng.randint(10**9, 10**10 - 1)}",
                "delivered" if delivered else "in_transit",
                _iso(shipped),
                _iso(delivered) if delivered else None,
            ),
        )
    if status == "delivered" and rng.random() < 0.08:
        connection.execute(
            "INSERT INTO refunds (order_id, amount_cents, reason, created_at, created_by) "
            "VALUES (?, ?, ?, ?, ?)",
            (order_id, min(total, 1500), "damaged packaging", _iso(_EPOCH), "agent:maria"),
        )
