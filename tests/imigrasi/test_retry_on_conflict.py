"""retry_on_conflict: a function that opens its own transaction is run again
when PostgreSQL chose it as a deadlock or serialization victim (SQLSTATE
40P01, 40001), never for other errors, never inside a caller's transaction
(which is lost already), and at most `attempts` times."""

from __future__ import annotations

import pytest
from django.db import OperationalError, transaction

from imigrasi import db


class DriverError(Exception):
    """Stands in for the psycopg error Django wraps: it carries the SQLSTATE."""

    def __init__(self, sqlstate: str | None) -> None:
        super().__init__(f"driver error {sqlstate}")
        self.sqlstate = sqlstate


def conflict(sqlstate: str | None) -> OperationalError:
    """An OperationalError as Django raises it: the driver's error as its cause."""
    try:
        try:
            raise DriverError(sqlstate)
        except DriverError as cause:
            raise OperationalError(str(cause)) from cause
    except OperationalError as error:
        return error


class Flaky:
    """Fails with the given errors in turn, then returns "done N" on call N."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return f"done {self.calls}"


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    """The pause between attempts is recorded, not waited for."""
    pauses: list[float] = []
    monkeypatch.setattr(db.time, "sleep", pauses.append)
    return pauses


def test_the_fake_error_is_read_as_django_reads_a_driver_error():
    error = conflict("40P01")

    assert isinstance(error, OperationalError)
    assert error.__cause__.sqlstate == "40P01"


def test_a_deadlock_victim_is_run_again_and_its_second_value_returned(no_sleep):
    function = Flaky(conflict("40P01"))

    assert db.retry_on_conflict(function) == "done 2"
    assert function.calls == 2
    assert len(no_sleep) == 1


def test_a_serialization_failure_is_run_again_too():
    function = Flaky(conflict("40001"))

    assert db.retry_on_conflict(function) == "done 2"
    assert function.calls == 2


@pytest.mark.parametrize(
    "sqlstate",
    ["23505", "57014", "08006", None],
    ids=["unique-violation", "query-cancelled", "connection-failure", "no-sqlstate"],
)
def test_other_errors_are_not_retried(sqlstate, no_sleep):
    error = conflict(sqlstate)
    function = Flaky(error)

    with pytest.raises(OperationalError) as raised:
        db.retry_on_conflict(function)

    assert raised.value is error
    assert function.calls == 1
    assert no_sleep == []


def test_an_operational_error_without_a_cause_is_not_retried():
    function = Flaky(OperationalError("server closed the connection unexpectedly"))

    with pytest.raises(OperationalError):
        db.retry_on_conflict(function)

    assert function.calls == 1


def test_an_error_that_is_not_operational_passes_through_untouched():
    function = Flaky(ValueError("not a database error"))

    with pytest.raises(ValueError):
        db.retry_on_conflict(function)

    assert function.calls == 1


def test_it_gives_up_after_the_given_attempts(no_sleep):
    last = conflict("40P01")
    function = Flaky(conflict("40P01"), conflict("40P01"), conflict("40P01"), last)

    with pytest.raises(OperationalError) as raised:
        db.retry_on_conflict(function, attempts=4)

    assert function.calls == 4
    assert raised.value is last
    assert len(no_sleep) == 3


def test_by_default_it_tries_three_times():
    function = Flaky(*(conflict("40P01") for _ in range(5)))

    with pytest.raises(OperationalError):
        db.retry_on_conflict(function)

    assert function.calls == 3


def test_the_third_attempt_may_still_succeed():
    function = Flaky(conflict("40P01"), conflict("40001"))

    assert db.retry_on_conflict(function) == "done 3"


@pytest.mark.django_db
def test_inside_a_callers_transaction_nothing_is_retried(no_sleep):
    error = conflict("40P01")
    function = Flaky(error)

    with transaction.atomic(), pytest.raises(OperationalError) as raised:
        db.retry_on_conflict(function)

    assert raised.value is error
    assert function.calls == 1
    assert no_sleep == []
