"""A small world for the spread/amplifier analysis, saved through the real ingest (pipeline, near-duplicate index).

The MFA posts two statements. Three channels forward the first with known delays (10 min, 45 min,
2 h 10 min), one copies it without a forward header (30 min), one paraphrases it (1 h 5 min). Two of
the forwarders forward the second (Kremlin Echo first, at 5 min; Balkan Watch at 20 min). Two
sources nobody monitors feed them: "Donbass Insider" (tg:2000000001, forwarded by Balkan Watch and
Serbia Today) and @rybar (forwarded once by Kremlin Echo). Each forwarder also posts one thing of
its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.pipeline import Pipeline
from bot.models import ChannelRef, Forward, RawPost
from storage.store import Store
from tests.conftest import make_ingest

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # the MFA's first statement
T1 = T0 + timedelta(days=1)  # its second

MFA = ChannelRef(tg_id=1000000001, username="mfa_russia", title="MFA Russia")
BALKAN = ChannelRef(tg_id=1000000002, username="balkan_watch", title="Balkan Watch")
SERBIA = ChannelRef(tg_id=1000000003, username="serbia_today", title="Serbia Today")
KREMLIN = ChannelRef(tg_id=1000000004, username="kremlin_echo", title="Kremlin Echo")
COPYCAT = ChannelRef(tg_id=1000000005, username="copycat_news", title="Copycat News")
PARAPHRASE = ChannelRef(tg_id=1000000006, username="retold", title="Retold")
DONBASS_ID = 2000000001

STATEMENT = (
    "Foreign Minister Sergey Lavrov held talks in Moscow with the Foreign Minister of Serbia. The "
    "ministers discussed the situation in Kosovo and Metohija, stressed that a settlement must rest on "
    "UN Security Council Resolution 1244, and agreed to deepen cooperation in energy and culture."
)
PARAPHRASED = (
    "Foreign Minister Sergey Lavrov held talks in Moscow with the Foreign Minister of Serbia. The "
    "ministers discussed the situation in Kosovo and Metohija, stressed that a settlement must rest on "
    "UN Security Council Resolution 1244, and agreed to expand cooperation in energy and culture."
)
SECOND = (
    "Statement by the Ministry of Foreign Affairs on the anniversary of the Dayton Agreement: the "
    "agreement remains the basis of peace in Bosnia and Herzegovina and must not be revised."
)
DONBASS_1 = "Donbass Insider: a convoy of humanitarian aid reached the city this morning, volunteers report."
DONBASS_2 = "Donbass Insider: the regional administration announced new schedules for the water supply."
RYBAR = "Rybar: an analytical map of the situation along the front line, updated with the latest reports."


def _post(
    channel: ChannelRef, message_id: int, text: str, date: datetime, forward: Forward | None = None, views: int = 100
) -> RawPost:
    return RawPost(
        channel=channel, message_id=message_id, date=date, text=text, source="telethon", forward=forward, views=views
    )


def mfa_forward(message_id: int, date: datetime) -> Forward:
    return Forward(channel_id=MFA.tg_id, username="mfa_russia", message_id=message_id, name="MFA Russia", date=date)


def world_posts() -> list[RawPost]:
    minutes = timedelta(minutes=1)
    donbass = Forward(channel_id=DONBASS_ID, message_id=501, name="Donbass Insider", date=T0 - 3 * 60 * minutes)
    donbass_2 = Forward(channel_id=DONBASS_ID, message_id=502, name="Donbass Insider", date=T1 - 60 * minutes)
    rybar = Forward(username="rybar", message_id=77, name="Рыбарь", date=T1 + 60 * minutes)
    return [
        _post(MFA, 101, STATEMENT, T0, views=5000),
        _post(BALKAN, 11, STATEMENT, T0 + 10 * minutes, mfa_forward(101, T0), views=900),
        _post(COPYCAT, 31, STATEMENT, T0 + 30 * minutes, views=120),
        _post(SERBIA, 21, STATEMENT, T0 + 45 * minutes, mfa_forward(101, T0), views=700),
        _post(PARAPHRASE, 41, PARAPHRASED, T0 + 65 * minutes, views=80),
        _post(KREMLIN, 51, STATEMENT, T0 + 130 * minutes, mfa_forward(101, T0), views=1500),
        # the second MFA statement: Kremlin Echo first, Balkan Watch later
        _post(MFA, 102, SECOND, T1, views=3000),
        _post(KREMLIN, 52, SECOND, T1 + 5 * minutes, mfa_forward(102, T1), views=600),
        _post(BALKAN, 12, SECOND, T1 + 20 * minutes, mfa_forward(102, T1), views=400),
        # sources nobody monitors
        _post(BALKAN, 13, DONBASS_1, T0 - 2 * 60 * minutes, donbass, views=300),
        _post(SERBIA, 22, DONBASS_1, T0 - 90 * minutes, donbass, views=250),
        _post(SERBIA, 23, DONBASS_2, T1 - 30 * minutes, donbass_2, views=200),
        _post(KREMLIN, 53, RYBAR, T1 + 2 * 60 * minutes, rybar, views=900),
        # each forwarder's own post
        _post(BALKAN, 14, "Balkan Watch weekly review: elections, energy prices and the new bridge in Novi Sad.", T1),
        _post(SERBIA, 24, "Serbia Today: the parliament in Belgrade debated the budget for next year at length.", T1),
        _post(KREMLIN, 54, "Kremlin Echo: our editors answer readers' questions about the coming winter season.", T1),
    ]


def fill_world(path: Path, pipeline: Pipeline | None = None) -> Path:
    store = Store.open(path)
    try:
        make_ingest(store, pipeline or Pipeline.load()).save(world_posts(), atomic=True)
    finally:
        store.close()
    return path
