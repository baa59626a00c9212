"""The week-by-week charts: who carried more, how each partner has been, personal work."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from .formatting import display_names_of
from .instruments import DOMAIN_LABELS, SHARE_DOMAINS
from .mutuality_index import PERSONAL_PARTNER, PERSONAL_SELF
from .theme import (
    DEFAULT_WEEKS,
    NEUTRAL,
    PARTNER_COLOURS,
    STATUS_COLOURS,
    WIDTH,
    iso_dates,
    named_data,
    panel,
    partner_scale,
    recent,
)
from .thresholds import Thresholds
from .weeks import as_week, season_weeks, today

# -- timeline -------------------------------------------------------------------------------


def _dates_axis() -> alt.Axis:
    """The weeks' axis of every week-by-week chart: "6 Sep", written level."""
    return alt.Axis(format="%-d %b", labelAngle=0)


def timeline_chart(
    weekly: pd.DataFrame,
    seasons: pd.DataFrame,
    names: dict[str, str] | None = None,
    as_of: Any = None,
    thresholds: Thresholds | None = None,
    weeks: int = DEFAULT_WEEKS,
) -> alt.VConcatChart:
    """Weekly A's share per domain with the imbalance band and seasons shaded.

    Parameters
    ----------
    weekly
        :func:`~mutuality_helpers.analysis.weekly_shares` rows of one couple.
    seasons
        The couple's seasons; agreed ones are shaded in the supported partner's colour,
        unagreed ones drawn as a dashed outline marked "not agreed".
    as_of, weeks
        The chart shows the ``weeks`` weeks up to ``as_of`` (default: the latest week).
    """
    t = thresholds or Thresholds()
    names = display_names_of(names)
    end = None if as_of is None else as_week(as_of)
    shown = recent(weekly, end, weeks)
    if shown.empty:
        lo = hi = end or pd.Timestamp(today())
    else:
        lo, hi = shown["week"].min(), shown["week"].max()
    span = {"lo": lo.strftime("%Y-%m-%d"), "hi": (hi + pd.Timedelta(days=6)).strftime("%Y-%m-%d")}
    # The four panels share their weeks: the dates are written under the bottom one only
    # (small multiples read down a column; four rows of the same dates were clutter, and
    # every label costs vl-convert a text measurement).
    weeks_scale = alt.Scale(domain=[span["lo"], span["hi"]])
    bottom_x = alt.X("week:T", title=None, scale=weeks_scale, axis=_dates_axis())
    upper_x = alt.X("week:T", title=None, scale=weeks_scale, axis=alt.Axis(labels=False))
    y = alt.Y("share:Q", scale=alt.Scale(domain=[0, 100]), title=f"{names['A']}'s share (%)")
    # Every layer refers to its rows by name: the frames shared by the four panels (band,
    # middle line, seasons) are converted and carried once, not once per panel.
    datasets: dict[str, Any] = {}
    band = named_data(
        datasets,
        "band",
        pd.DataFrame({"lo": [50 - t.imbalance_points], "hi": [50 + t.imbalance_points]}),
    )
    middle = named_data(datasets, "middle", pd.DataFrame({"y": [50]}))
    season_rows = _season_rows(seasons, names, lo, hi)
    season_layers: list[alt.Chart] = []
    if not season_rows.empty:
        agreed = season_rows.loc[season_rows["agreed"]]
        pending = season_rows.loc[~season_rows["agreed"]]
        for partner in ("A", "B"):
            mine = agreed.loc[agreed["partner"] == partner]
            if not mine.empty:
                # A fixed colour, not a colour encoding: the week colours own that scale.
                season_layers.append(
                    alt.Chart(named_data(datasets, f"agreed-{partner}", mine))
                    .mark_rect(opacity=0.18, color=PARTNER_COLOURS[partner], clip=True)
                    .encode(x=alt.X("start:T"), x2=alt.X2("end:T"))
                )
        if not pending.empty:
            season_layers.append(
                alt.Chart(named_data(datasets, "not-agreed", pending))
                .mark_rect(
                    fillOpacity=0, stroke=NEUTRAL, strokeDash=[4, 3], strokeWidth=1.2, clip=True
                )
                .encode(x=alt.X("start:T"), x2=alt.X2("end:T"))
            )
        season_layers.append(
            alt.Chart(named_data(datasets, "seasons", season_rows))
            .mark_text(align="left", baseline="top", dx=3, dy=3, fontSize=10, color="#333333")
            .encode(x=alt.X("start:T"), y=alt.YValue(2), text=alt.Text("label:N"))
        )
    panels = []
    for domain in SHARE_DOMAINS:
        x = bottom_x if domain == SHARE_DOMAINS[-1] else upper_x
        rows = shown.loc[shown["domain"] == domain]
        points = pd.DataFrame(
            {
                "week": rows["week"],
                "share": rows["consensus"].round(1),
                "state": pd.Series(
                    rows["imbalanced"].map({True: "imbalanced", False: "within the band"}),
                    index=rows.index,
                ).where(~(rows["imbalanced"] & rows["covered"]), "imbalanced, agreed season"),
                "one_sided": rows["one_sided"].map({True: "one view only", False: "both views"}),
            }
        )
        points = iso_dates(points, "week")
        layers: list[alt.Chart] = [
            alt.Chart(band).mark_rect(color="#F2F2F2").encode(y=alt.Y("lo:Q"), y2=alt.Y2("hi:Q")),
            alt.Chart(middle).mark_rule(color="#BBBBBB").encode(y=alt.Y("y:Q")),
            *season_layers,
        ]
        if not points.empty:
            weeks_data = named_data(datasets, f"weeks-{domain}", points)
            layers.append(
                alt.Chart(weeks_data).mark_line(color=NEUTRAL, strokeWidth=1.5).encode(x=x, y=y)
            )
            layers.append(
                alt.Chart(weeks_data)
                .mark_point(filled=True, size=45)
                .encode(
                    x=x,
                    y=y,
                    shape=alt.Shape(
                        "one_sided:N",
                        title="Answers",
                        scale=alt.Scale(
                            domain=["both views", "one view only"], range=["circle", "triangle"]
                        ),
                    ),
                    color=alt.Color(
                        "state:N",
                        title="Week",
                        scale=alt.Scale(
                            domain=["within the band", "imbalanced", "imbalanced, agreed season"],
                            range=[
                                "#999999",
                                STATUS_COLOURS["chronic"],
                                STATUS_COLOURS["seasonal"],
                            ],
                        ),
                    ),
                    tooltip=[
                        alt.Tooltip("week:T", format="%-d %b %Y"),
                        alt.Tooltip("share:Q", title=f"{names['A']}'s share"),
                        alt.Tooltip("state:N"),
                        alt.Tooltip("one_sided:N"),
                    ],
                )  # fmt: skip
            )
        else:
            empty = pd.DataFrame({"week": [span["lo"]], "share": [50]})
            layers.append(
                alt.Chart(named_data(datasets, "no-weeks", empty))
                .mark_point(opacity=0)
                .encode(x=x, y=y)
            )
        panels.append(
            panel(
                layers, width=WIDTH, height=110, title=alt.Title(DOMAIN_LABELS[domain], fontSize=12)
            )
        )
    return alt.VConcatChart(
        vconcat=panels,
        spacing=14,
        datasets=datasets,
        title=alt.Title(
            "Week by week: who carried more",
            subtitle=[
                f"Above the middle line {names['A']} carried more, below it {names['B']}. "
                f"The grey band is within {t.imbalance_points:g} points of 50/50.",
                "Shaded: an agreed season, in the colour of the partner it supports. "
                "Dashed outline: a season not agreed by both.",
            ],
        ),
    )


