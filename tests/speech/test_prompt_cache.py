"""Spoken prompts as WAV files (speech.prompt_cache), over the fake synthesizer."""

from __future__ import annotations

import asyncio
import os
import struct
import threading
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dialtone.services.telephony.greetings import load_greeting
from dialtone.speech.prompt_cache import PromptCache, say_handler, trim_leading_silence
from dialtone.speech.synthesizer import FakeSynthesizer, SynthesisError


@dataclass
class SlowSynthesizer(FakeSynthesizer):
    """The fake, taking ``delay`` seconds per prompt, counting runs at once."""

    delay: float = 0.2
    running: int = 0
    most_at_once: int = 0
    guard: threading.Lock = field(default_factory=threading.Lock)

    def synthesize(self, text: str, *, voice: str | None, language: str | None) -> bytes:
        with self.guard:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(self.delay)
        try:
            return super().synthesize(text, voice=voice, language=language)
        finally:
            with self.guard:
                self.running -= 1


def test_a_prompt_is_synthesised_once_and_is_a_greeting_wav(tmp_path: Path) -> None:
    engine = FakeSynthesizer()
    cache = PromptCache(tmp_path / "cache", engine)
    path = cache.path_for("Hello there", "alice", "en-US")
    assert path.parent == tmp_path / "cache"
    assert path.suffix == ".wav"
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
    expected = FakeSynthesizer().synthesize("Hello there", voice="alice", language="en-US")
    assert load_greeting(path) == expected
    assert cache.path_for("Hello there", "alice", "en-US") == path
    assert len(engine.calls) == 1
    # A second cache on the same directory (another process) finds it too.
    other = FakeSynthesizer()
    assert PromptCache(tmp_path / "cache", other).path_for("Hello there", "alice") == path
    assert other.calls == []
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [path.name]


def test_the_key_is_engine_voice_language_and_text(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path, FakeSynthesizer())
    base = cache.key("Hello", "woman", "en-US")
    # TwiML names for the same voice share a prompt; the default is the first voice.
    assert cache.key("Hello", "alice", "en-US") == base
    assert cache.key("Hello", None, None) == base
    assert cache.key("Hello", "man", "en-US") != base
    assert cache.key("Hello!", "woman", "en-US") != base
    assert cache.key("  Hello\n", "woman", "en-US") == base
    assert PromptCache(tmp_path, FakeSynthesizer(name="other")).key("Hello", "woman", None) != base


def test_defaults_from_the_settings_apply_when_a_prompt_names_none(tmp_path: Path) -> None:
    engine = FakeSynthesizer()
    cache = PromptCache(tmp_path, engine, voice="man", language="en-US")
    assert cache.key("Hi", None, None) == cache.key("Hi", "man", None)
    cache.path_for("Hi")
    assert engine.calls == [("Hi", "fake-male", "en-US")]


def test_concurrent_threads_synthesise_once(tmp_path: Path) -> None:
    engine = SlowSynthesizer(delay=0.2)
    cache = PromptCache(tmp_path, engine)
    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(lambda _: cache.path_for("Same words"), range(8)))
    assert len(set(paths)) == 1
    assert len(engine.calls) == 1
    assert cache.synthesized == 1


def test_concurrent_awaits_share_one_run_off_the_loop(tmp_path: Path) -> None:
    engine = SlowSynthesizer(delay=0.3)
    cache = PromptCache(tmp_path, engine)

    async def main() -> tuple[list[Path], float]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        clock = asyncio.create_task(ticker())
        paths = await asyncio.gather(*(cache.prompt("Please hold") for _ in range(5)))
        clock.cancel()
        return list(paths), ticks

    paths, ticks = asyncio.run(main())
    assert len(set(paths)) == 1
    assert len(engine.calls) == 1
    # The loop kept running while the engine worked (it would not tick if blocked).
    assert ticks >= 10
    # Found on disk: no thread hop, no synthesis.
    assert asyncio.run(cache.prompt("Please hold")) == paths[0]
    assert len(engine.calls) == 1


def test_a_cancelled_waiter_does_not_cancel_the_others(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path, SlowSynthesizer(delay=0.2))

    async def main() -> Path:
        first = asyncio.create_task(cache.prompt("Goodbye"))
        second = asyncio.create_task(cache.prompt("Goodbye"))
        await asyncio.sleep(0.05)
        first.cancel()
        return await second

    assert asyncio.run(main()).is_file()


