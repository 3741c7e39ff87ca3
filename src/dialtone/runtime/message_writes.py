"""The messaging runtime's writes done for every part, grouped (``DbWork.run_grouped``):
one call for all the pieces of a kind queued together. Their ranks order the kinds
within a batch: an intent before the acceptance of its part (never in the same batch:
the acceptance waits for the intent's commit, but the order costs nothing), and the
acceptance of a part before its delivery receipt (the carrier answers the submit_sm
before it sends the receipt, so both can be queued together)."""

from __future__ import annotations

from dialtone.services.messaging import delivery
from dialtone.store.messaging_models import Message

from .db_work import Grouped

INTENTS: Grouped[delivery.IntentRecord, None] = Grouped(1, delivery.record_intents, fenced=True)
ACCEPTANCES: Grouped[delivery.Acceptance, None] = Grouped(2, delivery.record_parts)
RECEIPTS: Grouped[delivery.ReceiptIn, Message | None] = Grouped(3, delivery.record_receipts)
