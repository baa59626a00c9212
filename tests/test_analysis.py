"""Judgement rules at and around every boundary, properties, and inventory change."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mutuality_helpers import analysis, mutuality_index
from mutuality_helpers.analysis import Thresholds, judge
from mutuality_helpers.exceptions import ParameterError
from mutuality_helpers.instruments import SHARE_DOMAINS, load_instrument
from mutuality_helpers.scoring import inventory_scores, reliable_change
from mutuality_helpers.store import SEASON_COLUMNS
from mutuality_helpers.store_answers import ANSWER_COLUMNS
from mutuality_helpers.summary import summarize_frames

W0 = pd.Timestamp("2026-01-05")  # a Monday
C = "C001"


def wk(i: int) -> pd.Timestamp:
    return W0 + pd.Timedelta(weeks=i)


def answers_frame(rows: list[tuple]) -> pd.DataFrame:
    """Rows of (couple, partner, week index, item, value) as the store's answers frame."""
    records = []
    for couple, partner, i, item, value in rows:
        instrument = "mutuality_inventory" if item.startswith("inv_") else "weekly_checkin"
        records.append(
            (couple, partner, wk(i), item, str(value), float(value), instrument, "", "test")
        )
    frame = pd.DataFrame(records, columns=ANSWER_COLUMNS)
    frame["week"] = pd.to_datetime(frame["week"])
    frame["value_num"] = frame["value_num"].astype(float)
    return frame


def shares(a_view: dict[int, float | None], b_view: dict[int, float | None] | None = None,
           domain: str = "repair", couple: str = C) -> list[tuple]:  # fmt: skip
    """Share answers given as *A's share* in each partner's view (B answers 100 - view)."""
    b_view = a_view if b_view is None else b_view
    rows = []
    for i, v in a_view.items():
        if v is not None:
            rows.append((couple, "A", i, f"share_{domain}", v))
    for i, v in b_view.items():
        if v is not None:
            rows.append((couple, "B", i, f"share_{domain}", 100 - v))
    return rows


