"""Route resolution: who a call rings, as the bridge's steps.

A user's registered devices (one step, all at once), a ring group's members who can take
a call now (V2; all at once or one after another), the account's trunks (a step each,
failover on 408/5xx), the voicemail box a ringing call falls to; the names parties are
shown by. Reads only; starting the call is ``routes.Router``'s.
"""

from __future__ import annotations

import logging
import socket

from sqlalchemy.orm import Session

from dialtone.core.errors import NotFound
from dialtone.policy import call_setup
from dialtone.services.telephony import routing as routing_service
from dialtone.services.telephony import trunks as trunk_service
from dialtone.services.telephony import users as user_service
from dialtone.services.telephony.greetings import default_voicemail_greeting_path
from dialtone.sip.errors import SipParseError
from dialtone.sip.headers import NameAddress
from dialtone.sip.message import Request
from dialtone.sip.uri import SipUri, parse_uri
from dialtone.store.sealed import SealError

from .auth import SipUser
from .b2bua import (
    BridgedCall,
    Credentials,
    Destination,
    Leg,
    MessageBox,
    Step,
    trunk_failover,
)
from .engine_context import (
    EngineContext,
    TrunkInfo,
    format_number,
    sip_user,
    trace_of,
    trunk_info,
)

log = logging.getLogger("dialtone.engine")


def reached_as(user: SipUser) -> str:
    """The user part a user is called at in To: the SIP username, else the extension,
    else the user id; never empty (a user with no SIP username got ``<sip:@host>``)."""
    return user.sip_username or user.extension or user.id


