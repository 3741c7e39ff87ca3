"""Overload control at the SIP entry: admit a new INVITE, or refuse it at once with 503.

RFC 5390 describes the problem: past its capacity a SIP server that keeps accepting work
answers every call late, the callers retransmit, and the retransmissions are more work,
so the goodput collapses instead of levelling off. The answer is to refuse new calls
early and cheaply (503 with ``Retry-After``, RFC 3261 §21.5.4) while the calls already
taken, and everything inside their dialogs, go on.

This module is the decision only: given the load the runtime measured (how late the
event loop runs, the INVITEs admitted and not yet answered, the database jobs waiting)
and ``now``, it says whether a new INVITE or REGISTER comes in and, if not, the
``Retry-After`` to send. Nothing here reads a clock or draws a random number.

Two mechanisms, each suited to what it watches:

- **A window on setups.** INVITEs admitted and not yet answered beyond 100 Trying never
  exceed ``setups_high``: a new one is refused while the window is full. It is checked
  per INVITE, so a burst is cut at once, before the next measurement, and it clocks
  itself: when the server slows down, setups last longer and fewer are let in. It needs
  no hysteresis, since a refused INVITE takes no slot: a new call comes in exactly when
  one has been answered.
- **An admitted fraction driven by lag and the database queue**, the loss-based control
  of RFC 7339 §5 without its feedback headers (phones and carriers do not speak
  ``Via: oc``). While the lag or the jobs stay at or over their high marks for three
  measurements in a row (a late timer or a slow commit is not an overload),
  the fraction is cut by 30 %, again every ``react`` seconds unless the measures are
  improving while under twice their marks (the last cut is working; another would
  undershoot); once every measure has been under its low mark for ``hold`` seconds it
  is raised by 0.05 per ``react``; in between it stays. The steps were chosen with a
  queue model of the server (admitted calls costing 1, refusals 0.1 to 0.15, offered
  twice and three times the capacity, noisy): they keep the lag under the 500 ms at
  which callers retransmit at twice the capacity, and the goodput within a percent of
  what the cost of refusing allows. The band between the marks, the hold and the
  ``react`` time between steps (a step's effect must reach the measures before the
  next) are the hysteresis: the fraction settles where the server keeps up instead of
  flapping between taking everything and refusing everything. It is applied by a
  credit counter, not by chance, so it is exact and testable (admitting 0.25 lets in
  every fourth INVITE).
"""

from __future__ import annotations

from dataclasses import dataclass

# How much of the admitted fraction a step down keeps, and what a step up adds.
DECREASE = 0.7
INCREASE = 0.05
# Measurements in a row at or over a high mark before the fraction is cut.
SUSTAINED = 3
# How far over its mark (a multiple) a measure must be for the fraction to be cut even
# while it improves: a queue draining too slowly still makes callers retransmit.
FAR = 2.0
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class OverloadLimits:
    """The marks and timings of the controller (seconds, counts)."""

    lag_high: float = 0.25
    lag_low: float = 0.08
    setups_high: int = 300
    setups_low: int = 150
    jobs_high: int = 300
    jobs_low: int = 60
    hold: float = 1.0
    # The least time between two steps of the admitted fraction: a step's effect must
    # reach the measures before the next one, or the fraction overshoots.
    react: float = 0.3
    # The fraction never goes below this: some calls still come in however bad the
    # measures are, so the server keeps learning whether it has recovered.
    min_admit: float = 0.05
    retry_after: int = 2

    def __post_init__(self) -> None:
        if not 0 <= self.lag_low <= self.lag_high or self.lag_high <= 0:
            raise ValueError("overload: need 0 <= lag_low <= lag_high, 0 < lag_high")
        if not 0 <= self.setups_low <= self.setups_high or self.setups_high < 1:
            raise ValueError("overload: need 0 <= setups_low <= setups_high, 1 <= setups_high")
        if not 0 <= self.jobs_low <= self.jobs_high or self.jobs_high < 1:
            raise ValueError("overload: need 0 <= jobs_low <= jobs_high, 1 <= jobs_high")
        if not 0 < self.min_admit <= 1:
            raise ValueError("overload: need 0 < min_admit <= 1")
        if self.retry_after < 0 or self.hold < 0 or self.react < 0:
            raise ValueError("overload: retry_after, hold and react are not negative")


