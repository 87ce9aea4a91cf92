"""Payment gateways behind one interface (`base.Gateway`)."""

from __future__ import annotations

from django.conf import settings

from payments.gateways.base import Gateway


def get_gateway(name: str | None = None) -> Gateway:
    name = name or settings.PAYMENT_GATEWAY
    if name == "sandbox":
        from payments.gateways.sandbox import SandboxGateway

        return SandboxGateway()
    if name == "midtrans":
        from payments.gateways.midtrans import MidtransGateway

        return MidtransGateway()
    raise ValueError(f"unknown payment gateway {name!r}")