def seasons_frame(rows: list[tuple]) -> pd.DataFrame:
    """Rows of (partner, start, planned_end, agreed[, closed_on]) for couple C001."""
    records = []
    for n, row in enumerate(rows, start=1):
        partner, start, end, agreed, *closed = row
        records.append(
            (n, C, partner, "illness", pd.Timestamp(start), pd.Timestamp(end), agreed, "",
             pd.Timestamp(closed[0]) if closed else pd.NaT)
        )  # fmt: skip
    frame = pd.DataFrame(records, columns=SEASON_COLUMNS)
    for col in ("start", "planned_end", "closed_on"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


NO_SEASONS = seasons_frame([])


def domain_of(answers, seasons=NO_SEASONS, as_of=None, domain="repair", thresholds=None):
    j = judge(answers, seasons, [C], as_of, thresholds)
    return j.domains.loc[(C, domain)]


# -- weekly shares ----------------------------------------------------------------------------


def test_weekly_views_are_converted_to_a_share_and_averaged():
    rows = [(C, "A", 0, "share_repair", 70), (C, "B", 0, "share_repair", 40)]
    weekly = analysis.weekly_shares(answers_frame(rows), NO_SEASONS)
    r = weekly.iloc[0]
    assert (r.view_a, r.view_b, r.consensus) == (70.0, 60.0, 65.0)
    assert not r.one_sided and not r.imbalanced and r.direction is None
    assert list(weekly.columns) == analysis.WEEKLY_COLUMNS


@pytest.mark.parametrize(
    ("view", "imbalanced", "direction"),
    [(70, True, "A"), (69.5, False, None), (30, True, "B"), (30.5, False, None),
     (100, True, "A"), (0, True, "B"), (50, False, None)],
)  # fmt: skip
def test_imbalance_threshold_is_inclusive(view, imbalanced, direction):
    # A one-sided view of exactly 69.5 is reachable only as a mean; use two views.
    a, b = (view, view) if float(view).is_integer() else (view - 0.5, view + 0.5)
    weekly = analysis.weekly_shares(answers_frame(shares({0: a}, {0: b})), NO_SEASONS)
    assert weekly["consensus"].iloc[0] == view
    assert bool(weekly["imbalanced"].iloc[0]) is imbalanced
    assert weekly["direction"].iloc[0] == direction


def test_one_sided_week_uses_the_view_present():
    weekly = analysis.weekly_shares(answers_frame(shares({0: 80}, {0: None})), NO_SEASONS)
    r = weekly.iloc[0]
    assert r.one_sided and r.consensus == 80 and np.isnan(r.view_b) and r.direction == "A"


@pytest.mark.parametrize(
    ("week", "covered"),
    [(1, False), (2, True), (5, True), (7, True), (8, False)],
)
def test_agreed_season_covers_its_first_to_last_week(week, covered):
    # B is ill from week 2 to week 7: A carrying more is covered in exactly those weeks.
    seasons = seasons_frame([("B", wk(2), wk(7), True)])
    weekly = analysis.weekly_shares(answers_frame(shares({week: 80})), seasons)
    assert bool(weekly["covered"].iloc[0]) is covered


def test_season_covers_the_weeks_whose_monday_it_spans():
    # start <= week <= planned_end, weeks named by their Monday: a season from a Wednesday
    # to a Tuesday covers the Mondays in between, not the week it starts in.
    seasons = seasons_frame(
        [("B", wk(2) + pd.Timedelta(days=2), wk(4) + pd.Timedelta(days=1), True)]
    )
    weekly = analysis.weekly_shares(answers_frame(shares({i: 80 for i in range(1, 6)})), seasons)
    assert weekly["covered"].tolist() == [False, False, True, True, False]


def test_season_covers_only_the_partner_who_carried_less():
    # A season supporting A does not explain A carrying more.
    seasons = seasons_frame([("A", wk(0), wk(9), True)])
    weekly = analysis.weekly_shares(answers_frame(shares({1: 80, 2: 20})), seasons)
    assert weekly["covered"].tolist() == [False, True]


def test_unagreed_season_covers_nothing():
    seasons = seasons_frame([("B", wk(0), wk(9), False)])
    weekly = analysis.weekly_shares(answers_frame(shares({1: 80})), seasons)
    assert not weekly["covered"].any()


def test_closed_season_covers_no_week_after_closed_on():
    seasons = seasons_frame([("B", wk(0), wk(9), True, wk(3) + pd.Timedelta(days=2))])
    weekly = analysis.weekly_shares(answers_frame(shares({i: 80 for i in range(2, 6)})), seasons)
    assert weekly["covered"].tolist() == [True, True, False, False]


# -- statuses ----------------------------------------------------------------------------------


def window(values: list[float | None], start: int = 0) -> list[tuple]:
    """Eight weeks (or fewer) of A's share, both partners agreeing, from week ``start``."""
    return shares({start + i: v for i, v in enumerate(values)})


@pytest.mark.parametrize(
    ("values", "status", "carried_by"),
    [
        ([80] * 6 + [50] * 2, "chronic", "A"),  # exactly 6
        ([20] * 6 + [50] * 2, "chronic", "B"),
        ([80] * 8, "chronic", "A"),
        ([80] * 5 + [50] * 3, "drifting", "A"),  # 5: one short of chronic
        ([80] * 3 + [50] * 5, "drifting", "A"),  # exactly 3
        ([80] * 2 + [50] * 6, "balanced", None),  # one short of drifting
        ([70] * 6 + [50] * 2, "chronic", "A"),  # exactly at the imbalance threshold
        ([69.5] * 8, "balanced", None),  # just inside the band
        ([80] * 3 + [20] * 3 + [50] * 2, "drifting", None),  # flips: 3 and 3, no carrier
        ([80] * 5 + [20] * 3, "drifting", "A"),  # flips: 5 and 3, chronic needs 6 one way
        ([80] * 4 + [20] * 4, "drifting", None),
        ([80] * 6 + [20] * 2, "chronic", "A"),
        ([80, 20] * 4, "drifting", None),
        ([80, 20, 50, 50, 50, 50, 50, 50], "balanced", None),
        ([50] * 4, "balanced", None),  # exactly 4 answered weeks is enough
        ([80] * 3, "insufficient_data", None),  # 3 answered weeks: too few, even if imbalanced
        ([50, None, None, 50, None, 50, None, 50], "balanced", None),
        ([80, None, None, 80, None, 80, None, None], "insufficient_data", None),
    ],
)
def test_status_boundaries(values, status, carried_by):
    answers = answers_frame(window(values))
    r = domain_of(answers, as_of=wk(7))
    assert r.status == status
    assert r.carried_by == carried_by


def test_seasonal_needs_a_covered_week_and_nothing_worse():
    seasons = seasons_frame([("B", wk(0), wk(5), True)])
    answers = answers_frame(window([80] * 6 + [80, 80]))  # 6 covered, 2 uncovered
    r = domain_of(answers, seasons, as_of=wk(7))
    assert (r.status, r.carried_by, r.covered_weeks, r.uncovered_a) == ("seasonal", "A", 6, 2)


def test_covered_weeks_do_not_count_towards_chronic():
    seasons = seasons_frame([("B", wk(0), wk(2), True)])
    answers = answers_frame(window([80] * 8))  # 3 covered, 5 uncovered
    assert domain_of(answers, seasons, as_of=wk(7)).status == "drifting"


def test_season_ending_at_the_window_makes_the_imbalance_drift():
    # Covered up to its last week, uncovered from the week after: 3 weeks after the end.
    seasons = seasons_frame([("B", wk(0), wk(4), True)])
    answers = answers_frame(window([80] * 8))
    assert domain_of(answers, seasons, as_of=wk(7)).status == "drifting"
    assert domain_of(answers, seasons, as_of=wk(6)).status == "seasonal"


def test_window_ends_at_as_of_and_ignores_weeks_outside_it():
    answers = answers_frame(window([80] * 6 + [50] * 10))  # imbalance in weeks 0-5 only
    assert domain_of(answers, as_of=wk(7)).status == "chronic"
    assert domain_of(answers, as_of=wk(8)).status == "drifting"  # weeks 1-8: five
    assert domain_of(answers, as_of=wk(10)).status == "drifting"  # weeks 3-10: three
    assert domain_of(answers, as_of=wk(11)).status == "balanced"  # weeks 4-11: two
    # Weeks after as_of are not looked at either.
    assert domain_of(answers, as_of=wk(4)).status == "drifting"  # weeks -3..4: five answered


def test_as_of_any_day_means_its_week():
    answers = answers_frame(window([80] * 6 + [50] * 10))
    thursday = wk(8) + pd.Timedelta(days=3)
    assert domain_of(answers, as_of=thursday).status == "drifting"
    assert domain_of(answers, as_of=thursday.strftime("%Y-%m-%d")).status == "drifting"


def test_empty_window_is_insufficient_data_with_no_numbers():
    answers = answers_frame(window([80] * 8))
    r = domain_of(answers, as_of=wk(30))
    assert (r.status, r.weeks_answered) == ("insufficient_data", 0)
    assert math.isnan(r.share_a) and math.isnan(r.perception_gap)
    summary = summarize_frames(answers, NO_SEASONS, C, wk(30))
    assert summary["mutuality_index"] is None
    assert summary["domains"]["repair"]["share_a"] is None


def test_domains_without_answers_are_judged_too():
    answers = answers_frame(window([50] * 8))
    summary = summarize_frames(answers, NO_SEASONS, C)
    assert summary["domains"]["repair"]["status"] == "balanced"
    for domain in SHARE_DOMAINS[1:]:
        assert summary["domains"][domain]["status"] == "insufficient_data"


def test_one_sided_weeks_count_and_are_flagged():
    answers = answers_frame(
        shares({i: 80 for i in range(8)}, {i: (80 if i < 5 else None) for i in range(8)})
    )
    r = domain_of(answers, as_of=wk(7))
    assert (r.status, r.one_sided_weeks, r.both_answered_weeks) == ("chronic", 3, 5)
    summary = summarize_frames(answers, NO_SEASONS, C, wk(7))
    one_sided = [a for a in summary["alerts"] if a["kind"] == "one_sided"]
    assert one_sided and one_sided[0]["partner"] == "B" and one_sided[0]["weeks"] == 3


def test_perception_gap_is_mean_over_weeks_both_answered():
    # A's view - B's view: +10, +20, and a one-sided week that must not count.
    answers = answers_frame(shares({0: 70, 1: 80, 2: 90}, {0: 60, 1: 60, 2: None}))
    r = domain_of(answers, as_of=wk(2))
    assert r.perception_gap == 15.0
    assert (r.view_a, r.view_b) == (75.0, 60.0)


def test_custom_thresholds_are_honoured():
    answers = answers_frame(window([65] * 8))
    assert domain_of(answers, as_of=wk(7)).status == "balanced"
    t = Thresholds(imbalance_points=15)
    assert domain_of(answers, as_of=wk(7), thresholds=t).status == "chronic"
    t = Thresholds(window_weeks=4, min_answered_weeks=2, chronic_weeks=4, drifting_weeks=2)
    assert (
        domain_of(answers_frame(window([50] * 4 + [80] * 2)), as_of=wk(5), thresholds=t).status
        == "drifting"
    )


@pytest.mark.parametrize(
    "kwargs",
    [{"window_weeks": 0}, {"imbalance_points": 60}, {"chronic_weeks": 9},
     {"drifting_weeks": 6}, {"min_answered_weeks": 9}, {"silence_weeks": -1},
     {"window_weeks": True}],
)  # fmt: skip
def test_bad_thresholds_are_refused(kwargs):
    with pytest.raises(ParameterError):
        Thresholds(**kwargs)


def test_thresholds_defaults_match_the_design():
    assert Thresholds() == Thresholds(8, 20, 4, 6, 3, 2)


# -- alerts -------------------------------------------------------------------------------------


def kinds(summary):
    return [a["kind"] for a in summary["alerts"]]


def test_alert_for_chronic_and_drifting_domains_name_the_carrier():
    answers = answers_frame(
        window([80] * 8) + shares({i: 20 if i < 3 else 50 for i in range(8)}, domain="connection")
    )
    summary = summarize_frames(answers, NO_SEASONS, C, names={"A": "Ana", "B": "Ben"})
    chronic, drifting = summary["alerts"][:2]
    assert (chronic["kind"], chronic["domain"], chronic["partner"]) == ("chronic", "repair", "A")
    assert "Ana" in chronic["message"] and "8 of the last 8 weeks" in chronic["message"]
    assert (drifting["kind"], drifting["domain"], drifting["partner"]) == (
        "drifting",
        "connection",
        "B",
    )
    assert "Ben" in drifting["message"]


@pytest.mark.parametrize(
    ("latest", "closed", "alert"),
    [(80, None, True), (60, None, False), (20, None, False), (80, "2026-01-28", False)],
)
def test_overstayed_season_alert(latest, closed, alert):
    # B's agreed season ended in week 4; A still carries more in the latest week (or not).
    row = ("B", wk(0), wk(4), True) + ((pd.Timestamp(closed),) if closed else ())
    answers = answers_frame(window([80] * 7 + [latest]))
    summary = summarize_frames(answers, seasons_frame([row]), C)
    assert ("season_overstayed" in kinds(summary)) is alert
    if alert:
        a = next(a for a in summary["alerts"] if a["kind"] == "season_overstayed")
        assert a["partner"] == "B" and a["domains"] == ["repair"] and a["season_id"] == 1


@pytest.mark.parametrize(("end", "overstayed"), [(7, False), (6, True)])
def test_overstay_starts_the_week_after_the_planned_end(end, overstayed):
    # Planned end on a Wednesday: its week's Monday is still covered, the next one is not.
    season = ("B", wk(0), wk(end) + pd.Timedelta(days=2), True)
    summary = summarize_frames(answers_frame(window([80] * 8)), seasons_frame([season]), C)
    assert ("season_overstayed" in kinds(summary)) is overstayed
    assert summary["domains"]["repair"]["status"] == "seasonal"


def test_no_overstay_before_the_planned_end():
    answers = answers_frame(window([80] * 8))
    summary = summarize_frames(answers, seasons_frame([("B", wk(0), wk(7), True)]), C)
    assert "season_overstayed" not in kinds(summary)
    assert summary["domains"]["repair"]["status"] == "seasonal"


@pytest.mark.parametrize(
    ("start", "end", "alert"), [(2, 9, True), (-12, -1, False), (9, 12, False)]
)
def test_unagreed_season_alert_when_it_touches_the_window(start, end, alert):
    answers = answers_frame(window([50] * 8))
    summary = summarize_frames(answers, seasons_frame([("A", wk(start), wk(end), False)]), C)
    assert ("unagreed_season" in kinds(summary)) is alert


@pytest.mark.parametrize(("b_last", "silent"), [(7, None), (6, None), (5, 2), (3, 4)])
def test_silence_alert_from_two_weeks(b_last, silent):
    rows = [(C, "A", i, "energy", 5) for i in range(8)]
    rows += [(C, "B", i, "energy", 5) for i in range(b_last + 1)]
    summary = summarize_frames(answers_frame(rows), NO_SEASONS, C)
    found = [a for a in summary["alerts"] if a["kind"] == "silence"]
    if silent is None:
        assert found == []
    else:
        assert (found[0]["partner"], found[0]["weeks"]) == ("B", silent)


def test_silence_of_a_partner_who_never_answered():
    rows = [(C, "A", i, "energy", 5) for i in range(3)]
    summary = summarize_frames(answers_frame(rows), NO_SEASONS, C, names={"A": "Ana", "B": "Ben"})
    (found,) = [a for a in summary["alerts"] if a["kind"] == "silence"]
    assert found["partner"] == "B" and found["weeks"] == 3 and "none at all" in found["message"]


# -- personal work and the index ------------------------------------------------------------------


def test_personal_work_per_partner_and_the_lower_counts():
    rows = [
        (C, "A", 0, "personal_work_self", 4),
        (C, "A", 0, "personal_work_partner", 1),
        (C, "B", 0, "personal_work_self", 3),
        (C, "B", 0, "personal_work_partner", 2),
    ]
    pw = summarize_frames(answers_frame(rows), NO_SEASONS, C)["personal_work"]
    assert pw["A"] == {"self": 4.0, "by_partner": 2.0, "score": 3.0, "ratings": 2}
    assert pw["B"] == {"self": 3.0, "by_partner": 1.0, "score": 2.0, "ratings": 2}
    assert pw["lower"] == 2.0


def test_mutuality_index_formula():
    pw = [(C, p, i, item, 2) for i in range(8) for p in "AB"
          for item in ("personal_work_self", "personal_work_partner")]  # fmt: skip
    balanced = summarize_frames(answers_frame(window([50] * 8) + pw), NO_SEASONS, C)
    assert balanced["mutuality_index"] == 100 * (0.75 + 0.25 * 0.5)
    # 8 uncovered weeks 30 points off in one of four domains: balance 1 - 30/50/4.
    chronic = summarize_frames(answers_frame(window([80] * 8) + pw), NO_SEASONS, C)
    assert chronic["mutuality_index"] == pytest.approx(
        100 * (0.75 * (1 - 0.6 / 4) + 0.125), abs=0.05
    )
    # An agreed season costs nothing.
    seasons = seasons_frame([("B", wk(0), wk(7), True)])
    seasonal = summarize_frames(answers_frame(window([80] * 8) + pw), seasons, C)
    assert seasonal["mutuality_index"] == balanced["mutuality_index"]
    # Without personal-work answers the index is the balance alone.
    assert (
        summarize_frames(answers_frame(window([50] * 8)), NO_SEASONS, C)["mutuality_index"] == 100.0
    )
    everything = [r for d in SHARE_DOMAINS for r in shares({i: 100 for i in range(8)}, domain=d)]
    pw0 = [(C, p, i, item, 0) for i in range(8) for p in "AB"
           for item in ("personal_work_self", "personal_work_partner")]  # fmt: skip
    assert (
        summarize_frames(answers_frame(everything + pw0), NO_SEASONS, C)["mutuality_index"] == 0.0
    )


def test_index_from_any_row_order_of_the_frames(demo_store):
    j = judge(demo_store.answers(), demo_store.seasons())
    fast = mutuality_index.mutuality_index(j.domains, j.personal)
    rng = np.random.default_rng(3)
    general = mutuality_index.mutuality_index(
        j.domains.iloc[rng.permutation(len(j.domains))],
        j.personal.iloc[rng.permutation(len(j.personal))],
    )
    pd.testing.assert_series_equal(general.reindex(fast.index), fast)
    assert fast.between(0, 100).all() and fast.index.tolist() == j.as_of.index.tolist()


def test_index_explanation_follows_the_thresholds():
    text = mutuality_index.explain_index(
        Thresholds(window_weeks=10, chronic_weeks=7, imbalance_points=15)
    )
    assert "last 10" in text and "15 points past 50/50" in text and "lower of the two" in text


# -- properties -----------------------------------------------------------------------------------

share_value = st.one_of(st.none(), st.integers(0, 100))
week_views = st.lists(st.tuples(share_value, share_value), min_size=1, max_size=10)
season_st = st.lists(
    st.tuples(st.sampled_from("AB"), st.integers(-2, 9), st.integers(0, 6), st.booleans()),
    max_size=3,
)
PROPS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def build(views_by_domain, season_rows, swap=False):
    """Answers (given as each partner's *own* share) and seasons; ``swap`` relabels A and B."""
    flip = {"A": "B", "B": "A"} if swap else {"A": "A", "B": "B"}
    rows = []
    for domain, views in views_by_domain.items():
        for i, (own_a, own_b) in enumerate(views):
            if own_a is not None:
                rows.append((C, flip["A"], i, f"share_{domain}", own_a))
            if own_b is not None:
                rows.append((C, flip["B"], i, f"share_{domain}", own_b))
    seasons = seasons_frame(
        [(flip[p], wk(s), wk(s + n), agreed) for p, s, n, agreed in season_rows]
    )
    return answers_frame(rows), seasons


def same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (None not in (a, b) and abs(a - b) <= 1e-6)


@PROPS
@given(repair=week_views, connection=week_views, season_rows=season_st)
def test_swapping_partners_swaps_the_carrier(repair, connection, season_rows):
    views = {"repair": repair, "connection": connection}
    answers, seasons = build(views, season_rows)
    swapped_answers, swapped_seasons = build(views, season_rows, swap=True)
    one = summarize_frames(answers, seasons, C, wk(9))
    two = summarize_frames(swapped_answers, swapped_seasons, C, wk(9))
    other = {"A": "B", "B": "A", None: None}
    for domain in views:
        d1, d2 = one["domains"][domain], two["domains"][domain]
        assert d2["status"] == d1["status"]
        assert d2["carried_by"] == other[d1["carried_by"]]
        if d1["share_a"] is not None:
            assert d2["share_a"] == pytest.approx(100 - d1["share_a"], abs=1e-6)
        # The gap (A's view of A's share minus B's view of it) equals own_a + own_b - 100:
        # symmetric in the partners, so relabelling leaves it as it is.
        assert same(d2["perception_gap"], d1["perception_gap"])
    assert same(two["mutuality_index"], one["mutuality_index"])


@PROPS
@given(repair=week_views)
def test_swapping_the_two_views_negates_the_gap(repair):
    # A reports what B saw and B what A saw: same consensus, opposite gap.
    answers, _ = build({"repair": repair}, [])
    swapped, _ = build({"repair": [(None if b is None else 100 - b, None if a is None else 100 - a)
                                    for a, b in repair]}, [])  # fmt: skip
    d1 = summarize_frames(answers, NO_SEASONS, C, wk(9))["domains"]["repair"]
    d2 = summarize_frames(swapped, NO_SEASONS, C, wk(9))["domains"]["repair"]
    assert d2["status"] == d1["status"] and d2["carried_by"] == d1["carried_by"]
    if d1["perception_gap"] is not None:
        assert d2["perception_gap"] == pytest.approx(-d1["perception_gap"], abs=1e-6)


@PROPS
@given(
    repair=week_views, practical=week_views, season_rows=season_st, seed=st.integers(0, 2**32 - 1)
)
def test_row_order_changes_nothing(repair, practical, season_rows, seed):
    answers, seasons = build({"repair": repair, "practical_load": practical}, season_rows)
    rng = np.random.default_rng(seed)
    shuffled = answers.iloc[rng.permutation(len(answers))].reset_index(drop=True)
    seasons_shuffled = seasons.iloc[rng.permutation(len(seasons))].reset_index(drop=True)
    assert summarize_frames(shuffled, seasons_shuffled, C, wk(9)) == summarize_frames(
        answers, seasons, C, wk(9)
    )


@PROPS
@given(
    repair=st.lists(st.integers(0, 100), min_size=8, max_size=8),
    week=st.integers(0, 7),
    push=st.integers(1, 50),
    season_rows=season_st,
    pw=st.integers(0, 4),
)
def test_more_uncovered_imbalance_never_raises_the_index(repair, week, push, season_rows, pw):
    personal = [(C, p, i, "personal_work_self", pw) for i in range(8) for p in "AB"]
    seasons = seasons_frame([(p, wk(s), wk(s + n), agreed) for p, s, n, agreed in season_rows])
    before = judge(answers_frame(shares(dict(enumerate(repair))) + personal), seasons, [C], wk(7))
    # Push one week further from 50/50, the way it already leans, unless an agreed
    # season covers that direction (then it is not *uncovered* imbalance).
    leans_to = "A" if repair[week] >= 50 else "B"
    supported = "B" if leans_to == "A" else "A"
    if any(p == supported and agreed and s <= week <= s + n for p, s, n, agreed in season_rows):
        return
    new = min(100, repair[week] + push) if leans_to == "A" else max(0, repair[week] - push)
    changed = dict(enumerate(repair)) | {week: new}
    after = judge(answers_frame(shares(changed) + personal), seasons, [C], wk(7))
    assert after.index[C] <= before.index[C] + 1e-9
    assert 0 <= after.index[C] <= 100


@PROPS
@given(repair=st.lists(share_value, min_size=8, max_size=8), season_rows=season_st)
def test_index_is_bounded(repair, season_rows):
    seasons = seasons_frame([(p, wk(s), wk(s + n), agreed) for p, s, n, agreed in season_rows])
    index = judge(answers_frame(shares(dict(enumerate(repair)))), seasons, [C], wk(7)).index[C]
    assert math.isnan(index) or 0 <= index <= 100


# -- inventory and reliable change --------------------------------------------------------------


def test_inventory_score_reverses_items_and_rescales():
    rows = [(C, "A", 0, "inv_repair_1", 5), (C, "A", 0, "inv_repair_2", 1),
            (C, "B", 0, "inv_repair_1", 1), (C, "B", 0, "inv_repair_2", 5),
            (C, "A", 1, "inv_repair_1", 3)]  # fmt: skip
    scores = inventory_scores(answers_frame(rows))
    assert scores["score"].tolist() == [100.0, 50.0, 0.0]
    assert scores["items_answered"].tolist() == [2, 1, 2]


def test_raw_change_is_labelled_without_reliability():
    change = reliable_change(40.0, 52.5)
    assert change["method"] == "raw" and change["rci"] is None and change["change"] == 12.5
    assert "raw change" in change["label"]
    assert reliable_change(None, 50.0)["change"] is None


@pytest.fixture
def rci_instrument(tmp_path):
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "id: mutuality_inventory\ntitle: t\nreliability: 0.9\nsd: 10\nitems:\n"
        "  - {id: inv_repair_1, type: int, min: 1, max: 5, wording: a}\n"
        "  - {id: inv_repair_2, type: int, min: 1, max: 5, reverse: true, wording: b}\n",
        encoding="utf-8",
    )
    return load_instrument(path)


