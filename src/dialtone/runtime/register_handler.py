"""REGISTER as the engine answers it (the bindings themselves are ``registrar``'s)."""

from __future__ import annotations

import logging

from dialtone.policy import dialing_patterns
from dialtone.policy.decision import refuse
from dialtone.sip.endpoint import RequestReceived

from .auth import Authenticator
from .engine_context import EngineContext, client_of
from .transports import SipChannel

log = logging.getLogger("dialtone.engine")


class Registrations:
    """REGISTER: digest authentication, one's own address only (RFC 3261 §10.3), V3 (no
    PBX or dialer behind a user account), then the registrar's bindings."""

    def __init__(self, ctx: EngineContext, auth: Authenticator) -> None:
        self.ctx = ctx
        self.auth = auth

    # -- REGISTER ---------------------------------------------------------------------

    async def on_register(self, event: RequestReceived, channel: SipChannel) -> None:
        request = event.request
        # Behind an edge, the phone's own address: failures are counted against it, and
        # the binding names it (V11); requests reach it through the REGISTER's Path.
        client = client_of(event, channel, self.ctx.config)
        outcome = await self.auth.authenticate(request, client.host)
        user = outcome.user
        if user is None:
            self.ctx.reply(event, channel, outcome.status, outcome.headers)
            return
        aor_user = getattr(request.to.uri, "user", None)
        if aor_user != user.sip_username:
            # One may only register one's own address (RFC 3261 §10.3 step 4).
            warning = f'399 dialtone "{user.sip_username} may not register {aor_user}"'
            self.ctx.reply(event, channel, 403, (("Warning", warning),))
            return
        user_agent = request.headers.get("User-Agent")
        pbx = dialing_patterns.pbx_agent(user_agent)
        if pbx is not None:
            # V3: a user account is for its user; a PBX or dialer registering behind it is
            # refused (it would put a switchboard or robocalls on an unlimited plan).
            refusal = refuse(
                "access.shared_or_pbx",
                f"{user_agent} is a PBX or dialer: a user account is used by its user only",
                user_agent=user_agent,
                matched=pbx,
            )
            await self.ctx.refuse(
                event,
                channel,
                refusal,
                account_id=user.account_id,
                actor=f"user:{user.id}",
                action="register",
            )
            return
        result = await self.ctx.registrar.register(
            user.id, request, source=client.address, transport=channel.name
        )
        if result.status == 200 and result.changed:
            log.info(
                "user %s registered %d contact(s) via %s %s:%d%s",
                user.sip_username,
                len(result.bindings),
                client.transport,
                *client.address,
                f" (edge {event.source[0]}:{event.source[1]})" if client.via_edge else "",
            )
        self.ctx.reply(event, channel, result.status, result.headers)
