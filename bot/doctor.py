"""`imagine-bot doctor`: check the configuration and every outside account, and say in
plain words what is wrong and how to fix it. Exit 0 when all is well, 1 otherwise."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from bot.composition import open_store_backend
from bot.config import EngineConfig, build_balance_readers, build_chat_clients, build_engines
from bot.settings import Settings
from bot.startup import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, settings_or_explain
from core.clock import SystemClock
from core.delivery import Translator, load_translator
from core.errors import (
    ImagineError,
    RateLimited,
    TaskNotFound,
    TransportError,
    Unauthorized,
    UpstreamError,
)
from core.images import ImageWorkers
from core.modelscope import PROBE_TASK, RunTimes
from core.terms import Term


@dataclass(frozen=True)
class Finding:
    ok: bool
    key: str
    params: dict[str, object]


async def doctor(args: argparse.Namespace) -> int:
    settings = settings_or_explain(args.lang, log_level="WARNING")
    if settings is None:
        return EXIT_CONFIG
    translator, locale = load_translator(), args.lang or settings.bot_default_locale
    findings = [Finding(True, "doctor.settings", {})]
    async with aiohttp.ClientSession() as session:
        findings.append(await _store(settings))
        findings += await _modelscope(settings, session)
        findings += await _balances(settings, session)
        findings += await _chat_models(settings, session)
        checks: list[Callable[[], Awaitable[Finding]]] = []
        if settings.telegram_bot_token is not None:
            checks.append(lambda: _telegram(settings))
        if settings.discord_bot_token is not None:
            checks.append(lambda: _discord(settings, session))
        findings += [await check() for check in checks]
    _report(findings, translator, locale)
    return EXIT_OK if all(f.ok for f in findings) else EXIT_FAILED


async def _store(settings: Settings) -> Finding:
    try:
        backend = await open_store_backend(settings)
        await backend.close()
    except (ImagineError, OSError) as error:
        return Finding(
            False, "doctor.store_bad", {"url": settings.resolved_store_url, "error": error}
        )
    return Finding(True, "doctor.store_ok", {"url": settings.resolved_store_url})


async def _modelscope(settings: Settings, session: aiohttp.ClientSession) -> list[Finding]:
    config = EngineConfig.from_settings(settings)
    engines = build_engines(
        config, session=session, clock=SystemClock(), run_times=RunTimes(), images=ImageWorkers()
    )  # the probes download nothing: the image workers never start
    if not engines:
        return [Finding(False, "doctor.no_modelscope_token", {})]
    findings = []
    for engine in engines:
        label = engine.client.token_label
        try:
            await engine.client.fetch_task(PROBE_TASK)
            findings.append(Finding(True, "doctor.modelscope_ok", {"token": label}))
        except TaskNotFound:
            findings.append(Finding(True, "doctor.modelscope_ok", {"token": label}))
        except Unauthorized as error:
            findings.append(
                Finding(
                    False, "doctor.modelscope_rejected", {"token": label, "error": error.message}
                )
            )
        except RateLimited as error:
            findings.append(
                Finding(
                    False, "doctor.modelscope_limited", {"token": label, "error": error.message}
                )
            )
        except TransportError:
            findings.append(
                Finding(False, "doctor.modelscope_unreachable", {"url": config.base_url})
            )
        except ImagineError as error:
            findings.append(
                Finding(False, "doctor.modelscope_other", {"token": label, "error": error})
            )
    return findings


async def _balances(settings: Settings, session: aiohttp.ClientSession) -> list[Finding]:
    """Each token's Magicubes, by label: said, not judged (a balance the OpenAPI does not
    give is no fault of the bot's settings)."""
    findings = []
    readers = build_balance_readers(EngineConfig.from_settings(settings), session)
    for label, reader in readers.items():
        try:
            balance = await reader.read()
        except UpstreamError as error:
            findings.append(
                Finding(True, "doctor.balance_unknown", {"token": label, "error": error.message})
            )
            continue
        amounts = {"available": balance.available, "total": balance.total, "frozen": balance.frozen}
        shown = {name: f"{amount:g}" for name, amount in amounts.items()}
        findings.append(Finding(True, "doctor.balance", {"token": label, **shown}))
    return findings


async def _chat_models(settings: Settings, session: aiohttp.ClientSession) -> list[Finding]:
    """Whether ModelScope serves the chat models the settings name (its list changes)."""
    wanted = [
        ("MODELSCOPE_CHAT_MODEL", settings.modelscope_chat_model.strip(), Term("use_enhance")),
        ("MODELSCOPE_VISION_MODEL", settings.modelscope_vision_model.strip(), Term("use_describe")),
    ]
    clients = build_chat_clients(EngineConfig.from_settings(settings), session)
    if not clients or not any(model for _, model, _ in wanted):
        return []
    try:
        served = await next(iter(clients.values())).served()
    except UpstreamError as error:
        return [Finding(True, "doctor.chat_models_unknown", {"error": error.message})]
    return [
        Finding(
            model in served,
            "doctor.chat_model_ok" if model in served else "doctor.chat_model_missing",
            {"setting": name, "model": model, "use": use},
        )
        for name, model, use in wanted
        if model
    ]


async def _telegram(settings: Settings) -> Finding:
    from telegram import Bot  # only when Telegram is configured: the SDK is slow to import
    from telegram.error import InvalidToken, NetworkError

    token = settings.telegram_bot_token
    assert token is not None  # noqa: S101 - checked by the caller
    bot = Bot(token.get_secret_value(), base_url=settings.telegram_api_base_url)
    try:
        async with bot:
            me = await bot.get_me()
    except InvalidToken:
        return Finding(False, "doctor.telegram_rejected", {})
    except NetworkError:
        return Finding(
            False, "doctor.telegram_unreachable", {"url": settings.telegram_api_base_url}
        )
    return Finding(True, "doctor.telegram_ok", {"name": me.username})


async def _discord(settings: Settings, session: aiohttp.ClientSession) -> Finding:
    token = settings.discord_bot_token
    assert token is not None  # noqa: S101 - checked by the caller
    url = settings.discord_api_base_url.rstrip("/") + "/users/@me"
    headers = {"Authorization": f"Bot {token.get_secret_value()}"}
    try:
        async with session.get(url, headers=headers) as answer:
            if answer.status == 401:
                return Finding(False, "doctor.discord_rejected", {})
            answer.raise_for_status()
            me = await answer.json(content_type=None)
    except aiohttp.ClientError:
        return Finding(False, "doctor.discord_unreachable", {"url": settings.discord_api_base_url})
    return Finding(True, "doctor.discord_ok", {"name": me.get("username", "?")})


def _report(findings: list[Finding], translator: Translator, locale: str) -> None:
    for finding in findings:
        mark = "✓" if finding.ok else "✗"
        print(f"{mark} {translator.text(locale, finding.key, **finding.params)}")
    if not all(f.ok for f in findings):
        print(translator.text(locale, "doctor.failed"), file=sys.stderr)
