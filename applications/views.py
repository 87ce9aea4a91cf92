"""Citizen pages: catalogue, the four-step form, my applications, downloads."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from applications import explain, forms, pagecache, services, workflow
from applications.access import application_for_citizen, document_for
from applications.models import Application, Person, Requirement, Service, StatusEvent
from applications.workflow import Status
from imigrasi import ratelimit
from imigrasi.errors import ServiceError, add_to_form

# Lazy: translated per request, in the visitor's language.
STEPS = [
    (1, pgettext_lazy("form step", "Applicant")),
    (2, gettext_lazy("Application details")),
    (3, gettext_lazy("Documents")),
    (4, gettext_lazy("Check and send")),
]


# --- Catalogue ----------------------------------------------------------------


def catalogue(request):
    today = timezone.localdate()
    services_ = list(Service.objects.active().prefetch_related("tariffs"))
    groups = []
    for value, label in Service.Category.choices:
        items = [
            (s, sum(t.amount for t in s.tariffs.all() if t.in_force_on(today)))
            for s in services_
            if s.category == value
        ]
        if items:
            groups.append((label, items))
    return render(request, "applications/catalogue.html", {"groups": groups})


def service_detail(request, code: str):
    service = get_object_or_404(Service.objects.active(), code=code)
    today = timezone.localdate()
    tariffs = list(service.tariffs_on(today))
    return render(
        request,
        "applications/service.html",
        {
            "service": service,
            "requirements": service.requirements.all(),
            "tariffs": tariffs,
            "fee": sum(t.amount for t in tariffs) if tariffs else None,
        },
    )


# --- Starting -------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def start(request, code: str):
    service = get_object_or_404(Service.objects.active(), code=code)
    form = forms.StartForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            application = services.application_start(
                user=request.user,
                service=service,
                office=form.cleaned_data["office"],
                person=form.cleaned_data["person"],
            )
        except ServiceError as error:
            add_to_form(form, error)
        else:
            if application.office_id != form.cleaned_data["office"].pk:
                messages.info(
                    request,
                    _(
                        "You already have a draft of this application at %(office)s; it is "
                        "continued here. Cancel it first to apply at another office."
                    )
                    % {"office": application.office.name},
                )
            return redirect("applications:step", application.reference, application.step_reached)
    return render(request, "applications/start.html", {"service": service, "form": form})


# --- The four steps ---------------------------------------------------------------


def _step_context(application: Application, step: int, **extra) -> dict:
    return {
        "application": application,
        "steps": STEPS,
        "step": step,
        "step_reached": application.step_reached,
        **extra,
    }


def _draft_or_detail(request, reference: str):
    application = application_for_citizen(request.user, reference)
    if application.status != Status.DRAFT:
        messages.info(request, _("This application has been sent and can no longer be changed."))
        return application, redirect(application)
    return application, None


@login_required
@require_http_methods(["GET", "POST"])
def step(request, reference: str, number: int):
    application, elsewhere = _draft_or_detail(request, reference)
    if elsewhere:
        return elsewhere
    if number not in (1, 2, 3, 4):
        raise Http404
    if number > application.step_reached:
        return redirect("applications:step", reference, application.step_reached)
    return {1: _step_applicant, 2: _step_details, 3: _step_documents, 4: _step_review}[number](
        request, application
    )


def _step_applicant(request, application):
    form = forms.ApplicantForm(
        request.POST if request.method == "POST" else None,
        application=application,
        initial=forms.ApplicantForm.initial_for(application),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.application_save_applicant(application=application, data=form.cleaned_data)
        except ServiceError as error:
            add_to_form(form, error)
        else:
            return _after_save(request, application, 1)
    return render(
        request, "applications/step_applicant.html", _step_context(application, 1, form=form)
    )


def _step_details(request, application):
    form = forms.DetailsForm(
        request.POST if request.method == "POST" else None,
        service=application.service,
        initial=forms.DetailsForm.initial_for(application),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.application_save_details(application=application, data=form.cleaned_data)
        except ServiceError as error:
            add_to_form(form, error)
        else:
            return _after_save(request, application, 2)
    return render(
        request, "applications/step_details.html", _step_context(application, 2, form=form)
    )


def _after_save(request, application, number: int):
    if "save_exit" in request.POST:
        messages.success(request, _("Your draft is saved. You can continue it later."))
        return redirect("applications:dashboard")
    return redirect("applications:step", application.reference, number + 1)


def _document_rows(application, bound: dict | None = None):
    uploaded = {d.requirement_id: d for d in application.documents.all()}
    rows = []
    for requirement in application.service.requirements.all():
        form = (bound or {}).get(requirement.pk) or forms.DocumentForm(requirement=requirement)
        rows.append((requirement, uploaded.get(requirement.pk), form))
    return rows


def _step_documents(request, application, bound=None, status=200):
    if request.method == "POST" and bound is None:
        if "save_exit" in request.POST:
            messages.success(request, _("Your draft is saved. You can continue it later."))
            return redirect("applications:dashboard")
        required = application.service.requirements.filter(is_required=True).count()
        if application.documents.count() < required:
            messages.error(request, _("Upload every required document first."))
        else:
            Application.objects.filter(pk=application.pk, step_reached__lt=4).update(step_reached=4)
            pagecache.touch(application.pk)
            return redirect("applications:step", application.reference, 4)
    return render(
        request,
        "applications/step_documents.html",
        _step_context(application, 3, rows=_document_rows(application, bound)),
        status=status,
    )


@login_required
@require_POST
# Per account, not per address: many citizens share one mobile-carrier address.
@ratelimit.limit("upload", per="user")
def document_upload(request, reference: str, requirement_id: int):
    application = application_for_citizen(request.user, reference)
    requirement = get_object_or_404(
        Requirement, pk=requirement_id, service_id=application.service_id
    )
    form = forms.DocumentForm(request.POST, request.FILES, requirement=requirement)
    if form.is_valid():
        try:
            services.document_upload(
                application=application, requirement=requirement, upload=form.cleaned_data["file"]
            )
        except ServiceError as error:
            form.add_error("file", error.message)
        else:
            messages.success(request, _("“%(name)s” is uploaded.") % {"name": requirement.name})
            if application.status == Status.DRAFT:
                return redirect("applications:step", reference, 3)
            return redirect(application)
    if application.status != Status.DRAFT:
        return application_detail(
            request,
            reference,
            bound={requirement.pk: form},
            status=400,
            upload_error=_("%(name)s: %(error)s")
            % {"name": requirement.name, "error": " ".join(form.errors.get("file", []))},
        )
    return _step_documents(request, application, bound={requirement.pk: form}, status=400)


def _step_review(request, application):
    form = forms.SubmitForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            sent = services.application_submit(
                application=application,
                by=request.user,
                declaration=form.cleaned_data["declaration"],
            )
        except ServiceError as error:
            add_to_form(form, error)
        else:
            if sent:
                messages.success(
                    request,
                    _("Your application %(reference)s is sent. The receipt will arrive by email.")
                    % {"reference": application.reference},
                )
            return redirect(application)
    today = timezone.localdate()
    return render(
        request,
        "applications/step_review.html",
        _step_context(
            application,
            4,
            form=form,
            missing=services.missing_items(application),
            documents=application.documents.select_related("requirement"),
            tariffs=application.service.tariffs_on(today),
            fee=application.service.fee_on(today),
        ),
    )


# --- My applications -----------------------------------------------------------------


@login_required
def dashboard(request):
    applications = (
        Application.objects.for_applicant(request.user)
        .select_related("service", "office")
        .order_by("-updated_at")
    )
    drafts = [a for a in applications if a.status == Status.DRAFT]
    others = [a for a in applications if a.status != Status.DRAFT]
    return render(
        request,
        "applications/dashboard.html",
        {"drafts": drafts, "applications": others, "badges": explain.BADGE},
    )


@login_required
def application_detail(request, reference: str, bound=None, status=200, upload_error=""):
    fresh = bool(bound or upload_error)
    state, bell = (None, None) if fresh else pagecache.state_for(request.user.pk, reference)
    application = None
    if state is None:
        application = application_for_citizen(request.user, reference)
        state = pagecache.remember_state(application)
    key = None if fresh else pagecache.page_key(request, state, bell=bell)
    if key:
        cached = pagecache.get_page(key)
        if cached is not None:
            return HttpResponse(cached)
    if application is None:
        application = application_for_citizen(request.user, reference)
    response = _render_detail(request, application, bound, status, upload_error)
    if key and response.status_code == 200:
        pagecache.set_page(key, response.content)
    return response


def _render_detail(request, application, bound, status, upload_error):
    events = list(StatusEvent.objects.filter(application=application).order_by("at", "pk"))
    documents = application.documents.select_related("requirement")
    can_cancel = Status.CANCELLED in workflow.targets_from(application.status, workflow.CITIZEN)
    rows = _document_rows(application, bound) if application.documents_editable else None
    return render(
        request,
        "applications/detail.html",
        {
            "application": application,
            "events": [(e, explain.MEANING.get(e.to_status, "")) for e in events],
            "meaning": explain.MEANING[application.status],
            "next_step": explain.NEXT_STEP[application.status],
            "badge": explain.BADGE[application.status],
            "documents": documents,
            "rows": rows,
            "can_cancel": can_cancel,
            "upload_error": upload_error,
            "has_receipt": hasattr(application, "receipt"),
            "delivery_open": application.status in {Status.APPROVED, Status.READY}
            and not application.tracking_number,
            "expected": application.due_date,
        },
        status=status,
    )


@login_required
@require_POST
def resubmit(request, reference: str):
    application = application_for_citizen(request.user, reference)
    try:
        services.application_resubmit(application=application, by=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your revision is sent. An officer will check it again."))
    return redirect(application)


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request, reference: str):
    application = application_for_citizen(request.user, reference)
    if request.method == "POST":
        try:
            services.application_cancel(application=application, by=request.user)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The application is cancelled."))
        return redirect(application)
    return render(request, "applications/cancel.html", {"application": application})


@login_required
@require_http_methods(["GET", "POST"])
def delivery(request, reference: str):
    application = application_for_citizen(request.user, reference)
    form = forms.DeliveryForm(
        request.POST if request.method == "POST" else None,
        initial={
            "delivery_method": application.delivery_method or Application.Delivery.PICKUP,
            "delivery_address": application.delivery_address or request.user.address,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.delivery_choose(
                application=application,
                by=request.user,
                method=form.cleaned_data["delivery_method"],
                address=form.cleaned_data["delivery_address"],
            )
        except ServiceError as error:
            add_to_form(form, error)
        else:
            messages.success(request, _("Your choice is saved."))
            return redirect(application)
    return render(request, "applications/delivery.html", {"application": application, "form": form})


# --- Files --------------------------------------------------------------------------


def private_file_response(file_field, *, filename: str, content_type: str):
    """A private file as an attachment: nosniff, no-store; nginx sends it in production."""
    if settings.PRIVATE_FILES_ACCEL_PREFIX:
        from django.http import HttpResponse

        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = (
            settings.PRIVATE_FILES_ACCEL_PREFIX.rstrip("/") + "/" + (file_field.name)
        )
    else:
        try:
            handle = file_field.open("rb")
        except (FileNotFoundError, ValueError):
            raise Http404 from None
        response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store, private"
    return response


@login_required
def document_download(request, reference: str, document_id: int):
    document = document_for(request.user, reference, document_id)
    if document.is_purged:  # deleted after the retention period (applications.retention)
        raise Http404
    filename = f"{document.application.reference}-{document.requirement_id}.{document.extension}"
    return private_file_response(
        document.file, filename=filename, content_type=document.content_type
    )


@login_required
def receipt_download(request, reference: str):
    application = application_for_citizen(request.user, reference)
    receipt = getattr(application, "receipt", None)
    if receipt is None:
        raise Http404
    return private_file_response(
        receipt.file,
        filename=f"tanda-terima-{application.reference}.pdf",
        content_type="application/pdf",
    )


# --- Family members -------------------------------------------------------------------


@login_required
def family(request):
    persons = Person.objects.filter(owner=request.user).exclude(
        relationship=Person.Relationship.SELF
    )
    return render(
        request,
        "applications/family.html",
        {
            "persons": persons,
            "can_add": persons.count() < Person.MAX_FAMILY,
            "max": Person.MAX_FAMILY,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def family_edit(request, person_id: int | None = None):
    person = None
    if person_id is not None:
        person = get_object_or_404(
            Person.objects.exclude(relationship=Person.Relationship.SELF),
            pk=person_id,
            owner=request.user,
        )
    initial = forms.PersonForm.initial_for(person) if person else None
    form = forms.PersonForm(
        request.POST if request.method == "POST" else None, initial=initial, person=person
    )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                services.person_save(owner=request.user, data=form.cleaned_data, person=person)
        except (ServiceError, ValidationError) as error:
            add_to_form(form, error)
        else:
            messages.success(request, _("Saved."))
            target = request.POST.get("next", "")
            if not url_has_allowed_host_and_scheme(
                target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                target = "applications:family"
            return redirect(target)
    return render(request, "applications/family_edit.html", {"form": form, "person": person})


@login_required
@require_POST
def family_delete(request, person_id: int):
    person = get_object_or_404(Person, pk=person_id, owner=request.user)
    try:
        services.person_delete(owner=request.user, person=person)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Removed."))
    return redirect("applications:family")
