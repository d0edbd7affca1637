"""Running an awaitable to completion from code that may or may not be inside an event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
from collections.abc import Awaitable
from typing import TypeVar

__all__ = ["resolve"]

T = TypeVar("T")


def resolve(value: T | Awaitable[T]) -> T:
    """Return ``value``, running it to completion first when it is awaitable.

    A private event loop is used; when this thread already runs one, a worker thread does.
    """
    if not inspect.isawaitable(value):
        return value
    awaitable = value

    async def wait() -> T:
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wait())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, wait()).result()
