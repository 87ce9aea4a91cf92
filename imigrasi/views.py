from __future__ import annotations

import json
import logging

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from imigrasi import health, ratelimit

csp_log = logging.getLogger("imigrasi.csp")


@require_GET
def home(request):
    return render(request, "home.html")


@require_GET
def privacy(request):
    return render(request, "privacy.html")


@never_cache
@require_GET
def healthz(request):
    healthy, checks = health.report()
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503
    )


@require_GET
def hello(request):
    """A bare view for `make bench`: the floor the home page is compared with."""
    return HttpResponse(b"hello", content_type="text/plain")


def not_found(request, *args, **kwargs):
    raise Http404


def _printable(value, limit: int) -> str:
    # Anyone may post a report: a new line in a field would forge a log line of its own.
    return "".join(c if c.isprintable() else "?" for c in str(value or ""))[:limit]


def _without_query(value) -> str:
    # Page addresses may carry tokens (verification links): only scheme, host and path are kept.
    return _printable(str(value or "").split("?", 1)[0].split("#", 1)[0], 300)


@csrf_exempt
@require_POST
@ratelimit.limit("csp-report")
def csp_report(request):
    """Browsers post Content-Security-Policy violations here; they are logged, never stored."""
    if len(request.body) > 16 * 1024:
        return HttpResponse(status=413)
    try:
        report = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return HttpResponse(status=400)
    if isinstance(report, dict):
        report = report.get("csp-report", report)
    if not isinstance(report, dict):
        return HttpResponse(status=400)
    csp_log.warning(
        "CSP violation: directive=%s blocked=%s page=%s source=%s line=%s",
        _printable(report.get("violated-directive") or report.get("effective-directive"), 100),
        _without_query(report.get("blocked-uri")),
        _without_query(report.get("document-uri")),
        _without_query(report.get("source-file")),
        _printable(report.get("line-number"), 10),
    )
    return HttpResponse(status=204)
