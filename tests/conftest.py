from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connections
from django.test import override_settings
from django.utils import translation
from pytest_django.plugin import blocking_manager_key

from offices import roles
from tests.factories import OfficeFactory, StaffFactory, UserFactory

HAS_POSTGRES = os.environ.get("IMIGRASI_TEST_POSTGRES", "1") == "1"
HAS_REDIS = os.environ.get("IMIGRASI_TEST_REDIS", "1") == "1"


def pytest_collection_modifyitems(config, items):
    on_postgres = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (not reachable here)")
    skip_redis = pytest.mark.skip(reason="needs Redis (not reachable here)")
    for item in items:
        if "postgres" in item.keywords and not (HAS_POSTGRES and on_postgres):
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not (HAS_REDIS and django_settings.REDIS_URL):
            item.add_marker(skip_redis)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Put back the migrated rows that a transactional test's flush removed.

    Tests that need committed rows (`transaction=True`: the Celery worker
    and concurrency tests) end with a flush that empties every table,
    including what data migrations wrote (role groups, the service
    catalogue): later tests on the same xdist worker would miss them. Such
    tests are marked `serialized_rollback=True`, so the database was
    serialized after migrating; it is reloaded here.
    """
    try:
        return (yield)
    finally:
        marker = item.get_closest_marker("django_db")
        # Without a next test, the session's fixtures (the test database) are gone too.
        if nextitem is not None and marker is not None and marker.kwargs.get("serialized_rollback"):
            with item.config.stash[blocking_manager_key].unblock():
                for connection in connections.all():
                    contents = getattr(connection, "_test_serialized_contents", None)
                    if contents:
                        connection.creation.deserialize_db_from_string(contents)


@pytest.fixture(scope="session", autouse=True)
def _staff_logins_pass_second_factor():
    """`client.force_login(staff)` also verifies a device (not tests.utils.login_unverified)."""
    from django.test.client import ClientMixin

    from tests import utils

    plain = ClientMixin.force_login
    utils._plain_force_login = plain

    def force_login(self, user, backend=None):
        plain(self, user, backend)
        if user.is_staff:
            utils.verify_second_factor(self, user)

    ClientMixin.force_login = force_login
    yield
    ClientMixin.force_login = plain


@pytest.fixture(scope="session", autouse=True)
def _static_root_exists():
    """WhiteNoise warns on every request when STATIC_ROOT is missing."""
    Path(django_settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (each xdist worker has its own Redis db)
    and in the default language: a request leaves its language active in the
    thread, and code run outside a request would otherwise inherit it."""
    cache.clear()
    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(scope="session", autouse=True)
def _catalogues_compiled_from_source(tmp_path_factory):
    """Render pages with the translations as written in locale/*/django.po.

    `make install` compiles the .mo files but `python -m tests.runner` alone
    does not, and translators edit locale/ while tests run: compiling the
    sources into a temporary folder means no test reads a stale or missing
    .mo and no test writes into locale/. Without msgfmt (or with a .po that
    does not compile) the configured LOCALE_PATHS are used as they are.
    """
    msgfmt = shutil.which("msgfmt")
    target = tmp_path_factory.mktemp("locale")
    compiled = msgfmt is not None
    for locale_dir in map(Path, django_settings.LOCALE_PATHS):
        for po in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")) if compiled else []:
            mo = target / po.relative_to(locale_dir).with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            result = subprocess.run([msgfmt, "-o", str(mo), str(po)], capture_output=True)
            compiled = compiled and result.returncode == 0
    if not compiled:
        yield
        return
    with override_settings(LOCALE_PATHS=[target]):
        yield


@pytest.fixture
def tasks_inline(settings):
    """Celery runs tasks inline, as `make run` does without Redis: a message
    handed over after commit is sent before the call returns. (With Redis
    configured, tasks would otherwise wait in a queue no worker reads.)"""
    settings.CELERY_TASK_ALWAYS_EAGER = True


# --- Personas (CONVENTIONS.md) ---------------------------------------------


@pytest.fixture
def office_a(db):
    return OfficeFactory(code="LTG", name="Kantor Imigrasi Lampung Tengah")


@pytest.fixture
def office_b(db):
    return OfficeFactory(code="LBR", name="Kantor Imigrasi Lampung Barat")


@pytest.fixture
def ani(db):
    """A citizen (pemohon): a woman born 12 May 1990, verified, speaks Indonesian."""
    return UserFactory(
        email="ani@example.id",
        full_name="Ani Lestari",
        nik="1802015205900001",
        date_of_birth=dt.date(1990, 5, 12),
        sex="P",
        phone="+6281234567890",
    )


@pytest.fixture
def budi(office_a):
    """An officer (Petugas) of office A."""
    return StaffFactory(
        email="budi@example.id",
        full_name="Budi Santoso",
        role=roles.OFFICER,
        offices=[office_a],
    )


@pytest.fixture
def citra(office_b):
    """An officer (Petugas) of office B."""
    return StaffFactory(
        email="citra@example.id",
        full_name="Citra Dewanti",
        role=roles.OFFICER,
        offices=[office_b],
    )


@pytest.fixture
def dewi(office_a, office_b):
    """A supervisor of offices A and B."""
    return StaffFactory(
        email="dewi@example.id",
        full_name="Dewi Kartika",
        role=roles.SUPERVISOR,
        offices=[office_a, office_b],
    )


@pytest.fixture
def eko(db):
    """A stranger: another citizen with no business with ani's data."""
    return UserFactory(email="eko@example.id", full_name="Eko Prasetyo")


@pytest.fixture
def english(client, settings):
    """The anonymous visitor has chosen English with the language switch."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client
