"""What other apps may follow without applications depending on them (DESIGN.md)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by `workflow.transition` inside its transaction, after the StatusEvent
# is written: application=, event=. Receivers schedule their work with
# `transaction.on_commit` or write rows in the same transaction.
status_changed = Signal()
