"""Programmable voice (issue 16), put together for ``serve``: the speech engines, the
TwiML fetcher and task handlers, the engine behind the Twilio-compatible Calls resource,
the numbers whose ``VoiceUrl`` runs TwiML, and what calls do with their audio (media
streams, speech recognition, silence). Built once; ``aclose`` releases it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from dialtone.call.spec import CallSpec
from dialtone.services.accounts import twilio_signing
from dialtone.services.accounts.webhook_targets import check_url
from dialtone.services.accounts.webhooks import enqueue_twilio
from dialtone.services.telephony.routing import VoiceUrls
from dialtone.services.twilio import auth_tokens
from dialtone.settings import Settings
from dialtone.speech import engines
from dialtone.speech.prompt_cache import PromptCache
from dialtone.speech.recognizer import Recognizer
from dialtone.speech.transcriber import AsyncRecognizer
from dialtone.store.agent_models import AgentProfileRow
from dialtone.store.db import transaction
from dialtone.store.models import Account

from .agent_calls import AgentCalls, AgentTasks
from .call_audio import CallAudio, SpeechKit
from .engine import CallEngine
from .guarded_http import guarded_client
from .twilio_calls import TwilioCalls
from .twiml_fetch import TwimlFetcher
from .twiml_voice import TwimlPlaces, TwimlTasks

if TYPE_CHECKING:
    from .server import SipRuntime

log = logging.getLogger("dialtone.twiml")


def token_of(sessions: sessionmaker[Session], key: bytes, account_id: str) -> str | None:
    """The account's auth token now (what its webhooks are signed with)."""
    with transaction(sessions) as session:
        account = session.get(Account, account_id)
        return None if account is None else auth_tokens.current_token(key, account)


@dataclass
class Programmable:
    """What ``start_programmable`` built, for the API and for closing."""

    calls: TwilioCalls
    tasks: TwimlTasks
    fetcher: TwimlFetcher
    http: httpx.AsyncClient
    agents: AgentCalls

    async def aclose(self) -> None:
        await self.agents.aclose()
        await self.tasks.close()
        await self.fetcher.close()
        await self.http.aclose()


async def start_programmable(
    settings: Settings, sessions: sessionmaker[Session], sip: SipRuntime
) -> Programmable:
    """TwiML and the Twilio-compatible Calls on ``sip``'s call engine."""
    key = settings.sealing_key()
    db: ThreadPoolExecutor = sip.db
    loop = asyncio.get_running_loop()

    async def token(account_id: str) -> str | None:
        return await loop.run_in_executor(db, token_of, sessions, key, account_id)

    policy = settings.webhook_target_policy
    fetcher = TwimlFetcher.from_settings(settings, token)
    http = guarded_client(policy, timeout=settings.twiml_fetch_timeout_seconds)
    options = settings.speech_options
    prompts = engines.prompt_cache(options)
    recognizer = engines.recognizer(options)  # one model, loaded once, for both uses
    # The AI receptionist's: the same model, tuned for short turns.
    agent_engine = engines.agent_recognizer(options, recognizer)
    speech = SpeechKit(
        AsyncRecognizer(recognizer), options, conversation=AsyncRecognizer(agent_engine)
    )

    async def get_audio(url: str, limit: int) -> bytes:
        async with http.stream("GET", url) as answer:
            if answer.status_code != 200:
                raise OSError(f"{url} answered {answer.status_code}")
            body = bytearray()
            async for chunk in answer.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise OSError(f"{url} is larger than {limit} bytes")
        return bytes(body)

    tasks = TwimlTasks(
        sessions=sessions,
        db=db,
        places=TwimlPlaces(
            audio_dir=settings.data_dir / "twiml-audio",
            recordings_dir=settings.recordings_dir,
            public_url=settings.public_http_url,
        ),
        fetcher=fetcher,
        prompts=prompts,
        get_audio=get_audio,
        owe=enqueue_twilio,
        transcriber=engines.voicemail_transcriber(options, recognizer),
        recording_key=sip.handler.config.recording_key,
    )
    driver = sip.handler.driver
    tasks.register(driver.tasks)
    engine: CallEngine = sip.engine

    async def check_stream(url: str) -> None:
        # ws:// and wss:// are checked as http:// and https:// would be (SSRF).
        plain = "http" + url[2:] if url.startswith("ws") else url
        await loop.run_in_executor(None, check_url, plain, policy)

    async def stream_headers(spec: CallSpec, url: str) -> Sequence[tuple[str, str]]:
        secret = await token(spec.account_id)
        if secret is None:
            return ()
        return (("X-Twilio-Signature", twilio_signing.signature(secret, url, [])),)

    driver.audio = CallAudio(
        speech=speech, check_target=check_stream, stream_headers=stream_headers
    )
    calls = TwilioCalls(
        driver=driver,
        place_call=engine.entries.application_call,
        sessions=sessions,
        db=db,
        recordings_dir=lambda account_id: str(settings.recordings_dir / account_id),
    )

    def voice_application(spec: CallSpec, urls: VoiceUrls):  # type: ignore[no-untyped-def]
        return calls.inbound(spec, urls)

    engine.router.voice_application = voice_application
    agents = start_agents(
        settings, sessions, sip, prompts=prompts, recognizer=recognizer, agent_engine=agent_engine
    )
    return Programmable(calls, tasks, fetcher, http, agents)


def start_agents(
    settings: Settings,
    sessions: sessionmaker[Session],
    sip: SipRuntime,
    *,
    prompts: PromptCache,
    recognizer: Recognizer,
    agent_engine: Recognizer,
) -> AgentCalls:
    """The AI receptionist on ``sip``'s call engine (numbers routed to an agent)."""
    db: ThreadPoolExecutor = sip.db
    loop = asyncio.get_running_loop()
    options = settings.speech_options
    driver = sip.handler.driver
    agent_tasks = AgentTasks(
        sessions=sessions,
        db=db,
        prompts=prompts,
        transcriber=engines.voicemail_transcriber(options, recognizer),
        messaging_rules=lambda: settings.messaging_rules,
        recording_key=sip.handler.config.recording_key,
    )
    agent_tasks.register(driver.tasks)
    driver.pending_prompt = agent_tasks.pending

    async def read(work: Callable[[Session], Any]) -> Any:
        def run() -> Any:
            with transaction(sessions) as session:
                return work(session)

        return await loop.run_in_executor(db, run)

    agents = AgentCalls(
        tasks=agent_tasks,
        read=read,
        key=settings.sealing_key(),
        recordings_dir=lambda account_id: settings.recordings_dir / account_id,
    )
    engine: CallEngine = sip.engine
    engine.router.agent_application = agents.application_for

    def any_agent() -> bool:
        with transaction(sessions) as session:
            return session.query(AgentProfileRow.id).first() is not None

    async def warm_up() -> None:
        # The models load before the first caller needs them (seconds of CPU), only
        # where agents exist: most platforms never speak.
        if await loop.run_in_executor(db, any_agent):
            await loop.run_in_executor(None, engines.warm_up, prompts.synthesizer, agent_engine)

    agent_tasks.background.spawn(warm_up())
    return agents
