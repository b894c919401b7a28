"""retry_transient: which errors are retried, how long it waits between tries, when it gives up."""

import pytest

from ansible_collections.vmservice.restore.plugins.module_utils import retry
from ansible_collections.vmservice.restore.plugins.module_utils.errors import ApiAccessError, NotFoundError


class HttpError(Exception):
    def __init__(self, http_status):
        super().__init__("HTTP %d" % http_status)
        self.http_status = http_status


class Flaky:
    """Fails with the given errors in order, then returns "done"."""

    def __init__(self, *errors):
        self.errors = list(errors)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_returns_at_once_without_sleeping_when_the_call_succeeds():
    sleeps = []
    assert retry.retry_transient(lambda: 42, sleep=sleeps.append) == 42
    assert sleeps == []


def test_503_and_connection_reset_are_retried_until_success():
    call = Flaky(HttpError(503), ConnectionResetError("reset by peer"), HttpError(503))
    sleeps = []
    assert retry.retry_transient(call, sleep=sleeps.append, jitter=lambda: 0.0) == "done"
    assert call.calls == 4
    assert sleeps == [0.25, 0.5, 1.0]  # lower half of base * 2**n


def test_backoff_is_exponential_capped_and_jittered_in_the_upper_half():
    assert retry.backoff_delays(attempts=7, base=0.5, cap=8, jitter=lambda: 0.0) == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0]
    assert retry.backoff_delays(attempts=7, base=0.5, cap=8, jitter=lambda: 0.999999)[-1] == pytest.approx(8.0)
    assert retry.backoff_delays(attempts=1) == []


def test_gives_up_after_attempts_and_raises_the_last_error():
    errors = [HttpError(503) for attempt in range(5)]
    call = Flaky(*errors)
    sleeps = []
    with pytest.raises(HttpError) as raised:
        retry.retry_transient(call, attempts=3, sleep=sleeps.append)
    assert raised.value is errors[2]
    assert call.calls == 3 and len(sleeps) == 2


@pytest.mark.parametrize("error", [HttpError(400), HttpError(401), HttpError(404), HttpError(409), HttpError(500),
                                   NotFoundError("gone"), ValueError("bug")])
def test_non_transient_errors_are_raised_at_once(error):
    call = Flaky(error)
    sleeps = []
    with pytest.raises(type(error)):
        retry.retry_transient(call, sleep=sleeps.append)
    assert call.calls == 1 and sleeps == []


def test_a_typed_error_decides_with_its_transient_flag():
    unavailable = ApiAccessError("503")
    unavailable.transient = True
    refused = ApiAccessError("connection refused")
    refused.transient = False
    refused.http_status = 503  # the flag wins over the status
    assert retry.is_transient(unavailable)
    assert not retry.is_transient(refused)


def test_conflicts_are_retried_only_when_the_caller_opts_in():
    conflict = HttpError(409)
    assert not retry.is_transient(conflict)
    assert retry.is_conflict(conflict) and retry.is_transient_or_conflict(conflict)
    call = Flaky(HttpError(409), HttpError(409))
    assert retry.retry_transient(call, is_transient=retry.is_transient_or_conflict, sleep=lambda s: None) == "done"


def test_status_attribute_is_read_like_http_status_but_booleans_are_not_statuses():
    class KubeError(Exception):
        status = 503

    class Weird(Exception):
        http_status = True
    assert retry.http_status(KubeError()) == 503 and retry.is_transient(KubeError())
    assert retry.http_status(Weird()) is None


def test_on_retry_sees_each_error_attempt_and_delay():
    seen = []
    call = Flaky(HttpError(502), HttpError(504))
    retry.retry_transient(call, sleep=lambda s: None, jitter=lambda: 0.0,
                          on_retry=lambda exc, attempt, delay: seen.append((exc.http_status, attempt, delay)))
    assert seen == [(502, 1, 0.25), (504, 2, 0.5)]
