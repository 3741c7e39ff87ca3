"""Customers' submit_sm, checked and stored on the database thread before they are
answered (durability: a submit_sm_resp with a message id means the message is committed).

Submissions are written by group commit (one transaction, one fsync, for the messages
that arrive together). A refusal by the terms stores nothing (``messages.send`` raises
before it writes) and is put on the audit log in the same transaction, with its code and
rule, as the API does for its refusals; the submit_sm is answered with the status the
code maps to (``status_of``).
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from dialtone.core.errors import DialtoneError
from dialtone.runtime.group_commit import GroupCommit
from dialtone.services.accounts import audit
from dialtone.services.accounts.audit import AuditEntry
from dialtone.services.messaging import messages
from dialtone.services.messaging.rules import MessagingRules
from dialtone.services.numbering import numbers
from dialtone.smpp.constants import CommandStatus

# Reason codes with a more precise command_status than ESME_RSUBMITFAIL (SMPP 3.4 §5.1.3).
_STATUS_OF_CODE: dict[str, int] = {
    "number.invalid": CommandStatus.ESME_RINVDSTADR,
    "sms.sender_not_owned": CommandStatus.ESME_RINVSRCADR,
    "sms.too_long": CommandStatus.ESME_RINVMSGLEN,
    "sms.invalid_encoding": CommandStatus.ESME_RINVDCS,
}


def status_of(code: str) -> int:
    """The submit_sm_resp status for a refusal with reason ``code``: a precise one where
    SMPP has it (a bad destination or source address, a message too long), else
    ``ESME_RSUBMITFAIL``; the code itself goes to the log and the audit log."""
    return _STATUS_OF_CODE.get(code, CommandStatus.ESME_RSUBMITFAIL)


@dataclass(frozen=True, slots=True)
class Login:
    """The SMPP login a bind authenticated as."""

    id: str
    account_id: str
    system_id: str


@dataclass(frozen=True, slots=True)
class Stored:
    """The message was committed ``queued``: answer with its id."""

    message_id: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """The message was refused (nothing stored): the reason code, its rule if a term
    applies, why, and the command_status to answer with."""

    code: str
    rule: str | None
    reason: str
    status: int


@dataclass(slots=True)
class Submission:
    """One whole message from a customer's bind, and (once written) what became of it."""

    login: Login
    sender: str
    recipient: str
    text: str
    registered_delivery: int
    client_reference: str | None
    now: datetime
    result: Stored | Rejected | None = field(default=None)


class SubmissionWriter(GroupCommit[Submission]):
    """Checks and stores submissions in batches; ``write`` returns once committed, the
    submission's ``result`` set."""

    what = "SMPP submissions"

    def __init__(
        self, sessions: sessionmaker[Session], executor: Executor, *, rules: MessagingRules
    ) -> None:
        super().__init__(sessions, executor)
        self.rules = rules

    def write_batch(self, session: Session, items: list[Submission]) -> None:
        """The batch's facts read together (``facts.Facts``: each account's once, the
        recipients' in one query per kind), each submission checked as ``write_one``
        does, the accepted ones written in one statement."""
        batch = messages.Batch.of(session, self.rules)
        recipients: dict[str, list[str]] = {}
        for item in items:
            try:
                to = numbers.to_e164(item.recipient, self.rules.default_country)
            except DialtoneError:
                continue  # refused as it is written, with its reason
            recipients.setdefault(item.login.account_id, []).append(to)
        for account_id, wanted in recipients.items():
            batch.known.prefetch(account_id, wanted)
        for item in items:
            self._write(session, item, batch)
        messages.insert_accepted(session, batch)

    def write_one(self, session: Session, item: Submission) -> None:
        """TERMS M1, M3-M7, M11 (``messages.send``'s checks): store the message
        ``queued`` with the receipt its bind asked for, or audit the refusal."""
        batch = messages.Batch.of(session, self.rules)
        self._write(session, item, batch)
        messages.insert_accepted(session, batch)

    def _write(self, session: Session, item: Submission, batch: messages.Batch) -> None:
        outgoing = messages.Outgoing(
            sender=item.sender,
            to=item.recipient,
            body=item.text,
            origin="smpp",
            smpp_login_id=item.login.id,
            client_reference=item.client_reference,
            smpp_registered_delivery=item.registered_delivery,
        )
        try:
            accepted = messages.accept(
                session, item.login.account_id, outgoing, batch=batch, now=item.now
            )
        except DialtoneError as error:
            item.result = Rejected(error.code, error.rule, error.message, status_of(error.code))
            if error.rule is not None:  # a terms decision, not bad input (as the API)
                entry = AuditEntry.of_error(
                    error,
                    at=item.now,
                    account_id=item.login.account_id,
                    actor=f"smpp:{item.login.system_id}",
                    action="smpp submit_sm",
                )
                audit.record(session, [entry])
            return
        item.result = Stored(accepted.id)
