"""The Messages API over httpx: :class:`Client` and :class:`AsyncClient`, with retries,
fallback models, streaming, token counting, message batches, and a shared rate limiter
(:class:`RateLimit`, :class:`RateLimiter`) that paces requests to the account's limits.
"""

from agentcore.client._client import (
    AsyncClient,
    AsyncMessages,
    AsyncMessageStream,
    AsyncModels,
    Client,
    CountTokensParams,
    MessageCreateParams,
    Messages,
    MessageStream,
    Models,
)
from agentcore.client._limiter import Admission, LimitState, RateLimiter, Ticket
from agentcore.client._rate_limit import (
    BucketHeaders,
    RateLimit,
    RateLimitHeaders,
    parse_rate_limit_headers,
)
from agentcore.client._retry import (
    RetryPolicy,
    parse_retry_after,
    parse_should_retry,
)
from agentcore.client.batch_types import (
    CUSTOM_ID_PATTERN,
    MAX_BATCH_REQUESTS,
    BatchRequestCounts,
    batch_body,
    parse_result_line,
)
from agentcore.client.batches import (
    AsyncBatches,
    BatchCanceled,
    BatchErrored,
    Batches,
    BatchExpired,
    BatchPage,
    BatchRequest,
    BatchResult,
    BatchSucceeded,
    BatchUnknownResult,
    MessageBatch,
    PollSchedule,
    results_cost,
)

__all__ = [
    "CUSTOM_ID_PATTERN",
    "MAX_BATCH_REQUESTS",
    "Admission",
    "AsyncBatches",
    "AsyncClient",
    "AsyncMessageStream",
    "AsyncMessages",
    "AsyncModels",
    "BatchCanceled",
    "BatchErrored",
    "BatchExpired",
    "BatchPage",
    "BatchRequest",
    "BatchRequestCounts",
    "BatchResult",
    "BatchSucceeded",
    "BatchUnknownResult",
    "Batches",
    "BucketHeaders",
    "Client",
    "CountTokensParams",
    "LimitState",
    "MessageBatch",
    "MessageCreateParams",
    "MessageStream",
    "Messages",
    "Models",
    "PollSchedule",
    "RateLimit",
    "RateLimitHeaders",
    "RateLimiter",
    "RetryPolicy",
    "Ticket",
    "batch_body",
    "parse_rate_limit_headers",
    "parse_result_line",
    "parse_retry_after",
    "parse_should_retry",
    "results_cost",
]
