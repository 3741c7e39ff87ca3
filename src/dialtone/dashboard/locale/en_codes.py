"""How English shows the codes stored in records (a call's direction and outcome, a live
call's state, roles): the French catalogues translate the same codes."""

from __future__ import annotations

ENGLISH: dict[str, str] = {
    "inbound": "Inbound",
    "outbound": "Outbound",
    "internal": "Internal",
    "completed": "Completed",
    "answered": "Answered",
    "no-answer": "No answer",
    "busy": "Busy",
    "failed": "Failed",
    "canceled": "Canceled",
    "refused": "Refused",
    "ringing": "Ringing",
    "in-progress": "In progress",
    "voicemail": "Voicemail",
    "administrator": "Administrator",
    "manager": "Manager",
    "user": "User",
    "scheduler": "Scheduler",
    "guest": "Guest",
    "operator": "Operator",
    "public": "Public network",
    "trunk": "Trunk",
    "device": "Device",
    "number": "Number",
    "active": "Active",
    "closed": "Closed",
    "enforced": "Enforced",
}