@pytest.mark.parametrize(("after", "reliable"), [(58.77, True), (58.76, False), (41.23, True)])
def test_jacobson_truax_reliable_change_index(rci_instrument, after, reliable):
    # SE = 10 * sqrt(0.1) = 3.162; S_diff = 4.472; 1.96 * S_diff = 8.765.
    change = reliable_change(50.0, after, rci_instrument)
    assert change["method"] == "jacobson_truax"
    assert change["rci"] == pytest.approx((after - 50) / math.sqrt(2 * 10 * 10 * 0.1), abs=0.01)
    assert change["reliable"] is reliable


def test_summary_inventory_uses_the_previous_session(rci_instrument):
    rows = [(C, "A", 0, "inv_repair_1", 2), (C, "A", 0, "inv_repair_2", 4),
            (C, "A", 6, "inv_repair_1", 5), (C, "A", 6, "inv_repair_2", 1)]  # fmt: skip
    sessions = pd.DataFrame({"couple_id": [C], "number": [1], "date": [wk(1)], "as_of": [wk(1)],
                             "notes": [""], "agreements": [""]})  # fmt: skip
    summary = summarize_frames(answers_frame(rows), NO_SEASONS, C, wk(7), sessions=sessions,
                               instrument=rci_instrument)  # fmt: skip
    inv = summary["inventory"]["A"]
    assert (inv["score"], inv["previous_score"], inv["change"]) == (100.0, 25.0, 75.0)
    assert inv["method"] == "jacobson_truax" and inv["reliable"] is True
    assert summary["inventory"]["B"] is None