@dataclass(frozen=True, slots=True)
class Load:
    """One measurement: the event loop's lag (s), INVITEs admitted and not yet answered,
    database jobs waiting."""

    lag: float
    setups: int
    jobs: int


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a request comes in; when not, the ``Retry-After`` (s) of its 503."""

    admit: bool
    retry_after: int = 0


ADMIT = Admission(True)


@dataclass(frozen=True, slots=True)
class Summary:
    """What was shed since the last summary, for one log line."""

    seconds: float
    invites: int
    registers: int
    max_lag: float
    admitting: float


class OverloadController:
    """Admits or sheds new INVITEs (and REGISTERs) from measured load; see the module."""

    def __init__(self, limits: OverloadLimits, *, now: float | None = None) -> None:
        self.limits = limits
        self.admitting = 1.0  # the fraction of new INVITEs let in
        self._credit = 0.0
        self._last_over = float("-inf")
        self._last_step = float("-inf")
        self._over_in_a_row = 0
        self._severity_at_cut = 0.0
        self._spread = 0
        self.load = Load(0.0, 0, 0)
        # Since the last summary (its period starts at the first measurement when no
        # ``now`` is given).
        self._summary_at = now
        self._shed_invites = 0
        self._shed_registers = 0
        self._max_lag = 0.0

    @property
    def shedding(self) -> bool:
        """Whether new INVITEs are being refused (the admitted fraction is below 1)."""
        return self.admitting < 1.0

    def over(self, load: Load) -> bool:
        """Whether the lag or the database jobs are at or over their high marks (setups
        have their window instead)."""
        limits = self.limits
        return load.lag >= limits.lag_high or load.jobs >= limits.jobs_high

    def under(self, load: Load) -> bool:
        """Whether every measure is under its low mark."""
        limits = self.limits
        return (
            load.lag < limits.lag_low
            and load.setups < limits.setups_low
            and load.jobs < limits.jobs_low
        )

    def observe(self, load: Load, now: float) -> None:
        """Take one measurement and step the admitted fraction (at most once per
        ``react`` seconds): down while over a high mark for :data:`SUSTAINED`
        measurements in a row, up once every measure has been under its low mark for
        ``hold`` seconds, unchanged in between."""
        self.load = load
        self._max_lag = max(self._max_lag, load.lag)
        limits = self.limits
        if self.over(load):
            self._over_in_a_row += 1
            self._last_over = now
            severity = max(load.lag / limits.lag_high, load.jobs / limits.jobs_high)
            if (
                self._over_in_a_row >= SUSTAINED
                and now - self._last_step >= limits.react
                and self.admitting > limits.min_admit
                # While the measures improve the last cut is working: the queue drains
                # at the fraction taken, and a further cut would only undershoot.
                and (severity >= self._severity_at_cut or severity >= FAR)
            ):
                self._severity_at_cut = severity
                if self.admitting >= 1.0:
                    # The first INVITE after the first cut still comes in: shedding
                    # starts with the share it must, not with a refusal.
                    self._credit = 1.0
                self.admitting = max(limits.min_admit, self.admitting * DECREASE)
                self._last_step = now
            return
        self._over_in_a_row = 0
        self._severity_at_cut = 0.0
        if (
            self.under(load)
            and self.admitting < 1.0
            and now - self._last_over >= limits.hold
            and now - self._last_step >= limits.react
        ):
            self.admitting = min(1.0, self.admitting + INCREASE)
            self._last_step = now
            if self.admitting >= 1.0:
                self._credit = 0.0

    def admit_invite(self, setups: int) -> Admission:
        """A new (out-of-dialog) INVITE, ``setups`` being those admitted and not yet
        answered: in while the admitted fraction allows and they stay under their high
        mark."""
        if setups >= self.limits.setups_high:
            return self._shed_invite()
        if self.admitting >= 1.0:
            return ADMIT
        self._credit += self.admitting
        if self._credit >= 1.0 - _EPSILON:  # sums of tenths are not exact in binary
            self._credit -= 1.0
            return ADMIT
        return self._shed_invite()

    def admit_register(self, jobs: int) -> Admission:
        """A REGISTER: refused only while the database, which every registration writes
        to, has its high mark of jobs waiting. A refreshed binding is what lets calls
        reach a phone, and a phone refused keeps its old binding until it expires, so it
        comes before new calls; but a storm of registrations (every phone of a site after
        an outage, RFC 5390 §3.1) must not bury the database."""
        if jobs >= self.limits.jobs_high:
            self._shed_registers += 1
            return Admission(False, self._retry_after())
        return ADMIT

    def _shed_invite(self) -> Admission:
        self._shed_invites += 1
        return Admission(False, self._retry_after())

    def _retry_after(self) -> int:
        # Spread from retry_after to twice it, in turn: callers told the same second
        # would all come back together (RFC 5390 §5).
        base = self.limits.retry_after
        value = base + self._spread
        self._spread = (self._spread + 1) % (base + 1)
        return value

    def summary(self, now: float, every: float) -> Summary | None:
        """What was shed in the last ``every`` seconds, once per ``every`` seconds while
        anything is (None otherwise); called at every measurement."""
        if self._summary_at is None:
            self._summary_at = now
        if not (self._shed_invites or self._shed_registers):
            # Nothing shed: the next summary's period starts now, so its first line comes
            # ``every`` seconds after shedding began and speaks of those seconds.
            self._summary_at = now
            self._max_lag = 0.0
            return None
        if now - self._summary_at < every:
            return None
        out = Summary(
            seconds=now - self._summary_at,
            invites=self._shed_invites,
            registers=self._shed_registers,
            max_lag=self._max_lag,
            admitting=self.admitting,
        )
        self._summary_at = now
        self._shed_invites = self._shed_registers = 0
        self._max_lag = 0.0
        return out