def _season_rows(
    seasons: pd.DataFrame, names: dict[str, str], lo: pd.Timestamp, hi: pd.Timestamp
) -> pd.DataFrame:
    """Seasons clipped to the shown weeks, ready to draw."""
    cols = ["start", "end", "partner", "supported", "agreed", "label"]
    if seasons is None or seasons.empty:
        return pd.DataFrame(columns=cols)
    s = season_weeks(seasons)
    s = s.loc[(s["active_to"] >= lo) & (s["active_from"] <= hi + pd.Timedelta(days=6))]
    if s.empty:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(
        {
            # The season's own days (the weeks it covers are those whose Monday is inside).
            "start": s["active_from"].clip(lower=lo),
            "end": (s["active_to"] + pd.Timedelta(days=1)).clip(upper=hi + pd.Timedelta(days=7)),
            "partner": s["partner"],
            "supported": s["partner"].map(names),
            "agreed": s["agreed"].astype(bool),
            "label": s["reason"].str.replace("_", " ")
            + " ("
            + s["partner"].map(names)
            + ")"
            + s["agreed"].map({True: ", agreed", False: ", not agreed"}),
        }
    )
    return iso_dates(out, "start", "end").reset_index(drop=True)


# -- wellbeing and personal work ------------------------------------------------------------------


