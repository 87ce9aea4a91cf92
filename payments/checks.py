"""`check --deploy`: the built-in sandbox gateway takes no real money."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def sandbox_gateway_in_production(app_configs, **kwargs):
    if settings.PAYMENT_GATEWAY == "sandbox" and not settings.DEBUG:
        return [
            Error(
                "PAYMENT_GATEWAY is 'sandbox': any citizen could mark a bill paid "
                "on the pretend bank page.",
                hint="Set PAYMENT_GATEWAY=midtrans and MIDTRANS_SERVER_KEY.",
                id="payments.E001",
            )
        ]
    return []
