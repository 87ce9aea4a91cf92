from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from applications import verification
        from payments import checks, receipts, receivers  # noqa: F401 (connects receivers, checks)

        verification.register(receipts.KIND, receipts.verification_lookup)