class Steps:
    """Who a call rings, as steps: a user's registered devices, a ring group's members,
    the account's trunks (one step each, failover between them), a voicemail box; and how
    a party is shown to another."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self._resolved: dict[str, str] = {}

    # -- ringing users ----------------------------------------------------------------

    async def device_destinations(
        self, callee: SipUser, caller_name: NameAddress
    ) -> list[Destination]:
        """The callee's registered devices as destinations: each contact, reached at its
        binding's target (through its Path's first hop when it registered through an
        edge, the Path as Route: RFC 3327)."""
        out: list[Destination] = []
        for binding in await self.ctx.registrar.reachable(callee.id):
            channel = self.ctx.channels.get(binding.transport)
            if channel is None:
                continue
            try:
                uri = parse_uri(binding.contact)
            except SipParseError:
                continue
            # The request goes to the registered contact; To names the user at an address
            # of ours that is valid even without a SIP username (``sip:@host`` is none).
            to = NameAddress(
                SipUri("sip", host=self.ctx.config.advertised_host, user=reached_as(callee))
            )
            out.append(
                Destination(
                    uri=uri,
                    channel=channel,
                    peer=binding.target(),
                    to=to,
                    caller=caller_name,
                    trace=trace_of(
                        "device", callee.id, channel, binding.source, binding.user_agent
                    ),
                    user_id=callee.id,
                    extra_headers=binding.route(),
                )
            )
        return out

    def caller_address(self, request: Request, caller: SipUser | None) -> NameAddress:
        user = getattr(request.from_.uri, "user", None) or "anonymous"
        display = request.from_.display_name
        if caller is not None:
            display = caller.name
            user = caller.extension or caller.sip_username
        return NameAddress(SipUri("sip", host=self.ctx.config.advertised_host, user=user), display)

    async def group_steps(
        self, account_id: str, group_id: str, caller_name: NameAddress
    ) -> list[Step]:
        """The steps that ring a group's members who can take a call now (V2): all at
        once, or one after another (``sequential``)."""
        group = await self.ctx.read(
            lambda s: routing_service.get_ring_group(s, account_id, group_id)
        )
        members = await self.ctx.read(
            lambda s: [sip_user(u, s) for u in routing_service.group_members(s, group_id)]
        )
        reachable = [m for m in members if m is not None and m.can_take_calls]
        active = await self.ctx.active_of([m.id for m in reachable])
        per_member = [
            await self.device_destinations(m, caller_name)
            for m, calls in zip(reachable, active, strict=True)
            if call_setup.user_concurrency(calls, m.channels).allowed
        ]
        seconds = float(group.member_seconds)
        if group.strategy == "sequential":
            steps = [Step(d, seconds) for d in per_member if d]
        else:
            steps = [Step([d for ds in per_member for d in ds], seconds)]
        return [s for s in steps if s.destinations]

    async def voicemail_box(self, account_id: str, number: str, user_id: str | None) -> MessageBox:
        """``user_id``'s voicemail box for calls to ``number`` (None: the number's own):
        the user's greeting, else the packaged one."""
        greeting_name = None
        if user_id is not None:
            greeting_name = await self.ctx.read(
                lambda s: getattr(
                    user_service.get_user(s, account_id, user_id), "voicemail_greeting", None
                )
            )
        greeting = (
            self.ctx.config.greetings_dir / greeting_name
            if greeting_name
            else default_voicemail_greeting_path()
        )
        return MessageBox(
            account_id,
            user_id,
            number,
            self.ctx.config.voicemail_dir / account_id,
            greeting,
            self.ctx.config.voicemail_max_seconds,
        )

    # -- outbound ---------------------------------------------------------------------

    async def trunk_steps(
        self, account_id: str, number: str, caller_id: str, trace_account: str | None = None
    ) -> tuple[list[Step], list[TrunkInfo]]:
        trunks = await self.ctx.cached(
            ("outbound", account_id),
            lambda s: [trunk_info(t) for t in trunk_service.outbound_trunks(s, account_id)],
        )
        steps: list[Step] = []
        infos: list[TrunkInfo] = []
        for trunk in trunks:
            if trunk is None:
                continue
            channel = self.ctx.channels.get(trunk.transport)
            if channel is None:
                continue
            try:
                host = await self.resolve_host(trunk.host)
            except OSError as exc:
                log.warning("trunk %s: cannot resolve %s (%s)", trunk.id, trunk.host, exc)
                continue
            peer = (host, trunk.port)
            callee = format_number(number, trunk.caller_id_format)
            shown = format_number(caller_id, trunk.caller_id_format)
            uri = SipUri("sip", host=trunk.host, port=trunk.port, user=callee)
            credentials = self.trunk_credentials(trunk)
            destination = Destination(
                uri=uri,
                channel=channel,
                peer=peer,
                to=NameAddress(SipUri("sip", host=trunk.host, user=callee)),
                caller=NameAddress(SipUri("sip", host=self.ctx.config.advertised_host, user=shown)),
                trace={
                    "kind": "trunk",
                    "id": trunk.id,
                    "source": f"{channel.name}:{peer[0]}:{peer[1]}",
                    "user_agent": None,
                },
                credentials=credentials,
            )
            steps.append(Step([destination], None, trunk_failover))
            infos.append(trunk)
        return steps, infos

    def trunk_credentials(self, trunk: TrunkInfo) -> Credentials | None:
        """The credentials a leg answers the trunk's digest challenge with, as the
        trunk's registration does: ``auth_username`` else ``username``. The engine's only
        place to open the sealed password (never logged); the registration opens it for
        its own challenges."""
        name = trunk.auth_username or trunk.username
        if not name:
            return None
        password = ""
        if trunk.password_sealed is not None and self.ctx.config.sealing_key is not None:
            try:
                opened = trunk_service.open_password(
                    trunk.id, trunk.password_sealed, self.ctx.config.sealing_key
                )
            except SealError:
                log.warning("trunk %s: its password does not open with this key", trunk.id)
            else:
                password = opened or ""
        return Credentials(name, password)

    async def resolve_host(self, host: str) -> str:
        cached = self._resolved.get(host)
        if cached is not None:
            return cached
        infos = await self.ctx.loop.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
        address = str(infos[0][4][0])
        self._resolved[host] = address
        return address

    async def party_address(self, call: BridgedCall, leg: Leg | None, side: int) -> NameAddress:
        """How a party of ``call`` is shown to another: a user by extension (and name),
        anyone else by the call's number on that side (0 the caller, 1 the callee)."""
        host = self.ctx.config.advertised_host
        user_id = leg.user_id if leg is not None else None
        if user_id is not None:
            account_id = call.account_id

            def read(session: Session) -> tuple[str, str | None] | None:
                try:
                    user = user_service.get_user(session, account_id, user_id)
                except NotFound:
                    return None  # deleted since the call began
                return (user.extension or user.sip_username or user_id, user.name)

            found = await self.ctx.read(read)
            if found is not None:
                return NameAddress(SipUri("sip", host=host, user=found[0]), found[1])
        number = call.from_number if side == 0 else call.to_number
        return NameAddress(SipUri("sip", host=host, user=number))
