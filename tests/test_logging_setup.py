from __future__ import annotations

import io
import json
import logging

import pytest

from bot.config import Settings
from bot.service.logging_setup import REDACTED, RedactSecrets, make_handler, setup_logging

API_HASH = "0123456789abcdef0123456789abcdef"
BOT_TOKEN = "123456789:AAE_secret_token_value_xxxxxxxxxx"
SESSION = "1BVtsOKABu3QxYzA" + "x" * 200


@pytest.fixture
def settings() -> Settings:
    return Settings.from_mapping(
        {"API_ID": "12345", "API_HASH": API_HASH, "BOT_TOKEN": BOT_TOKEN, "TG_SESSION": SESSION}
    )


@pytest.fixture
def logger() -> logging.Logger:
    """A logger outside the logging tree: no root handlers (pytest's capture) see its records."""
    return logging.Logger("tests.logging_setup", logging.DEBUG)


def capture(logger: logging.Logger, settings: Settings, log_format: str = "text") -> io.StringIO:
    stream = io.StringIO()
    logger.addHandler(make_handler(log_format=log_format, secrets=settings.secrets, stream=stream))
    return stream


def test_every_secret_is_redacted_from_message_args_and_traceback(settings: Settings, logger: logging.Logger) -> None:
    out = capture(logger, settings)
    logger.info("token in the message %s", BOT_TOKEN)  # argument
    logger.info(f"formatted in: {API_HASH}")  # already in the message
    logger.info("a dict %r and a url %s", {"session": SESSION}, f"https://api.telegram.org/bot{BOT_TOKEN}/send")
    try:
        raise RuntimeError(f"login failed for {API_HASH}")
    except RuntimeError:
        logger.exception("with traceback")
    logger.info("%s", "secret split across args: " + BOT_TOKEN[:10], extra={})  # only a prefix: kept
    text = out.getvalue()
    for secret in settings.secrets:
        assert secret not in text
    assert text.count(REDACTED) == 5
    assert BOT_TOKEN[:10] in text  # a fragment is not the secret; only whole values are replaced


def test_one_line_per_event_in_text_and_json(settings: Settings, logger: logging.Logger) -> None:
    out = capture(logger, settings)
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        logger.exception("failed:\n%s", "multi\nline")
    assert out.getvalue().count("\n") == 1
    assert "Traceback" in out.getvalue() and "\\n" in out.getvalue()

    out = capture(logger, settings, "json")
    logger.warning("a %s with %s", "message", BOT_TOKEN)
    try:
        raise KeyError(API_HASH)
    except KeyError:
        logger.error("oops", exc_info=True)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["msg"] == f"a message with {REDACTED}" and first["level"] == "WARNING"
    assert first["logger"] == "tests.logging_setup" and first["ts"].endswith("+00:00")
    assert "KeyError" in second["exc"] and API_HASH not in second["exc"]


def test_without_secrets_records_pass_untouched(logger: logging.Logger) -> None:
    flt = RedactSecrets([])
    record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "x %s", ("y",), None)
    assert flt.filter(record) and record.args == ("y",)


def test_bad_format_arguments_do_not_leak(settings: Settings, logger: logging.Logger) -> None:
    out = capture(logger, settings)
    logger.info("two placeholders %s %s", BOT_TOKEN)  # one argument missing
    assert BOT_TOKEN not in out.getvalue() and "unformattable" in out.getvalue()


def test_setup_logging_sets_level_and_replaces_its_handler(settings: Settings) -> None:
    root = logging.getLogger()
    before_level, before = root.level, list(root.handlers)
    try:
        stream = io.StringIO()
        setup_logging(Settings.from_mapping({"LOG_LEVEL": "WARNING", "BOT_TOKEN": BOT_TOKEN}), stream=stream)
        setup_logging(Settings.from_mapping({"LOG_LEVEL": "WARNING", "BOT_TOKEN": BOT_TOKEN}), stream=stream)
        assert len([h for h in root.handlers if h.get_name() == "tgmonitor"]) == 1
        logging.getLogger("bot.anything").info("hidden")
        logging.getLogger("bot.anything").warning("shown %s", BOT_TOKEN)
        logging.getLogger("httpx").warning("libraries too %s", BOT_TOKEN)
        text = stream.getvalue()
        assert "hidden" not in text and "shown [redacted]" in text and "libraries too [redacted]" in text
        assert logging.getLogger("httpx").level == logging.WARNING
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
        root.setLevel(before_level)


def test_redaction_catches_the_token_half_upper_case_and_url_encoded_forms() -> None:
    """Issue #13: a token's secret half alone, an API hash in upper case, a token inside a request URL."""
    stream = io.StringIO()
    log = logging.getLogger("tests.redaction.forms")
    log.propagate = False
    log.handlers = [make_handler(secrets=[BOT_TOKEN, "0123456789abcdef0123456789abcdef"], stream=stream)]
    log.setLevel(logging.INFO)
    secret_half = BOT_TOKEN.split(":", 1)[1]
    log.warning("half %s", secret_half)
    log.warning("upper %s", "0123456789ABCDEF0123456789ABCDEF")
    log.warning("url https://api.telegram.org/bot%s/getMe", BOT_TOKEN.replace(":", "%3A"))
    log.warning("plus %s", BOT_TOKEN.replace(":", "%3a"))
    text = stream.getvalue()
    assert secret_half not in text and "0123456789ABCDEF" not in text and "%3A" not in text.upper()
    assert text.count(REDACTED) == 4


def test_text_lines_neutralise_terminal_escapes_c1_controls_and_unicode_line_breaks() -> None:
    """A hostile channel title logged verbatim must not recolour, hide or split the operator's log."""
    stream = io.StringIO()
    log = logging.getLogger("tests.redaction.escapes")
    log.propagate = False
    log.handlers = [make_handler(stream=stream)]
    log.setLevel(logging.INFO)
    log.warning("channel %s", "Evil\x1b[2J\x1b[31mRED\x9b\x85Hidden\u2028FAKE 00:00 INFO line\u2029\rend\nnext")
    (line,) = stream.getvalue().splitlines()
    assert not any(c in line for c in "\x1b\x9b\x85\u2028\u2029\r")
    assert "\\x1b[2J" in line and "\\x9b" in line and "\\u2028" in line and "\\nnext" in line
