"""`check --deploy` is clean with production-like variables; missing secrets fail loudly.

Each case runs manage.py in a fresh interpreter, because settings are read
once at import and the test process itself runs with DEBUG-like test keys.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

# Variables of the test process that must not leak into a "production" run.
LEAKY = ("PYTEST", "DEBUG", "DEV_KEYS", "SECRET_KEY", "PII_", "DATABASE_URL", "REDIS_URL",
         "CELERY_", "ALLOWED_HOSTS", "EMAIL_", "SITE_URL", "VAR_DIR", "SECURE_", "SESSION_",
         "DJANGO_SETTINGS_MODULE", "PAYMENT_", "SANDBOX_", "MIDTRANS_")  # fmt: skip


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(LEAKY)}
    env.update(
        DEBUG="false",
        DEV_KEYS="false",
        SECRET_KEY=secrets.token_urlsafe(60),
        PII_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        PII_BLIND_INDEX_KEY=secrets.token_urlsafe(40),
        ALLOWED_HOSTS="imigrasi.example.id",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        VAR_DIR=str(tmp_path / "var"),
        # Django 6.1's mail.E001 rightly refuses the console backend under --deploy.
        EMAIL_URL="smtp+tls://portal:rahasia@smtp.imigrasi.example.id:587",
        # Production takes money through a real gateway, not the built-in sandbox.
        PAYMENT_GATEWAY="midtrans",
        MIDTRANS_SERVER_KEY=secrets.token_urlsafe(30),
        MIDTRANS_API_URL="https://api.midtrans.com",
    )
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_settings(env: dict[str, str], *names: str) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {list(names)!r}}}, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "imigrasi.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_under_production_like_variables(production_env):
    result = manage(production_env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_refuses_to_send_production_email_to_the_console(production_env):
    del production_env["EMAIL_URL"]

    result = manage(production_env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode != 0
    assert "mail.E001" in result.stderr


def test_production_settings_turn_on_tls_and_secure_cookies(production_env):
    values = production_settings(
        production_env,
        "DEBUG",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SESSION_COOKIE_NAME",
        "ALLOWED_HOSTS",
        "STATIC_MANIFEST",
    )

    assert values == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SESSION_COOKIE_NAME": "__Host-sessionid",
        "ALLOWED_HOSTS": ["imigrasi.example.id"],
        "STATIC_MANIFEST": True,
    }


def test_production_settings_take_the_keys_from_the_environment(production_env):
    values = production_settings(production_env, "SECRET_KEY", "PII_ENCRYPTION_KEYS")

    assert values["SECRET_KEY"] == production_env["SECRET_KEY"]
    assert values["PII_ENCRYPTION_KEYS"] == [production_env["PII_ENCRYPTION_KEYS"]]


def test_email_url_becomes_the_smtp_mailer(production_env):
    values = production_settings(production_env, "MAILERS")

    assert values["MAILERS"]["default"] == {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": "smtp.imigrasi.example.id",
            "port": 587,
            "username": "portal",
            "password": "rahasia",
            "use_tls": True,
            "timeout": 10,
        },
    }


def test_several_encryption_keys_are_read_newest_first(production_env):
    newer = Fernet.generate_key().decode()
    production_env["PII_ENCRYPTION_KEYS"] = f"{newer}, {production_env['PII_ENCRYPTION_KEYS']}"

    values = production_settings(production_env, "PII_ENCRYPTION_KEYS")

    assert values["PII_ENCRYPTION_KEYS"][0] == newer
    assert len(values["PII_ENCRYPTION_KEYS"]) == 2


@pytest.mark.parametrize("missing", ["SECRET_KEY", "PII_ENCRYPTION_KEYS", "PII_BLIND_INDEX_KEY"])
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_without_a_secret_and_debug_off_it_refuses_to_start(production_env, missing, how):
    if how == "unset":
        del production_env[missing]
    else:
        production_env[missing] = "  "

    result = manage(production_env, "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_without_secrets_it_creates_no_development_keys(production_env, tmp_path):
    del production_env["SECRET_KEY"]

    manage(production_env, "check")

    assert not (tmp_path / "var" / "keys").exists()


def test_the_blind_index_key_must_differ_from_the_secret_key(production_env):
    production_env["PII_BLIND_INDEX_KEY"] = production_env["SECRET_KEY"]

    result = manage(production_env, "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "PII_BLIND_INDEX_KEY" in result.stderr


def test_debug_on_runs_with_generated_development_keys(production_env, tmp_path):
    for name in ("SECRET_KEY", "PII_ENCRYPTION_KEYS", "PII_BLIND_INDEX_KEY", "DEV_KEYS"):
        del production_env[name]
    production_env["DEBUG"] = "true"

    result = manage(production_env, "check")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "keys" / "secret_key").exists()
