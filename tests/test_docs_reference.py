"""The documentation site's reference pages are generated from the code; a setting or option added without
regenerating them fails here (run `python -m tools.gen_reference`)."""

from __future__ import annotations

from tools import gen_reference


def test_reference_pages_are_current() -> None:
    assert gen_reference.main(["--check"]) == 0


def test_env_example_notes_take_the_comment_block_above_each_variable() -> None:
    text = "# --- storage ---\n# Where data lives.\nDATA_DIR=data\n# The archive.\n#DB_PATH=x.db\nplain line\nTZ=UTC\n"
    notes = gen_reference.env_example_notes(text)
    assert notes == {"DATA_DIR": "Where data lives.", "DB_PATH": "The archive.", "TZ": ""}


def test_every_setting_has_a_row() -> None:
    from bot.config import SETTING_NAMES

    page = gen_reference.configuration_page()
    assert all(f"| `{name}` |" in page for name in SETTING_NAMES)
