"""TERMS V8 on a bridged call: the notice to both parties, then both legs to one stereo
file; the crash note kept current (D5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dialtone.call import actions as act
from dialtone.call.actions import Action
from dialtone.policy import recording as recording_policy

if TYPE_CHECKING:
    from dialtone.call.call import Call


def start_recording(call: Call) -> list[Action]:
    """TERMS V8: both legs to one stereo WAV. Under "notice", and under "one_party"
    where a party's place wants every party's consent, both parties hear the notice
    first and nothing is recorded before it has played in full."""
    plan = call.recording
    assert plan is not None
    if plan.policy == "one_party":
        # An extension places no one: an unknown place, which wants the notice.
        parties = (
            recording_policy.Party(call.spec.from_number),
            recording_policy.Party(call.spec.to_number),
        )
        if recording_policy.recording(parties, notice_played=False).allowed:
            return record_now(call)
    call.notice_ref = call._ref()
    return [act.Play((0, 1), plan.notice, call.notice_ref, beep=False)]


def record_now(call: Call) -> list[Action]:
    plan = call.recording
    if plan is None or call.ended:
        return []  # a party objected during the notice
    call.recording_path = plan.path
    return [act.StartRecording(plan.path, call.audio, call.facts())]


def facts_changed(call: Call) -> list[Action]:
    """A leg, the trunk or the user of a recorded call changed: its note says so now
    (D5: an interrupted call's record says what the finished one would)."""
    if call.recording_path is None or call.ended:
        return []
    return [act.NoteFacts(call.facts())]
