"""The Altair chart set: lifting, timeline, perception, wellbeing, personal work, caseload.

Every builder aggregates in pandas first and hands Altair only the rows it draws,
so no chart comes near Altair's 5,000-row limit whatever the history length
(timelines show at most ``weeks`` weeks; the caseload draws one row per couple).

One theme (:data:`THEME`) is registered and enabled on import: an explicit font
the PDF side also has (DejaVu Sans, or legend text gets clipped in WeasyPrint) and
colour-blind-safe partner colours (Okabe-Ito blue for A, orange for B) used the
same way in every chart. Titles and labels are plain language and use the
partners' display names.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from .analysis import (
    PERSONAL_PARTNER,
    PERSONAL_SELF,
    Thresholds,
    _season_weeks,
    as_week,
    weekly_shares,
)
from .formatting import long_day
from .instruments import DOMAIN_LABELS, SHARE_DOMAINS
from .summary import STATUS_LABELS, summarize_frames
from .validation import parse_couple_id

THEME = "mutuality"
FONT = "DejaVu Sans"
#: Okabe-Ito colours: distinguishable with every common colour-vision deficiency.
PARTNER_COLOURS: dict[str, str] = {"A": "#0072B2", "B": "#E69F00"}
STATUS_COLOURS: dict[str, str] = {
    "balanced": "#009E73",
    "seasonal": "#56B4E9",
    "drifting": "#CC79A7",
    "chronic": "#D55E00",
    "insufficient_data": "#BBBBBB",
}
NEUTRAL = "#666666"
#: Timelines show at most this many weeks by default (a session looks back about half a year).
DEFAULT_WEEKS = 26
WIDTH = 460


def _theme() -> alt.theme.ThemeConfig:
    label = {"labelFont": FONT, "titleFont": FONT, "labelFontSize": 11, "titleFontSize": 11}
    return {
        "config": {
            "font": FONT,
            "background": "white",
            "padding": 8,
            "title": {
                "font": FONT,
                "subtitleFont": FONT,
                "fontSize": 14,
                "subtitleFontSize": 11,
                "anchor": "start",
                "subtitleColor": "#444444",
            },  # fmt: skip
            "axis": {**label, "gridColor": "#E6E6E6"},
            "legend": {**label, "labelLimit": 0, "titleLimit": 0, "orient": "bottom"},
            "header": {**label, "labelFontSize": 12},
            "text": {"font": FONT},
            "mark": {"font": FONT},
            "range": {"category": [PARTNER_COLOURS["A"], PARTNER_COLOURS["B"], NEUTRAL]},
            "view": {"stroke": None},
        }
    }


def register_theme() -> str:
    """Register and enable the workbook's Altair theme; returns its name."""
    alt.theme.register(THEME, enable=True)(_theme)
    return THEME


register_theme()


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Render a chart to static SVG with ``vl-convert`` (what the PDF report embeds).

    The theme is applied when the spec is built, so the SVG carries the font and colours.
    """
    import vl_convert as vlc

    version = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    if version not in vlc.get_vegalite_versions():
        version = None  # vl-convert's newest; the spec is still validated by Altair
    return vlc.vegalite_to_svg(chart.to_dict(), vl_version=version)


# -- helpers ---------------------------------------------------------------------------


def _names(names: dict[str, str] | None) -> dict[str, str]:
    names = dict(names or {})
    return {"A": names.get("A") or "Partner A", "B": names.get("B") or "Partner B"}


def _partner_scale(names: dict[str, str]) -> alt.Scale:
    """The partners' colours, keyed by display name (the legend shows names)."""
    return alt.Scale(
        domain=[names["A"], names["B"]], range=[PARTNER_COLOURS["A"], PARTNER_COLOURS["B"]]
    )


def _status_scale() -> alt.Scale:
    return alt.Scale(
        domain=[STATUS_LABELS[s] for s in STATUS_COLOURS], range=list(STATUS_COLOURS.values())
    )


def _recent(frame: pd.DataFrame, as_of: pd.Timestamp | None, weeks: int) -> pd.DataFrame:
    """Rows of the ``weeks`` weeks up to ``as_of`` (default: the latest week present)."""
    if frame.empty:
        return frame
    end = frame["week"].max() if as_of is None else as_of
    start = end - pd.Timedelta(weeks=weeks - 1)
    return frame.loc[(frame["week"] >= start) & (frame["week"] <= end)]


