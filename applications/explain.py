"""What each status means for the citizen, and what to do next, in plain words."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from applications.workflow import Status

MEANING = {
    Status.DRAFT: _("You have started this application but not sent it yet."),
    Status.SUBMITTED: _("We have received your application and are checking it."),
    Status.REVISION_REQUESTED: _(
        "An officer asked you to fix something before the application can go on."
    ),
    Status.AWAITING_PAYMENT: _(
        "Your billing code is ready. The fee must be paid before it expires."
    ),
    Status.PAID: _("The fee is paid."),
    Status.SCHEDULED: _("Your interview is booked."),
    Status.INTERVIEWED: _("Your interview and photo are done; the officer is deciding."),
    Status.APPROVED: _("Your application is approved and the document is being made."),
    Status.READY: _("Your document is ready."),
    Status.COMPLETED: _("Your document has been handed over. This application is finished."),
    Status.REJECTED: _("Your application was refused. The reason is shown below."),
    Status.CANCELLED: _("This application was cancelled."),
    Status.EXPIRED: _("The billing code expired before it was paid."),
}

NEXT_STEP = {
    Status.DRAFT: _("Complete the four steps and send the application."),
    Status.SUBMITTED: _(
        "Nothing for now. The billing code follows by email and SMS within minutes."
    ),
    Status.REVISION_REQUESTED: _(
        "Read the officer's note, replace the documents marked below and send it back."
    ),
    Status.AWAITING_PAYMENT: _("Pay the fee with the billing code at a bank, ATM, or app."),
    Status.PAID: _("Book an interview at the office."),
    Status.SCHEDULED: _(
        "Come to the office on the day with your original documents; check in at the kiosk."
    ),
    Status.INTERVIEWED: _("Nothing for now. We will tell you when it is decided."),
    Status.APPROVED: _(
        "Choose whether to collect the document at the office or receive it by post."
    ),
    Status.READY: _(
        "Collect it at the office with your receipt and KTP, or wait for the courier if you "
        "chose delivery."
    ),
    Status.COMPLETED: _("Nothing. Have a good journey."),
    Status.REJECTED: _("You may apply again once the reason has been dealt with."),
    Status.CANCELLED: _("Nothing. You may start a new application at any time."),
    Status.EXPIRED: _("You can ask for a new billing code once within 7 days."),
}

BADGE = {
    Status.DRAFT: "text-bg-secondary",
    Status.SUBMITTED: "text-bg-info",
    Status.REVISION_REQUESTED: "text-bg-warning",
    Status.AWAITING_PAYMENT: "text-bg-warning",
    Status.PAID: "text-bg-primary",
    Status.SCHEDULED: "text-bg-primary",
    Status.INTERVIEWED: "text-bg-primary",
    Status.APPROVED: "text-bg-success",
    Status.READY: "text-bg-success",
    Status.COMPLETED: "text-bg-dark",
    Status.REJECTED: "text-bg-danger",
    Status.CANCELLED: "text-bg-secondary",
    Status.EXPIRED: "text-bg-secondary",
}
