"""The synthetic demo couples: a seeded generator and an idempotent loader.

The couples are invented; their stories are chosen so that every judgement shows
up at the last demo week:

========  ============================================================
D001      balanced: the load moves back and forth, nobody carries it all
D002      seasonal: B was ill, both agreed A would carry more for a while
D003      a season that overstays: A's deadline season ended, the imbalance did not
D004      chronic: A starts every repair and holds the feelings, month after month;
          B declared a burnout season that A never agreed to
D005      one partner stops answering: B's check-ins stop four weeks before the end
========  ============================================================

The generated CSVs are committed under ``data/demo/``; ``python -m
mutuality_helpers.demo`` writes them again (the generator is seeded, so the
files come out the same byte for byte).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import config
from .exceptions import StoreError
from .instruments import SHARE_DOMAINS, get_instrument, share_item
from .interchange import ANSWER_HEADER, COUPLE_HEADER, SEASON_HEADER, import_files
from .store import Store

#: The demo couple whose report ``mutuality demo`` renders: it shows the most (chronic
#: domains, an unagreed season, alerts, a falling mutuality index).
DEMO_REPORT_COUPLE = "D004"

SEED = 20260907
FIRST_WEEK = dt.date(2026, 8, 24)
WEEKS = 14
SESSION_HEADER = ("couple_id", "date", "notes", "agreements")
DEMO_FILES = ("couples.csv", "answers.csv", "seasons.csv", "sessions.csv")


@dataclass
class Story:
    couple_id: str
    name_a: str
    name_b: str
    # (week index -> A's true share) per share domain; default 50.
    share_a: dict[str, Callable[[int], float]] = field(default_factory=dict)
    personal_a: float = 3.0
    personal_b: float = 3.0
    # Weeks (0-based) in which B gives no check-in.
    silent_b: set[int] = field(default_factory=set)
    demands_a: dict[int, str] = field(default_factory=dict)
    demands_b: dict[int, str] = field(default_factory=dict)
    reflections_a: list[str] = field(default_factory=list)
    reflections_b: list[str] = field(default_factory=list)
    seasons: list[tuple] = field(default_factory=list)
    sessions: list[tuple] = field(default_factory=list)


def _week(i: int) -> dt.date:
    return FIRST_WEEK + dt.timedelta(weeks=i)


def _stories() -> list[Story]:
    return [
        Story(
            "D001",
            "Sam",
            "Alex",
            share_a={
                "repair": lambda w: 50 + (8 if w % 3 == 0 else -6),
                "connection": lambda w: 48 + (w % 4) * 3,
                "emotional_labour": lambda w: 55 - (w % 5) * 2,
                "practical_load": lambda w: 45 + (w % 2) * 8,
            },
            personal_a=3.2,
            personal_b=3.0,
            demands_a={3: "work", 9: "work"},
            demands_b={6: "children"},
            reflections_a=[
                "We split the weekend jobs without arguing about it.",
                "Alex noticed I was tired and took the kids to the park.",
                "I apologised first on Tuesday; Alex did on Friday. Felt even.",
                "Date night happened because we both kept it in the calendar.",
            ],
            reflections_b=[
                "Sam planned dinner with friends, I planned Sunday. Felt shared.",
                "We had one snappy evening but talked it through the next morning.",
                "I asked for help with the paperwork and got it straight away.",
                "A calm week. We checked in with each other most evenings.",
            ],
            sessions=[
                (1, "Intake. Both describe the load as shared.", "Keep the Sunday check-in."),
                (
                    7,
                    "Review. Steady; small friction over planning.",
                    "Alternate who plans date night.",
                ),
                (13, "Review.", ""),
            ],
        ),  # fmt: skip
        Story(
            "D002",
            "Priya",
            "Tom",
            share_a={
                "repair": lambda w: 72 if 6 <= w <= 11 else 50,
                "connection": lambda w: 70 if 6 <= w <= 11 else 48,
                "emotional_labour": lambda w: 75 if 6 <= w <= 11 else 52,
                "practical_load": lambda w: 80 if 6 <= w <= 11 else 50,
            },
            personal_a=2.8,
            personal_b=2.6,
            demands_b={w: "illness" for w in range(6, 12)},
            demands_a={8: "caregiving"},
            reflections_a=[
                "Tom has been so unwell. I'm carrying most of it and that's fine for now.",
                "He thanked me for handling everything. It helps to hear it.",
                "Tired, but we agreed this is how it goes until he is back on his feet.",
                "Tom took back the school run this week. Good to see.",
            ],
            reflections_b=[
                "Still in bed most days. Priya is holding everything together.",
                "I hate how much she has to carry, but we talked about it and she's okay.",
                "Starting to do a bit more again. Made dinner twice.",
                "Feels more like us again.",
            ],
            seasons=[("B", "illness", 6, 11, True, "pneumonia, then recovery")],
            sessions=[
                (1, "Intake.", "Name it when one of us needs more."),
                (7, "Tom ill; agreed season for Priya to carry more.", "Review after six weeks."),
                (13, "Tom recovering; load rebalancing.", "Hand back the school run."),
            ],
        ),  # fmt: skip
        Story(
            "D003",
            "Jordan",
            "Casey",
            share_a={
                "repair": lambda w: 28 if w >= 4 else 50,
                "connection": lambda w: 25 if w >= 4 else 52,
                "emotional_labour": lambda w: 24 if w >= 4 else 50,
                "practical_load": lambda w: 26 if w >= 4 else 48,
            },
            personal_a=2.2,
            personal_b=3.0,
            demands_a={w: "work" for w in range(4, 14)},
            reflections_a=[
                "The launch is eating everything. Casey is covering, I know.",
                "The deadline moved again. I keep saying next week.",
                "Project is officially done but the work hasn't let go of me.",
                "I missed our evening again. I don't like who I am at the moment.",
            ],
            reflections_b=[
                "Happy to carry more while Jordan has the launch. We agreed.",
                "The launch was meant to be over by now.",
                "I'm still doing all the planning. Nobody is talking about when this ends.",
                "I feel like a single parent with a housemate.",
            ],
            seasons=[("A", "work", 4, 9, True, "product launch")],
            sessions=[
                (1, "Intake.", ""),
                (
                    5,
                    "Jordan's launch: agreed season for Casey to carry more until mid-October.",
                    "Jordan keeps Sunday evenings free.",
                ),
                (13, "Season ended on paper; imbalance continues.", ""),
            ],
        ),  # fmt: skip
        Story(
            "D004",
            "Morgan",
            "Riley",
            share_a={
                "repair": lambda w: 82,
                "connection": lambda w: 66,
                "emotional_labour": lambda w: 80,
                "practical_load": lambda w: 58,
            },
            personal_a=3.4,
            personal_b=0.9,
            demands_b={w: "burnout" for w in range(8, 14)},
            demands_a={5: "work"},
            reflections_a=[
                "I apologised again, even though I'm not sure what for.",
                "If I don't start the conversation, nobody does.",
                "I asked Riley how they were feeling. Got a shrug.",
                "I'm exhausted from keeping the peace.",
            ],
            reflections_b=[
                "Fine week.",
                "Morgan gets upset about small things.",
                "Work has been heavy. I just want quiet when I get home.",
                "Not much to say.",
            ],
            seasons=[("B", "burnout", 8, 16, False, "Riley's request; Morgan has not agreed")],
            sessions=[
                (
                    1,
                    "Intake. Morgan describes carrying repair and feelings alone.",
                    "Riley reaches out first once this week.",
                ),
                (13, "Pattern unchanged.", ""),
            ],
        ),  # fmt: skip
        Story(
            "D005",
            "Lee",
            "Dana",
            share_a={
                "repair": lambda w: 55,
                "connection": lambda w: 50 + (w % 3) * 4,
                "emotional_labour": lambda w: 60,
                "practical_load": lambda w: 52,
            },
            personal_a=2.9,
            personal_b=2.4,
            silent_b=set(range(10, 14)),
            demands_a={11: "mental_health"},
            reflections_a=[
                "Dana has gone quiet about these check-ins.",
                "We are okay, I think. Hard to tell.",
                "I filled mine in again. Dana says she'll catch up.",
                "Still just me doing these.",
            ],
            reflections_b=[
                "Busy week, we did fine.",
                "I liked our walk on Saturday.",
                "Lee reminded me about these. Will try to keep up.",
            ],
            sessions=[
                (1, "Intake.", "Both fill in the check-in on Sunday evenings."),
                (13, "Dana has stopped checking in.", ""),
            ],
        ),  # fmt: skip
    ]


def _clip(value: float, lo: int, hi: int) -> int:
    return int(max(lo, min(hi, round(value))))


def generate(seed: int = SEED) -> dict[str, list[list[str]]]:
    """Build the demo rows for every file in :data:`DEMO_FILES` (header first)."""
    rng = random.Random(seed)
    inventory = get_instrument("mutuality_inventory")
    couples = [list(COUPLE_HEADER)]
    answers = [list(ANSWER_HEADER)]
    seasons = [list(SEASON_HEADER)]
    sessions = [list(SESSION_HEADER)]
    for story in _stories():
        couples.append([story.couple_id, story.name_a, story.name_b])
        for w in range(WEEKS):
            week = _week(w).isoformat()
            for partner in "AB":
                if partner == "B" and w in story.silent_b:
                    continue
                rows: list[tuple[str, object]] = []
                demand = (story.demands_a if partner == "A" else story.demands_b).get(w, "")
                mean_energy = 4 if demand else 6.5
                rows.append(("energy", _clip(rng.gauss(mean_energy, 1.2), 0, 10)))
                rows.append(("teamwork", _clip(rng.gauss(3.6, 0.7), 1, 5)))
                for domain in SHARE_DOMAINS:
                    true_a = story.share_a.get(domain, lambda _w: 50)(w)
                    mine = true_a if partner == "A" else 100 - true_a
                    # Each partner sees their own share a little generously.
                    rows.append((share_item(domain), _clip(rng.gauss(mine + 3, 4), 0, 100)))
                own = story.personal_a if partner == "A" else story.personal_b
                other = story.personal_b if partner == "A" else story.personal_a
                rows.append(("personal_work_self", _clip(rng.gauss(own, 0.5), 0, 4)))
                rows.append(("personal_work_partner", _clip(rng.gauss(other - 0.3, 0.6), 0, 4)))
                rows.append(("demands", demand))
                pool = story.reflections_a if partner == "A" else story.reflections_b
                if pool and rng.random() < 0.8:
                    rows.append(("reflection", pool[min(len(pool) - 1, w * len(pool) // WEEKS)]))
                if w in (0, 12):  # intake and review: the mutuality inventory
                    mutual = sum(story.share_a[d](w) for d in SHARE_DOMAINS) / 4
                    lean = abs(mutual - 50) / 50  # 0 mutual .. 1 one-sided
                    for item in inventory.items:
                        if item.type != "int":
                            continue
                        base = 4.2 - 2.4 * lean
                        score = 6 - base if item.reverse else base
                        rows.append((item.id, _clip(rng.gauss(score, 0.6), 1, 5)))
                answers.extend([story.couple_id, partner, week, k, str(v)] for k, v in rows)
        for partner, reason, start, end, agreed, note in story.seasons:
            seasons.append([
                story.couple_id, partner, reason, _week(start).isoformat(),
                _week(end).isoformat(), "true" if agreed else "false", note,
            ])  # fmt: skip
        for w, notes, agreements in story.sessions:
            day = _week(w) + dt.timedelta(days=3)  # sessions fall on Thursdays
            sessions.append([story.couple_id, day.isoformat(), notes, agreements])
    return {
        "couples.csv": couples,
        "answers.csv": answers,
        "seasons.csv": seasons,
        "sessions.csv": sessions,
    }


def write_demo_files(folder: str | Path = config.DEMO_DIR, seed: int = SEED) -> list[Path]:
    """Write the generated demo CSVs into ``folder`` (the committed ``data/demo/``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in generate(seed).items():
        path = folder / name
        with open(path, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(rows)
        written.append(path)
    return written


def load_demo(store: Store, folder: str | Path = config.DEMO_DIR) -> dict[str, int]:
    """Load the demo couples into ``store``; running it again changes nothing.

    The couples it creates are marked synthetic in the store; a couple with a demo id that
    is not marked (a practice's own D001) is never touched: nothing is loaded then.

    Returns the import counts plus ``sessions_added``.

    Raises
    ------
    StoreError
        When a couple with a demo id is in the store and is not demo data.
    """
    import sqlalchemy as sa

    from .schema import couples_table

    folder = Path(folder)
    c = couples_table
    with store.atomic() as conn:  # the couples and their sessions, or nothing
        with open(folder / "couples.csv", encoding="utf-8", newline="") as fh:
            ids = [row["couple_id"] for row in csv.DictReader(fh)]
        real = [
            r[0]
            for r in conn.execute(
                sa.select(c.c.couple_id).where(c.c.couple_id.in_(ids), c.c.synthetic.is_(False))
            )
        ]
        if real:
            raise StoreError(
                f"couple {real[0]} is already in the store and is not demo data; the demo "
                f"changes nothing (seed it into a folder of its own: mutuality demo --data DIR)"
            )
        result = import_files(
            store, [folder / "couples.csv", folder / "answers.csv", folder / "seasons.csv"]
        )
        if result.created:
            conn.execute(c.update().where(c.c.couple_id.in_(result.created)).values(synthetic=True))
        counts = dict(result.counts)
        counts["sessions_added"] = 0
        existing = store.sessions()
        with open(folder / "sessions.csv", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                mine = existing[existing["couple_id"] == row["couple_id"]]
                if (mine["date"].dt.date.astype(str) == row["date"]).any():
                    continue
                store.add_session(row["couple_id"], row["date"], row["notes"], row["agreements"])
                counts["sessions_added"] += 1
    return counts


def demo_couple_ids() -> list[str]:
    return [s.couple_id for s in _stories()]


def demo_report(store: Store) -> Path:
    """Render the demo couple's latest session report unless it is current; return its path."""
    from .render import render_one
    from .report import plan

    requests, _ = plan(store, DEMO_REPORT_COUPLE)
    request = requests[0]
    if store.report_is_current(request.couple_id, request.session):
        return request.output
    return render_one(request)


if __name__ == "__main__":
    for path in write_demo_files():
        print(path)
