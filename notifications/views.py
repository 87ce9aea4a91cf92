from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from notifications import receipts, services
from notifications.forms import PreferenceForm
from notifications.models import Notification
from notifications.services import preference_for, preference_update

security_log = logging.getLogger("django.security.notifications")


@csrf_exempt  # machine-to-machine; authenticated by its HMAC signature instead
@require_POST
def sms_receipt(request):
    body = request.body
    try:
        receipts.verify(
            body, request.headers.get("X-Timestamp", ""), request.headers.get("X-Signature", "")
        )
    except receipts.BadSignature as error:
        security_log.warning("rejected SMS delivery receipt: %s", error)
        return HttpResponse(status=401)
    outcome = receipts.apply(body)
    if outcome == "malformed":
        return JsonResponse({"error": "malformed receipt"}, status=400)
    return JsonResponse({"result": outcome})


@login_required
@require_GET
def notification_list(request):
    rows = Notification.objects.for_portal(request.user).order_by("-created_at")
    page = Paginator(rows, 20).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page})


@login_required
@require_POST
def notification_mark_read(request):
    """Mark the given ids read (only the person's own), or all without any `id`."""
    if "id" in request.POST:
        ids = [int(pk) for pk in request.POST.getlist("id") if pk.isdigit()]
        # A list of garbage ids marks nothing; it never turns into "all".
        services.mark_read(user=request.user, notification_ids=ids)
    else:
        services.mark_read(user=request.user)
    messages.success(request, _("Marked as read."))
    page = request.POST.get("page", "")
    url = reverse("notifications:list")
    return redirect(f"{url}?page={page}" if page.isdigit() and page != "1" else url)


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    form = PreferenceForm(
        request.POST if request.method == "POST" else None,
        instance=preference_for(request.user),
    )
    if request.method == "POST" and form.is_valid():
        preference_update(user=request.user, **form.cleaned_data)
        messages.success(request, _("Your notification settings have been saved."))
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form})