def _per_partner_weekly(
    answers: pd.DataFrame, items: list[str], as_of: Any, weeks: int
) -> pd.DataFrame:
    rows = answers.loc[
        answers["item"].isin(items) & answers["value_num"].notna(),
        ["partner", "week", "item", "value_num"],
    ]
    end = None if as_of is None else as_week(as_of)
    rows = recent(rows, end, weeks)
    # One value per partner, week and item (the store has no duplicates; other frames may).
    return rows.groupby(["partner", "week", "item"], as_index=False)["value_num"].mean()


def wellbeing_chart(
    answers: pd.DataFrame,
    names: dict[str, str] | None = None,
    as_of: Any = None,
    weeks: int = DEFAULT_WEEKS,
) -> alt.HConcatChart:
    """Energy (0-10) and teamwork (1-5) of both partners, week by week."""
    names = display_names_of(names)
    data = _per_partner_weekly(answers, ["energy", "teamwork"], as_of, weeks)
    data["who"] = data["partner"].map(names)
    data = iso_dates(data, "week")
    colour = alt.Color("who:N", scale=partner_scale(names), title=None)
    datasets: dict[str, Any] = {}
    panels = []
    for item, title, top in (("energy", "Energy (0-10)", 10), ("teamwork", "Teamwork (1-5)", 5)):
        part = data.loc[data["item"] == item, ["who", "week", "value_num"]]
        panels.append(
            alt.Chart(named_data(datasets, item, part))
            .mark_line(point=True)
            .encode(
                x=alt.X("week:T", title=None, axis=_dates_axis()),
                y=alt.Y(
                    "value_num:Q", title=None, scale=alt.Scale(domain=[0 if top == 10 else 1, top])
                ),
                color=colour,
                tooltip=[
                    alt.Tooltip("who:N", title="Partner"),
                    alt.Tooltip("week:T", format="%-d %b %Y"),
                    alt.Tooltip("value_num:Q", title=title),
                ],
            )  # fmt: skip
            .properties(width=WIDTH // 2 - 10, height=140, title=alt.Title(title, fontSize=12))
        )
    return alt.HConcatChart(
        hconcat=panels,
        datasets=datasets,
        title=alt.Title(
            "How each of you has been",
            subtitle="Each partner's own answers: the energy they had and how the teamwork felt.",
        ),
    )


def personal_work_chart(
    answers: pd.DataFrame,
    names: dict[str, str] | None = None,
    as_of: Any = None,
    weeks: int = DEFAULT_WEEKS,
) -> alt.Chart:
    """Each partner's own work (0-4), as they rate it and as their partner rates it."""
    names = display_names_of(names)
    data = _per_partner_weekly(answers, [PERSONAL_SELF, PERSONAL_PARTNER], as_of, weeks)
    own = data["item"] == PERSONAL_SELF
    subject = data["partner"].where(own, data["partner"].map({"A": "B", "B": "A"}))
    data = pd.DataFrame(
        {
            "who": subject.map(names),
            "week": data["week"],
            "rating": data["value_num"],
            "rated_by": own.map({True: "by themselves", False: "by their partner"}),
        }
    )
    datasets: dict[str, Any] = {}
    data = named_data(datasets, "ratings", iso_dates(data, "week"))
    return (
        alt.Chart(data, datasets=datasets)
        .mark_line(point=True)
        .encode(
            x=alt.X("week:T", title=None, axis=_dates_axis()),
            y=alt.Y("rating:Q", scale=alt.Scale(domain=[0, 4]), title="Own work (0-4)"),
            color=alt.Color("who:N", scale=partner_scale(names), title="Whose work"),
            strokeDash=alt.StrokeDash(
                "rated_by:N",
                title="Rated",
                scale=alt.Scale(
                    domain=["by themselves", "by their partner"], range=[[1, 0], [5, 3]]
                ),
                legend=alt.Legend(symbolType="stroke", symbolStrokeColor=NEUTRAL),
            ),
            detail=alt.Detail("rated_by:N"),
            tooltip=[
                alt.Tooltip("who:N", title="Whose work"),
                alt.Tooltip("rated_by:N", title="Rated"),
                alt.Tooltip("week:T", format="%-d %b %Y"),
                alt.Tooltip("rating:Q", title="Rating"),
            ],
        )  # fmt: skip
        .properties(
            width=WIDTH,
            height=160,
            title=alt.Title(
                "Is each of you doing your own work?",
                subtitle="Growth, triggers, owning your side: solid as rated by themselves, "
                "dashed as rated by their partner.",
            ),
        )
    )
