# -*- coding: utf-8 -*-
# Copyright: vmservice.restore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Opt-in retries of transient errors, with jittered exponential backoff.

Only for idempotent calls: GET, a PATCH or apply of a desired state, or a
read-modify-write that re-reads on 409. Never for calls that create something
each time they run (RegisterVM): check first whether it already happened.

Pure apart from the injected ``sleep`` and ``jitter``; nothing here knows HTTP
libraries. An error is transient when it says so (``transient = True``), has an
HTTP status of 429, 502, 503 or 504 (``http_status`` or ``status``), or is a
connection reset.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time
from typing import Any, Callable, List, Optional

TRANSIENT_HTTP_STATUSES = frozenset((429, 502, 503, 504))
CONFLICT_HTTP_STATUS = 409


def http_status(exc: BaseException) -> Optional[int]:
    """The HTTP status an exception carries (``http_status`` or ``status``), or None."""
    for attribute in ("http_status", "status"):
        value = getattr(exc, attribute, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def is_transient(exc: BaseException) -> bool:
    """Default test: worth retrying an idempotent call after this error?"""
    flag = getattr(exc, "transient", None)
    if flag is not None:
        return bool(flag)
    if http_status(exc) in TRANSIENT_HTTP_STATUSES:
        return True
    return isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError))


def is_conflict(exc: BaseException) -> bool:
    """409 Conflict (``code`` CONFLICT or HTTP 409): retry a read-modify-write by re-reading."""
    return getattr(exc, "code", None) == "CONFLICT" or http_status(exc) == CONFLICT_HTTP_STATUS


def is_transient_or_conflict(exc: BaseException) -> bool:
    """For read-modify-write calls: transient errors and 409 Conflict."""
    return is_transient(exc) or is_conflict(exc)


def backoff_delays(attempts: int = 5, base: float = 0.5, cap: float = 8,
                   jitter: Callable[[], float] = random.random) -> List[float]:
    """The waits between ``attempts`` tries: base * 2**n capped at ``cap``, each
    drawn from its upper half (``jitter`` returns [0, 1)) so parallel callers spread."""
    delays = []
    for number in range(max(attempts - 1, 0)):
        ceiling = min(float(cap), float(base) * (2 ** number))
        delays.append(ceiling / 2.0 + ceiling / 2.0 * jitter())
    return delays


def retry_transient(func: Callable[[], Any], attempts: int = 5, base: float = 0.5, cap: float = 8,
                    is_transient: Callable[[BaseException], bool] = is_transient,  # pylint: disable=redefined-outer-name
                    sleep: Callable[[float], Any] = time.sleep, jitter: Callable[[], float] = random.random,
                    on_retry: Optional[Callable[[BaseException, int, float], Any]] = None) -> Any:
    """Call ``func()`` until it returns, retrying errors ``is_transient`` accepts.

    At most ``attempts`` calls; the last error is raised as it was. ``on_retry(exc,
    attempt, delay)`` is called before each wait (for logging).
    """
    attempts = max(int(attempts), 1)
    delays = backoff_delays(attempts, base, cap, jitter)
    attempt = 0
    while True:
        attempt += 1
        try:
            return func()
        except Exception as exc:  # pylint: disable=broad-except
            if attempt >= attempts or not is_transient(exc):
                raise
            delay = delays[attempt - 1]
            if on_retry is not None:
                on_retry(exc, attempt, delay)
            sleep(delay)
