from __future__ import annotations

import json
import logging
import sys

from bot.logs import RedactingFormatter


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    entry = logging.LogRecord("imagine.test", logging.WARNING, __file__, 1, message, args, None)
    entry.__dict__.update(extra)
    return entry


def test_every_secret_is_masked_even_in_tracebacks() -> None:
    formatter = RedactingFormatter(["ms-abc", "ms-abc-longer", "123:AAsecret"], as_json=False)
    try:
        raise RuntimeError("token 123:AAsecret leaked")
    except RuntimeError:
        failed = record("using %s and %s", "ms-abc-longer", "ms-abc", request_id="r1")
        failed.exc_info = sys.exc_info()
    text = formatter.format(failed)
    assert "ms-abc" not in text and "AAsecret" not in text
    assert "using *** and ***" in text and "request_id=r1" in text
    assert "RuntimeError: token *** leaked" in text


def test_json_lines_carry_the_context() -> None:
    formatter = RedactingFormatter(["ms-abc"], as_json=True)
    line = formatter.format(record("submitted with ms-abc", task_id="5075521", job_id="j1"))
    entry = json.loads(line)
    assert entry["message"] == "submitted with ***"
    assert (entry["task_id"], entry["job_id"], entry["level"]) == ("5075521", "j1", "WARNING")


def test_discord_interaction_tokens_are_masked_in_urls_and_payloads() -> None:
    formatter = RedactingFormatter([], as_json=False)
    url = "PATCH https://discord.com/api/v10/webhooks/800/aW50ZXJhY3Rpb24.x-y/messages/@original"
    payload = {"id": "1", "token": "aW50ZXJhY3Rpb24.x-y", "data": {}}
    stored = json.dumps({"reply_target": json.dumps({"token": "aW50ZXJhY3Rpb24.x-y"})})
    for text in (url, str(payload), stored):
        masked = formatter.format(record("%s", text))
        assert "aW50ZXJhY3Rpb24" not in masked and "***" in masked
    assert "/webhooks/800/***/messages/@original" in formatter.format(record("%s", url))


def test_a_members_token_is_masked_though_no_setting_names_it() -> None:
    formatter = RedactingFormatter([], as_json=True)
    member = "ms-fake-member-token-for-tests-0001"
    text = formatter.format(record("update: /token %s", member, user="telegram:5"))
    assert member not in text and "/token ***" in text
    assert "ms-short" in formatter.format(record("ms-short"))  # not shaped like a token
