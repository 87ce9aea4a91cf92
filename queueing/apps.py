from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QueueingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "queueing"
    verbose_name = _("Queueing and appointments")

    def ready(self) -> None:
        from applications import verification
        from queueing import receivers, slips  # noqa: F401 (connects receivers)

        verification.register(slips.KIND, slips.verification_lookup)
