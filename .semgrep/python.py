# Test cases for python.yml beside it, run by `make security` (`semgrep test .semgrep`).
# Deliberately insecure code: bandit and the scan of the tree leave it out, ruff is told below.
# ruff: noqa
# A "ruleid" annotation says the next line must be reported by that rule, "ok" that it must not.
import logging

# ruleid: unsafe-deserialisation
import pickle
import urllib.request

import requests
import yaml
from django.conf import settings
from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger(__name__)
security_log = logging.getLogger("django.security")


def escaping(user, note):
    # ruleid: mark-safe-on-non-literal
    mark_safe(note)
    # ruleid: mark-safe-on-non-literal
    SafeString(f"<b>{user.full_name}</b>")
    # ok: mark-safe-on-non-literal
    mark_safe("<br>")
    # ruleid: format-html-with-interpolated-format
    format_html(f"<b>{note}</b>")
    # ruleid: format-html-with-interpolated-format
    format_html("<b>%s</b>" % note)
    # ruleid: format-html-with-interpolated-format
    format_html(note)
    # ok: format-html-with-interpolated-format
    format_html("<b>{}</b>", note)
    # ok: format-html-with-interpolated-format
    format_html(gettext('Read the <a href="{url}">notice</a>.'), url=note)


# ruleid: csrf-exempt-outside-allowlist
@csrf_exempt
def upload(request):
    return None


# ruleid: csrf-exempt-allowlisted-name-elsewhere
@csrf_exempt
def webhook(request):
    return None


# ruleid: csrf-exempt-outside-allowlist
@method_decorator(csrf_exempt, name="dispatch")
class Upload:
    pass


def sql(office_id, table, order):
    with connection.cursor() as cursor:
        # ruleid: sql-built-by-string-formatting
        cursor.execute(f"SELECT * FROM {table} WHERE office_id = %s", [office_id])
        # ruleid: sql-built-by-string-formatting
        cursor.execute("SELECT * FROM t ORDER BY %s" % order)
        # ruleid: sql-built-by-string-formatting
        cursor.execute("SELECT * FROM t ORDER BY " + order)
        # ok: sql-built-by-string-formatting
        cursor.execute("SELECT * FROM t WHERE office_id = %s", [office_id])
    # ruleid: sql-built-by-string-formatting
    RawSQL("SELECT {}".format(order), [])
    # ruleid: queryset-extra
    return settings.AUTH_USER_MODEL.objects.extra(where=[order])


def logs(user, request, form):
    # ruleid: print-in-app-code
    print(user)
    # ruleid: secret-or-personal-data-in-log
    logger.info("registered %s", user.nik)
    # ruleid: secret-or-personal-data-in-log
    security_log.warning(f"bad login with {form.cleaned_data['email']} / {user.password}")
    # ruleid: secret-or-personal-data-in-log
    logger.debug("reset link token %s", token)
    # ruleid: secret-or-personal-data-in-log-by-key
    logger.error("rejected %s", request.POST["password"])
    # ok: secret-or-personal-data-in-log
    logger.info("registered user %s", user.pk)


# ruleid: debug-true-literal
DEBUG = True


def http(url, data):
    # ruleid: http-call-without-timeout
    requests.get(url)
    # ok: http-call-without-timeout
    requests.post(url, json=data, timeout=10)
    # ruleid: http-call-without-timeout
    urllib.request.urlopen(url)
    # ok: http-call-without-timeout
    urllib.request.urlopen(url, timeout=5)


def load(blob):
    # ruleid: unsafe-deserialisation
    pickle.loads(blob)
    # ruleid: unsafe-deserialisation
    yaml.load(blob)
    # ok: unsafe-deserialisation
    yaml.load(blob, Loader=yaml.SafeLoader)
    # ok: unsafe-deserialisation
    return yaml.safe_load(blob)
