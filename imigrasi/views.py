from __future__ import annotations

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from imigrasi import health


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
