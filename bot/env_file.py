"""The settings file (`--env`, TGMONITOR_ENV_FILE) read strictly: python-dotenv alone decodes with a
traceback on a byte that is not UTF-8, and only logs a line it cannot read (then drops it and its setting).
"""

from __future__ import annotations

import difflib
import io
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from bot.setting_values import is_file, read_utf8, shown_detail


class EnvFileError(ValueError):
    """What is wrong with the settings file, one line per problem (bot/config.py makes it a SettingsError)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def read_env_file(env_file: Path, given: str) -> dict[str, str | None]:
    """The settings file's variables, or EnvFileError naming the file (and the line) when it is not a
    readable UTF-8 file or has a line python-dotenv cannot read: dotenv itself only logs such a line
    and drops it, so `CHANNELS="@a, @b` (an unclosed quote) would start a monitor without its channels."""
    if not is_file(env_file):
        what = "is not a file" if os.path.lexists(env_file) else "no such settings file"
        raise EnvFileError([f"{env_file}: {what} {given}"])
    try:
        text = read_utf8(env_file)
    except ValueError as exc:
        raise EnvFileError([f"{exc} {given}"]) from None
    unreadable = [b.original.line for b in parse_stream(io.StringIO(text)) if b.error]
    if unreadable:  # the line is not shown: it may hold a token
        problems = [f"{env_file}:{n}: not a NAME=value line (an unclosed quote?); fix or remove it" for n in unreadable]
        if len(problems) > 3:  # not a settings file at all (--env pointed at a CSV): the first lines say enough
            problems[3:] = [f"{env_file}: and {len(problems) - 3} more lines like these: is it a settings file?"]
        raise EnvFileError(problems)
    return dict(dotenv_values(stream=io.StringIO(text)))


def mistyped(
    file_values: Mapping[str, object], names: Sequence[str], known: Callable[[str], bool], where: Callable[[str], str]
) -> list[str]:
    """Variables of the settings file that look like a misspelt setting (POLL_INTERVALL, poll_interval):
    ignored, they would leave the default in force without a word. Other names (a file shared with other
    tools) pass: only a close match to a setting's name is reported."""
    problems = []
    for key in file_values:
        if known(key):
            continue
        close = difflib.get_close_matches(key.upper(), names, n=1, cutoff=0.85)
        if close:
            problems.append(f"{shown_detail(key, 60)}{where(key)}: not a setting; did you mean {close[0]}?")
    return problems
