"""Prometheus metrics, named the usual way (`imagine_..._total`, `..._seconds`).

Module-level, as prometheus_client is meant to be used: `/metrics` renders the default
registry (with the process and GC collectors). Labels never hold user or chat ids.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
POLL_BUCKETS = (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144)
DELIVERY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

JOBS_FINISHED = Counter(
    "imagine_jobs_finished_total", "Jobs that reached a final state.", ["state"]
)
QUEUE_WAITING = Gauge("imagine_queue_waiting_jobs", "Jobs waiting for a ModelScope slot.")
JOBS_IN_FLIGHT = Gauge("imagine_jobs_in_flight", "Jobs admitted and not yet finished.")
MODELSCOPE_LATENCY = Histogram(
    "imagine_modelscope_request_duration_seconds",
    "ModelScope API requests, by operation (submit, poll).",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
MODELSCOPE_ERRORS = Counter(
    "imagine_modelscope_errors_total", "ModelScope requests that failed, by kind.", ["kind"]
)
POLLS_PER_JOB = Histogram(
    "imagine_job_polls", "Polls a finished task needed.", buckets=POLL_BUCKETS
)
DELIVERY_DELAY = Histogram(
    "imagine_delivery_delay_seconds",
    "From ModelScope reporting the task done to the image delivered to the chat.",
    buckets=DELIVERY_BUCKETS,
)
MODELSCOPE_BALANCE = Gauge(
    "imagine_modelscope_balance",
    "Each token's Magicubes as last read (kind: total, available, frozen), by token label.",
    ["token", "kind"],
)
REQUESTS_REFUSED = Counter(
    "imagine_requests_refused_total", "Requests refused before queueing, by reason.", ["reason"]
)
DELIVERIES_REFUSED = Counter(
    "imagine_deliveries_refused_total",
    "Final messages a chat platform refused for good (400, 403), by platform.",
    ["platform"],
)
PLATFORM_ERRORS = Counter(
    "imagine_platform_errors_total", "Failed calls to a chat platform's API.", ["platform"]
)


def error_kind(key: str) -> str:
    """`error.quota_exceeded` -> `quota_exceeded`: a label from an error's message key."""
    return key.removeprefix("error.")
