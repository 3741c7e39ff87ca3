"""Messaging (issue 15): SMS stored before they are acknowledged, checked by the terms
engine's one SMS checklist (TERMS M1, M3-M7, M11), sent through SMPP carriers, with
opt-outs, opt-in records and delivery receipts."""