def _iso(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    frame = frame.copy()
    for c in cols:
        frame[c] = pd.to_datetime(frame[c]).dt.strftime("%Y-%m-%d")
    return frame


# -- who is lifting ----------------------------------------------------------------------


def lifting_chart(summary: dict[str, Any]) -> alt.LayerChart:
    """A's share per domain over the window, diverging around 50/50, labelled with status.

    Parameters
    ----------
    summary
        :func:`~mutuality_helpers.summary.summarize` output.
    """
    names = _names(summary.get("names"))
    rows = []
    for domain in SHARE_DOMAINS:
        d = summary["domains"][domain]
        share = d["share_a"]
        leans = None if share is None or share == 50 else (names["A"] if share > 50 else names["B"])
        rows.append(
            {
                "domain": DOMAIN_LABELS[domain],
                "share_a": share,
                "centre": 50,
                "leans": leans or "even",
                "status": STATUS_LABELS[d["status"]],
                "label": f"{STATUS_LABELS[d['status']]}"
                + ("" if share is None else f" · {names['A']} {share:.0f}%"),
            }
        )
    data = pd.DataFrame(rows)
    order = [DOMAIN_LABELS[d] for d in SHARE_DOMAINS]
    y = alt.Y("domain:N", sort=order, title=None, axis=alt.Axis(labelLimit=0))
    x_title = (
        f"← {names['B']} carried more  ·  {names['A']}'s share (%)  ·  {names['A']} carried more →"
    )
    base = alt.Chart(data)
    bars = base.mark_bar(size=20).encode(
        x=alt.X("centre:Q", scale=alt.Scale(domain=[0, 100]), title=x_title),
        x2="share_a:Q",
        y=y,
        color=alt.Color(
            "leans:N",
            scale=alt.Scale(
                domain=[names["A"], names["B"], "even"],
                range=[PARTNER_COLOURS["A"], PARTNER_COLOURS["B"], NEUTRAL],
            ),
            title="Carried more",
        ),
        tooltip=[
            alt.Tooltip("domain:N", title="Domain"),
            alt.Tooltip("share_a:Q", title=f"{names['A']}'s share (%)", format=".0f"),
            alt.Tooltip("status:N", title="Status"),
        ],
    )
    centre = alt.Chart(pd.DataFrame({"x": [50]})).mark_rule(color=NEUTRAL).encode(x="x:Q")
    labels = base.mark_text(align="left", dx=4, fontSize=11, color="#222222").encode(
        x=alt.value(WIDTH + 6), y=y, text="label:N"
    )
    return alt.layer(bars, centre, labels).properties(
        width=WIDTH,
        height=alt.Step(30),
        title=alt.Title(
            "Who is doing the relational lifting?",
            subtitle=f"Last {summary['window_weeks']} weeks up to the week of "
            f"{long_day(summary['as_of'])}. Bars lean towards the partner who carried more.",
        ),
    )


# -- timeline -------------------------------------------------------------------------------


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
    names = _names(names)
    end = None if as_of is None else as_week(as_of)
    shown = _recent(weekly, end, weeks)
    if shown.empty:
        lo = hi = end or pd.Timestamp.today().normalize()
    else:
        lo, hi = shown["week"].min(), shown["week"].max()
    span = {"lo": lo.strftime("%Y-%m-%d"), "hi": (hi + pd.Timedelta(days=6)).strftime("%Y-%m-%d")}
    x = alt.X(
        "week:T",
        title=None,
        scale=alt.Scale(domain=[span["lo"], span["hi"]]),
        axis=alt.Axis(format="%-d %b", labelAngle=0),
    )
    y = alt.Y("share:Q", scale=alt.Scale(domain=[0, 100]), title=f"{names['A']}'s share (%)")
    band = pd.DataFrame({"lo": [50 - t.imbalance_points], "hi": [50 + t.imbalance_points]})
    season_rows = _season_rows(seasons, names, lo, hi)
    panels = []
    for domain in SHARE_DOMAINS:
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
        points = _iso(points, "week")
        layers: list[alt.Chart] = [
            alt.Chart(band).mark_rect(color="#F2F2F2").encode(y="lo:Q", y2="hi:Q"),
            alt.Chart(pd.DataFrame({"y": [50]})).mark_rule(color="#BBBBBB").encode(y="y:Q"),
        ]
        if not season_rows.empty:
            agreed = season_rows.loc[season_rows["agreed"]]
            pending = season_rows.loc[~season_rows["agreed"]]
            for partner in ("A", "B"):
                mine = agreed.loc[agreed["partner"] == partner]
                if not mine.empty:
                    # A fixed colour, not a colour encoding: the week colours own that scale.
                    layers.append(
                        alt.Chart(mine)
                        .mark_rect(opacity=0.18, color=PARTNER_COLOURS[partner], clip=True)
                        .encode(x="start:T", x2="end:T")
                    )
            if not pending.empty:
                layers.append(
                    alt.Chart(pending)
                    .mark_rect(
                        fillOpacity=0, stroke=NEUTRAL, strokeDash=[4, 3], strokeWidth=1.2, clip=True
                    )
                    .encode(x="start:T", x2="end:T")
                )
            layers.append(
                alt.Chart(season_rows)
                .mark_text(align="left", baseline="top", dx=3, dy=3, fontSize=10, color="#333333")
                .encode(x="start:T", y=alt.value(2), text="label:N")
            )
        if not points.empty:
            layers.append(
                alt.Chart(points).mark_line(color=NEUTRAL, strokeWidth=1.5).encode(x=x, y=y)
            )
            layers.append(
                alt.Chart(points)
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
            layers.append(
                alt.Chart(pd.DataFrame({"week": [span["lo"]], "share": [50]}))
                .mark_point(opacity=0)
                .encode(x=x, y=y)
            )
        panels.append(
            alt.layer(*layers).properties(
                width=WIDTH, height=110, title=alt.Title(DOMAIN_LABELS[domain], fontSize=12)
            )
        )
    return alt.vconcat(*panels, spacing=14).properties(
        title=alt.Title(
            "Week by week: who carried more",
            subtitle=[
                f"Above the middle line {names['A']} carried more, below it {names['B']}. "
                f"The grey band is within {t.imbalance_points:g} points of 50/50.",
                "Shaded: an agreed season, in the colour of the partner it supports. "
                "Dashed outline: a season not agreed by both.",
            ],
        )
    )


def _season_rows(
    seasons: pd.DataFrame, names: dict[str, str], lo: pd.Timestamp, hi: pd.Timestamp
) -> pd.DataFrame:
    """Seasons clipped to the shown weeks, ready to draw."""
    cols = ["start", "end", "partner", "supported", "agreed", "label"]
    if seasons is None or seasons.empty:
        return pd.DataFrame(columns=cols)
    s = _season_weeks(seasons)
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
    return _iso(out, "start", "end").reset_index(drop=True)


# -- perception ------------------------------------------------------------------------------


def perception_chart(summary: dict[str, Any]) -> alt.LayerChart:
    """Each partner's view of A's share per domain, side by side (the perception gap)."""
    names = _names(summary.get("names"))
    rows = []
    for domain in SHARE_DOMAINS:
        d = summary["domains"][domain]
        for partner, key in (("A", "view_a"), ("B", "view_b")):
            if d.get(key) is not None:
                rows.append(
                    {
                        "domain": DOMAIN_LABELS[domain],
                        "view": names[partner],
                        "share": d[key],
                        "gap": d["perception_gap"],
                    }
                )
    data = pd.DataFrame(rows, columns=["domain", "view", "share", "gap"])
    order = [DOMAIN_LABELS[d] for d in SHARE_DOMAINS]
    y = alt.Y("domain:N", sort=order, title=None, axis=alt.Axis(labelLimit=0))
    x = alt.X(
        "share:Q",
        scale=alt.Scale(domain=[0, 100]),
        title=f"{names['A']}'s share (%), as each sees it",
    )
    base = alt.Chart(data)
    link = base.mark_rule(color="#AAAAAA", strokeWidth=3).encode(
        x=alt.X("min(share):Q", scale=alt.Scale(domain=[0, 100])), x2="max(share):Q", y=y
    )
    dots = base.mark_point(filled=True, size=120, opacity=1).encode(
        x=x,
        y=y,
        color=alt.Color("view:N", scale=_partner_scale(names), title="Seen by"),
        tooltip=[
            alt.Tooltip("domain:N", title="Domain"),
            alt.Tooltip("view:N", title="Seen by"),
            alt.Tooltip("share:Q", title=f"{names['A']}'s share (%)", format=".0f"),
            alt.Tooltip("gap:Q", title="Gap (points)", format="+.0f"),
        ],
    )
    centre = alt.Chart(pd.DataFrame({"x": [50]})).mark_rule(color=NEUTRAL).encode(x="x:Q")
    return alt.layer(link, centre, dots).properties(
        width=WIDTH,
        title=alt.Title(
            "Do you see it the same way?",
            subtitle=f"How much {names['A']} carried, according to {names['A']} and to "
            f"{names['B']}, over the weeks both answered.",
        ),
    )


# -- wellbeing and personal work ------------------------------------------------------------------


def _per_partner_weekly(
    answers: pd.DataFrame, items: list[str], as_of: Any, weeks: int
) -> pd.DataFrame:
    rows = answers.loc[
        answers["item"].isin(items) & answers["value_num"].notna(),
        ["partner", "week", "item", "value_num"],
    ]
    end = None if as_of is None else as_week(as_of)
    rows = _recent(rows, end, weeks)
    # One value per partner, week and item (the store has no duplicates; other frames may).
    return rows.groupby(["partner", "week", "item"], as_index=False)["value_num"].mean()


def wellbeing_chart(
    answers: pd.DataFrame,
    names: dict[str, str] | None = None,
    as_of: Any = None,
    weeks: int = DEFAULT_WEEKS,
) -> alt.HConcatChart:
    """Energy (0-10) and teamwork (1-5) of both partners, week by week."""
    names = _names(names)
    data = _per_partner_weekly(answers, ["energy", "teamwork"], as_of, weeks)
    data["who"] = data["partner"].map(names)
    data = _iso(data, "week")
    colour = alt.Color("who:N", scale=_partner_scale(names), title=None)
    panels = []
    for item, title, top in (("energy", "Energy (0-10)", 10), ("teamwork", "Teamwork (1-5)", 5)):
        part = data.loc[data["item"] == item, ["who", "week", "value_num"]]
        panels.append(
            alt.Chart(part)
            .mark_line(point=True)
            .encode(
                x=alt.X("week:T", title=None, axis=alt.Axis(format="%-d %b", labelAngle=0)),
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
    return alt.hconcat(*panels).properties(
        title=alt.Title(
            "How each of you has been",
            subtitle="Each partner's own answers: the energy they had and how the teamwork felt.",
        )
    )


def personal_work_chart(
    answers: pd.DataFrame,
    names: dict[str, str] | None = None,
    as_of: Any = None,
    weeks: int = DEFAULT_WEEKS,
) -> alt.Chart:
    """Each partner's own work (0-4), as they rate it and as their partner rates it."""
    names = _names(names)
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
    data = _iso(data, "week")
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("week:T", title=None, axis=alt.Axis(format="%-d %b", labelAngle=0)),
            y=alt.Y("rating:Q", scale=alt.Scale(domain=[0, 4]), title="Own work (0-4)"),
            color=alt.Color("who:N", scale=_partner_scale(names), title="Whose work"),
            strokeDash=alt.StrokeDash(
                "rated_by:N",
                title="Rated",
                scale=alt.Scale(
                    domain=["by themselves", "by their partner"], range=[[1, 0], [5, 3]]
                ),
                legend=alt.Legend(symbolType="stroke", symbolStrokeColor=NEUTRAL),
            ),
            detail="rated_by:N",
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


# -- caseload -----------------------------------------------------------------------------------


def caseload_chart(caseload: pd.DataFrame, limit: int | None = None) -> alt.Chart:
    """Every couple at a glance: one row per couple, status per domain, worst first.

    Parameters
    ----------
    caseload
        :func:`~mutuality_helpers.summary.caseload` output (already worst first).
    limit
        Show only the first ``limit`` couples (the worst ones).
    """
    frame = caseload if limit is None else caseload.head(limit)
    data = pd.DataFrame({"couple": frame["couple_id"].astype(str)})
    for domain in SHARE_DOMAINS:
        data[DOMAIN_LABELS[domain]] = frame[domain].map(STATUS_LABELS).to_numpy()
    data["index"] = frame["mutuality_index"].round(0).to_numpy()
    data["alerts"] = frame["alerts"].to_numpy()
    order = data["couple"].tolist()
    labels = [DOMAIN_LABELS[d] for d in SHARE_DOMAINS]
    y = alt.Y("couple:N", sort=order, title=None)
    # One row per couple; the fold into cells happens inside Vega-Lite.
    cells = (
        alt.Chart(data)
        .transform_fold(labels, as_=["domain", "status"])
        .mark_rect(stroke="white", strokeWidth=1)
        .encode(
            x=alt.X(
                "domain:N",
                sort=labels,
                title=None,
                axis=alt.Axis(orient="top", labelAngle=0, labelLimit=0),
            ),
            y=y,
            color=alt.Color("status:N", scale=_status_scale(), title="Status"),
            tooltip=[
                alt.Tooltip("couple:N", title="Couple"),
                alt.Tooltip("domain:N", title="Domain"),
                alt.Tooltip("status:N", title="Status"),
            ],
        )  # fmt: skip
        .properties(width=alt.Step(150), height=alt.Step(18))
    )
    index = (
        alt.Chart(data)
        .mark_text(align="right", fontSize=11)
        .encode(
            y=alt.Y("couple:N", sort=order, title=None, axis=None),
            text=alt.Text("index:Q", format=".0f"),
        )
        .properties(width=40, height=alt.Step(18), title=alt.Title("Index", fontSize=11))
    )
    alerts = (
        alt.Chart(data)
        .mark_text(align="right", fontSize=11)
        .encode(y=alt.Y("couple:N", sort=order, title=None, axis=None), text="alerts:Q")
        .properties(width=40, height=alt.Step(18), title=alt.Title("Alerts", fontSize=11))
    )
    return alt.hconcat(cells, index, alerts, spacing=6).properties(
        title=alt.Title(
            "Caseload at a glance",
            subtitle="One row per couple, most in need of attention first; index 0-100, "
            "higher is more mutual.",
        )
    )


# -- one couple's whole set ------------------------------------------------------------------------


def chart_set(
    summary: dict[str, Any],
    answers: pd.DataFrame,
    seasons: pd.DataFrame,
    weekly: pd.DataFrame,
    thresholds: Thresholds | None = None,
    weeks: int = DEFAULT_WEEKS,
) -> dict[str, alt.TopLevelMixin]:
    """Every chart for one couple, from frames already read and judged (no store access).

    Parameters
    ----------
    summary
        :func:`~mutuality_helpers.summary.summarize_frames` of the couple.
    answers, seasons, weekly
        The couple's frames that summary was judged from, and their weekly shares.

    Returns
    -------
    dict
        Keys ``lifting, perception, timeline, wellbeing, personal_work``, in page order:
        the two small charts first, so they share a page before the tall week-by-week one.
    """
    names = summary["names"]
    end = as_week(summary["as_of"])
    return {
        "lifting": lifting_chart(summary),
        "perception": perception_chart(summary),
        "timeline": timeline_chart(weekly, seasons, names, end, thresholds, weeks),
        "wellbeing": wellbeing_chart(answers, names, end, weeks),
        "personal_work": personal_work_chart(answers, names, end, weeks),
    }


def couple_summary_and_charts(
    store: Any,
    couple_id: str,
    as_of: Any = None,
    thresholds: Thresholds | None = None,
    weeks: int = DEFAULT_WEEKS,
) -> tuple[dict[str, Any], dict[str, alt.TopLevelMixin]]:
    """One couple's summary and its :func:`chart_set`, read and judged once.

    The summary is :func:`~mutuality_helpers.summary.summarize`'s; the session workbook
    shows both.

    Raises
    ------
    UnknownCouple
        When the couple is not in the store.
    """
    couple = store.get_couple(parse_couple_id(couple_id))  # UnknownCouple if absent
    couple_id = couple["couple_id"]
    names = {"A": couple["name_a"], "B": couple["name_b"]}
    answers = store.answers_between(None, couple_ids=couple_id)
    seasons = store.seasons(couple_id)
    weekly = weekly_shares(answers, seasons, thresholds)
    week = None if as_of is None else as_week(as_of)
    summary = summarize_frames(
        answers, seasons, couple_id, week, thresholds, names, store.sessions(couple_id),
        weekly=weekly,
    )  # fmt: skip
    return summary, chart_set(summary, answers, seasons, weekly, thresholds, weeks)


def couple_charts(
    store: Any,
    couple_id: str,
    as_of: Any = None,
    thresholds: Thresholds | None = None,
    weeks: int = DEFAULT_WEEKS,
) -> dict[str, alt.TopLevelMixin]:
    """Every chart for one couple: keys ``lifting, perception, timeline, wellbeing, personal_work``.

    Raises
    ------
    UnknownCouple
        When the couple is not in the store.
    """
    return couple_summary_and_charts(store, couple_id, as_of, thresholds, weeks)[1]