def test_a_failed_synthesis_leaves_nothing_behind(tmp_path: Path) -> None:
    class Broken(FakeSynthesizer):
        def synthesize(self, text: str, *, voice: str | None, language: str | None) -> bytes:
            raise SynthesisError("no")

    cache = PromptCache(tmp_path / "c", Broken())
    with pytest.raises(SynthesisError):
        cache.path_for("Hello")
    assert not (tmp_path / "c").exists() or list((tmp_path / "c").iterdir()) == []


def test_a_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = PromptCache(tmp_path, FakeSynthesizer())

    def interrupted(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(OSError, match="disk full"):
        cache.path_for("Hello")
    assert list(tmp_path.iterdir()) == []


def test_least_recently_used_prompts_are_evicted(tmp_path: Path) -> None:
    engine = FakeSynthesizer()
    cache = PromptCache(tmp_path, engine, max_files=3)
    paths = {}
    for i, text in enumerate(["one", "two", "three"]):
        paths[text] = cache.path_for(text)
        # Access times one second apart, oldest first, whatever the clock's resolution.
        os.utime(paths[text], (1_000_000 + i, 1_000_000 + i))
    cache.path_for("one")  # used again: now the most recent
    paths["four"] = cache.path_for("four")
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {paths[t].name for t in ("one", "three", "four")}
    # Using a prompt keeps its modification time (load_greeting caches by it).
    assert paths["one"].stat().st_mtime == 1_000_000


@pytest.mark.parametrize("max_files", [1, 2])
def test_the_prompt_just_made_is_kept(tmp_path: Path, max_files: int) -> None:
    cache = PromptCache(tmp_path, FakeSynthesizer(), max_files=max_files)
    for text in ["a", "b", "c", "d"]:
        path = cache.path_for(text)
        assert path.is_file()
    assert len(list(tmp_path.iterdir())) == max_files


def test_max_files_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_files"):
        PromptCache(tmp_path, FakeSynthesizer(), max_files=0)


@dataclass(frozen=True)
class Say:
    text: str
    voice: str | None = None
    language: str | None = None


def test_a_say_task_answers_the_prompts_path(tmp_path: Path) -> None:
    engine = FakeSynthesizer()
    cache = PromptCache(tmp_path, engine)
    handle = say_handler(cache)
    path = asyncio.run(handle(None, Say("One moment", "man", "en-US")))
    assert path == str(cache.path_for("One moment", "man", "en-US"))
    assert engine.calls == [("One moment", "fake-male", "en-US")]


@pytest.mark.parametrize(
    ("lead", "kept"),
    [(0, 0), (10, 10), (160, 160), (161, 160), (1440, 160)],
)
def test_the_silence_before_the_first_sound_is_trimmed(lead: int, kept: int) -> None:
    sound = struct.pack("<3h", 2000, -2000, 2000)
    pcm = bytes(2 * lead) + sound + bytes(20)
    trimmed = trim_leading_silence(pcm)
    assert trimmed == bytes(2 * kept) + sound + bytes(20)


@pytest.mark.parametrize("level", [100, -100, 50])
def test_a_quiet_start_counts_as_silence_and_all_quiet_is_kept(level: int) -> None:
    quiet = struct.pack("<h", level) * 400
    assert trim_leading_silence(quiet) == quiet  # never loud: nothing trimmed
    loud = quiet + struct.pack("<h", 101)
    assert trim_leading_silence(loud) == quiet[-320:] + struct.pack("<h", 101)


def test_a_prompt_started_is_pending_until_made_then_on_disk(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path, FakeSynthesizer())

    async def run() -> tuple[bool, bool, bool, bool]:
        path = cache.file_for("Later sentence.")
        running = cache.start("Later sentence.")
        assert running is not None
        pending = cache.pending(path) is running and cache.start("Later sentence.") is running
        absent_before = not path.is_file()
        assert await running == path
        return (
            pending,
            absent_before,
            cache.pending(path) is None,
            cache.start("Later sentence.") is None,
        )

    pending, absent_before, done, on_disk = asyncio.run(run())
    assert pending  # one run shared, findable by its file
    assert absent_before
    assert done
    assert on_disk  # nothing more to start
    assert cache.synthesized == 1
