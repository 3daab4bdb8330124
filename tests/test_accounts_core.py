"""bot/core/accounts.py: channel-to-account assignment, by example and by property (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.accounts import Move, assign_channels, record_moves

ACCOUNTS = ("main", "second", "third")


def test_balanced_in_settings_order() -> None:
    got = assign_channels(["main", "second"], ["a", "b", "c", "d", "e"])
    assert got.channels == {"main": ("a", "c", "e"), "second": ("b", "d")}
    assert got.unassigned == ()


def test_explicit_first_even_above_the_cap() -> None:
    got = assign_channels(["main", "second"], ["a", "b", "c"], explicit={"second": ["x", "y", "z"]}, cap=2)
    assert got.channels["second"] == ("x", "y", "z")
    assert got.channels["main"] == ("a", "b")
    assert got.unassigned == ("c",)  # main is full, second is over its cap: reported, not dropped


def test_a_channel_only_one_account_reads_stays_with_it() -> None:
    got = assign_channels(
        ["main", "second"], ["a", "b", "c"], readable={"a": frozenset({"second"})}, previous={"a": "main"}
    )
    assert got.account_of("a") == "second"


def test_stable_when_an_account_is_added() -> None:
    before = assign_channels(["main"], ["a", "b", "c"])
    previous = {c: a for a, chans in before.channels.items() for c in chans}
    after = assign_channels(["main", "second"], ["a", "b", "c", "d"], previous=previous)
    assert after.channels == {"main": ("a", "b", "c"), "second": ("d",)}


def test_moves_off_an_account_that_is_gone() -> None:
    got = assign_channels(["second"], ["a", "b"], previous={"a": "main", "b": "second"})
    assert got.channels == {"second": ("a", "b")}


def test_unreadable_by_all_is_unassigned() -> None:
    got = assign_channels(["main", "second"], ["a", "b"], readable={"a": frozenset()})
    assert got.unassigned == ("a",)
    assert got.account_of("b") == "main"


channel_names = st.lists(st.sampled_from([f"c{i}" for i in range(30)]), max_size=30, unique=True)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[str], list[str], dict[str, list[str]], dict[str, frozenset[str]], int]:
    accounts = draw(st.lists(st.sampled_from(ACCOUNTS), min_size=1, max_size=3, unique=True))
    channels = draw(channel_names)
    explicit = {
        a: draw(st.lists(st.sampled_from([f"x{i}" for i in range(5)]), max_size=3, unique=True)) for a in accounts
    }
    readable = (
        {
            c: frozenset(draw(st.lists(st.sampled_from(accounts), max_size=2, unique=True)))
            for c in draw(st.lists(st.sampled_from(channels), unique=True))
            if channels
        }
        if channels
        else {}
    )
    cap = draw(st.integers(min_value=1, max_value=20))
    return accounts, channels, explicit, readable, cap


@settings(max_examples=200, deadline=None)
@given(worlds())
def test_properties(world: tuple[list[str], list[str], dict[str, list[str]], dict[str, frozenset[str]], int]) -> None:
    accounts, channels, explicit, readable, cap = world
    got = assign_channels(accounts, channels, explicit=explicit, readable=readable, cap=cap)
    placed = [c for chans in got.channels.values() for c in chans]
    # every channel exactly once: assigned to one account, or reported unassigned
    assert len(placed) == len(set(placed))
    assert set(placed).isdisjoint(got.unassigned)
    wanted = set(channels) | {c for chans in explicit.values() for c in chans}
    assert set(placed) | set(got.unassigned) == wanted
    first_owner: dict[str, str] = {}
    for a in accounts:
        for c in explicit[a]:
            first_owner.setdefault(c, a)
    for account, chans in got.channels.items():
        own = [c for c in chans if first_owner.get(c) == account]
        assert len(chans) - len(own) <= max(0, cap - len(own)), "automatic channels never push above the cap"
        for c in chans:
            if c not in first_owner and c in readable:
                assert account in readable[c], "a channel goes only to an account that can read it"
    for c in got.unassigned:
        assert c not in first_owner
        # nobody who can read it has room left
        for a in readable.get(c, frozenset(accounts)):
            if a in got.channels:
                assert len(got.channels[a]) >= cap
    # stability: re-running with the result as `previous` changes nothing
    previous = {c: a for a, chans in got.channels.items() for c in chans}
    again = assign_channels(accounts, channels, explicit=explicit, readable=readable, previous=previous, cap=cap)
    assert again == got


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(ACCOUNTS), min_size=1, max_size=3, unique=True), channel_names)
def test_balanced_without_constraints(accounts: list[str], channels: list[str]) -> None:
    got = assign_channels(accounts, channels, cap=1000)
    sizes = [len(v) for v in got.channels.values()]
    assert max(sizes) - min(sizes) <= 1


@settings(max_examples=100, deadline=None)
@given(channel_names, st.sampled_from(ACCOUNTS))
def test_single_reader_channels_stay(channels: list[str], reader: str) -> None:
    readable = {c: frozenset({reader}) for c in channels[::2]}
    got = assign_channels(list(ACCOUNTS), channels, readable=readable, previous={c: "main" for c in channels})
    for c in channels[::2]:
        assert got.account_of(c) == reader


def test_a_down_accounts_channels_go_to_the_others_within_the_cap_and_its_explicit_ones_stay() -> None:
    previous = {"a": "main", "b": "second", "c": "third", "d": "main", "e": "second"}
    got = assign_channels(
        ACCOUNTS, ["a", "b", "c", "d", "e"], explicit={"main": ["x"]}, previous=previous, cap=2, down=["main"]
    )
    assert got.channels == {"main": ("x",), "second": ("b", "e"), "third": ("a", "c")}
    assert got.unassigned == ("d",)  # no room left: reported, not dropped


def test_moves_record_the_home_and_follow_a_second_move() -> None:
    names = ["main", "second", "third"]
    before = {"a": "main", "b": "second", "x": "main"}
    first = assign_channels(names, ["a", "b"], explicit={"main": ["x"]}, previous=before, down=["main"])
    moves = record_moves(before, first, ["main"], {}, at="t1")
    assert moves == {"a": Move("main", "third", "t1")}  # x is explicit: it stays with main, unread
    # third goes down too: a moves on to second, its home is still main
    now = {"a": "third", "b": "second", "x": "main"}
    then = assign_channels(names, ["a", "b"], explicit={"main": ["x"]}, previous=now, down=["main", "third"])
    moves = record_moves(now, then, ["main", "third"], moves, at="t2")
    assert moves == {"a": Move("main", "second", "t2")}
    # and second as well: nobody left, a is unread (to None), b is second's own move
    last = {"a": "second", "b": "second", "x": "main"}
    none = assign_channels(names, ["a", "b"], explicit={"main": ["x"]}, previous=last, down=names)
    moves = record_moves(last, none, names, moves, at="t3")
    assert moves == {"a": Move("main", None, "t3"), "b": Move("second", None, "t3")}
    assert none.unassigned == ("a", "b")
    # a channel no longer watched is no longer a move; one back with its home neither
    back = assign_channels(names, ["b"], explicit={"main": ["x"]}, previous={"b": "second"})
    assert record_moves({"b": "second"}, back, [], moves, at="t4") == {}


@settings(max_examples=200, deadline=None)
@given(worlds(), st.lists(st.sampled_from(ACCOUNTS), max_size=2, unique=True))
def test_down_accounts_take_only_their_explicit_channels(
    world: tuple[list[str], list[str], dict[str, list[str]], dict[str, frozenset[str]], int], down: list[str]
) -> None:
    accounts, channels, explicit, readable, cap = world
    up = assign_channels(accounts, channels, explicit=explicit, readable=readable, cap=cap)
    previous = {c: a for a, chans in up.channels.items() for c in chans}
    got = assign_channels(
        accounts, channels, explicit=explicit, readable=readable, previous=previous, cap=cap, down=down
    )
    placed = [c for chans in got.channels.values() for c in chans]
    assert len(placed) == len(set(placed)) and set(placed).isdisjoint(got.unassigned)
    assert set(placed) | set(got.unassigned) == set(up.unassigned) | {
        c for chans in up.channels.values() for c in chans
    }
    for account in down:
        if account in got.channels:
            assert set(got.channels[account]) <= set(explicit[account])
    live = [a for a in accounts if a not in down]

    def readers(channel: str) -> int:
        return len(readable[channel] & set(live)) if channel in readable else len(live)

    for account in live:  # a live account keeps what it had: only channels of down ones move ...
        for channel in set(up.channels[account]) - set(got.channels[account]):
            # ... unless a channel with fewer readers needed the place (rule 2 before rule 3)
            taken = set(got.channels[account]) - set(up.channels[account])
            assert any(readers(c) < readers(channel) for c in taken), (account, channel)
