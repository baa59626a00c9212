"""The Altair chart set: lifting, perception, timeline, wellbeing, personal work, caseload.

Every builder aggregates in pandas first and hands Altair only the rows it draws,
so no chart comes near Altair's 5,000-row limit whatever the history length
(timelines show at most ``weeks`` weeks; the caseload draws one row per couple).
Titles and labels are plain language and use the partners' display names; the theme,
colours and SVG rendering are :mod:`~mutuality_helpers.theme`'s, the week-by-week charts
:mod:`~mutuality_helpers.timeline`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import altair as alt
import pandas as pd

from .analysis import weekly_shares
from .formatting import STATUS_LABELS, display_names_of, long_day
from .instruments import DOMAIN_LABELS, SHARE_DOMAINS
from .summary import Summary, summarize_read
from .theme import (
    DEFAULT_WEEKS,
    NEUTRAL,
    PARTNER_COLOURS,
    WIDTH,
    named_data,
    partner_scale,
    status_scale,
)
from .thresholds import Thresholds
from .timeline import personal_work_chart, timeline_chart, wellbeing_chart
from .validation import parse_couple_id
from .weeks import as_week

if TYPE_CHECKING:
    from .store import Store

__all__ = [
    "caseload_chart",
    "chart_set",
    "couple_charts",
    "couple_summary_and_charts",
    "lifting_chart",
    "perception_chart",
    "personal_work_chart",
    "timeline_chart",
    "wellbeing_chart",
]


# -- who is lifting ----------------------------------------------------------------------


def lifting_chart(summary: Summary) -> alt.LayerChart:
    """A's share per domain over the window, diverging around 50/50, labelled with status.

    Parameters
    ----------
    summary
        :func:`~mutuality_helpers.summary.summarize` output.
    """
    names = display_names_of(summary.get("names"))
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
    # The bars and their labels share the domains' rows, named once (theme.named_data).
    datasets: dict[str, Any] = {}
    data = named_data(datasets, "domains", pd.DataFrame(rows))
    order = [DOMAIN_LABELS[d] for d in SHARE_DOMAINS]
    y = alt.Y("domain:N", sort=order, title=None, axis=alt.Axis(labelLimit=0))
    x_title = (
        f"← {names['B']} carried more  ·  {names['A']}'s share (%)  ·  {names['A']} carried more →"
    )
    base = alt.Chart(data)
    bars = base.mark_bar(size=20).encode(
        x=alt.X("centre:Q", scale=alt.Scale(domain=[0, 100]), title=x_title),
        x2=alt.X2("share_a:Q"),
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
    centre = _centre_line(datasets)
    labels = base.mark_text(align="left", dx=4, fontSize=11, color="#222222").encode(
        x=alt.XValue(WIDTH + 6), y=y, text=alt.Text("label:N")
    )
    # Sizes and title given to the constructor: .properties() would deep-copy every layer.
    return alt.LayerChart(
        layer=[bars, centre, labels],
        datasets=datasets,
        width=WIDTH,
        height=alt.Step(30),
        title=alt.Title(
            "Who is doing the relational lifting?",
            subtitle=f"Last {summary['window_weeks']} weeks up to the week of "
            f"{long_day(summary['as_of'])}. Bars lean towards the partner who carried more.",
        ),
    )


def _centre_line(datasets: dict[str, Any]) -> alt.Chart:
    """The 50/50 line of the share charts."""
    centre = named_data(datasets, "centre", pd.DataFrame({"x": [50]}))
    return alt.Chart(centre).mark_rule(color=NEUTRAL).encode(x=alt.X("x:Q"))


# -- perception ------------------------------------------------------------------------------


def perception_chart(summary: Summary) -> alt.LayerChart:
    """Each partner's view of A's share per domain, side by side (the perception gap)."""
    names = display_names_of(summary.get("names"))
    rows = []
    for domain in SHARE_DOMAINS:
        d = summary["domains"][domain]
        for partner, share in (("A", d["view_a"]), ("B", d["view_b"])):
            if share is not None:
                rows.append(
                    {
                        "domain": DOMAIN_LABELS[domain],
                        "view": names[partner],
                        "share": share,
                        "gap": d["perception_gap"],
                    }
                )
    datasets: dict[str, Any] = {}
    data = named_data(
        datasets, "views", pd.DataFrame(rows, columns=["domain", "view", "share", "gap"])
    )
    order = [DOMAIN_LABELS[d] for d in SHARE_DOMAINS]
    y = alt.Y("domain:N", sort=order, title=None, axis=alt.Axis(labelLimit=0))
    x = alt.X(
        "share:Q",
        scale=alt.Scale(domain=[0, 100]),
        title=f"{names['A']}'s share (%), as each sees it",
    )
    base = alt.Chart(data)
    link = base.mark_rule(color="#AAAAAA", strokeWidth=3).encode(
        x=alt.X("min(share):Q", scale=alt.Scale(domain=[0, 100])), x2=alt.X2("max(share):Q"), y=y
    )
    dots = base.mark_point(filled=True, size=120, opacity=1).encode(
        x=x,
        y=y,
        color=alt.Color("view:N", scale=partner_scale(names), title="Seen by"),
        tooltip=[
            alt.Tooltip("domain:N", title="Domain"),
            alt.Tooltip("view:N", title="Seen by"),
            alt.Tooltip("share:Q", title=f"{names['A']}'s share (%)", format=".0f"),
            alt.Tooltip("gap:Q", title="Gap (points)", format="+.0f"),
        ],
    )
    centre = _centre_line(datasets)
    return alt.LayerChart(
        layer=[link, centre, dots],
        datasets=datasets,
        width=WIDTH,
        title=alt.Title(
            "Do you see it the same way?",
            subtitle=f"How much {names['A']} carried, according to {names['A']} and to "
            f"{names['B']}, over the weeks both answered.",
        ),
    )


# -- caseload -----------------------------------------------------------------------------------


def caseload_chart(caseload: pd.DataFrame, limit: int | None = None) -> alt.HConcatChart:
    """Every couple at a glance: one row per couple, status per domain, worst first.

    Parameters
    ----------
    caseload
        :func:`~mutuality_helpers.caseload_table.caseload` output (already worst first).
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
    labels: list[Any] = [DOMAIN_LABELS[d] for d in SHARE_DOMAINS]
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
            color=alt.Color("status:N", scale=status_scale(), title="Status"),
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
    summary: Summary,
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
    store: Store,
    couple_id: str,
    as_of: Any = None,
    thresholds: Thresholds | None = None,
    weeks: int = DEFAULT_WEEKS,
    today: Any = None,
) -> tuple[Summary, dict[str, alt.TopLevelMixin]]:
    """One couple's summary and its :func:`chart_set`, read and judged once.

    The summary is :func:`~mutuality_helpers.summary.summarize`'s (as of today when
    ``as_of`` is None); the session workbook shows both. The charts draw no private item.

    Raises
    ------
    UnknownCouple
        When the couple is not in the store.
    """
    couple = store.get_couple(parse_couple_id(couple_id))  # UnknownCouple if absent
    couple_id = couple["couple_id"]
    answers = store.answers_between(None, couple_ids=couple_id)
    seasons = store.seasons(couple_id)
    weekly = weekly_shares(answers, seasons, thresholds)
    summary = summarize_read(store, couple, answers, seasons, as_of, thresholds, today, weekly)
    return summary, chart_set(summary, answers, seasons, weekly, thresholds, weeks)


def couple_charts(
    store: Store,
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
