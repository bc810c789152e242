"""A deterministic synthetic title graph for tests and benchmarks, and the expected
breadth-first crawl over it.

Titles are ``tt9000001`` .. ``tt9000000+n``.  Each has ``out_degree`` "More like this"
links (fewer when the graph is too small), in rank order:

* rank 1 is always the next title (``i+1``, wrapping to the first), so a crawl from
  ``tt9000001`` can reach every title;
* the other ranks are distinct titles of the graph drawn from a generator seeded with
  ``(seed, i)``, never the title itself;
* every 7th title (``i % 7 == 0``) has its last link pointing *outside* the graph, to
  ``tt8`` + the same six digits (``tt9000007`` -> ``tt8000007``).  The mirror has no page
  for it (404): a crawl schedules it and records a failure.

Same arguments, same graph, in any process (``random.Random`` seeded with a string).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from crawler.records import CreditRecord, SimilarTitleRecord, TitleRecord

FIRST = 9_000_001
OUTSIDE_EVERY = 7

_GENRES = (
    "Action",
    "Adventure",
    "Animation",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Family",
    "Fantasy",
    "History",
    "Horror",
    "Music",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
_COUNTRIES = (
    ("United States", "US"),
    ("France", "FR"),
    ("Japan", "JP"),
    ("India", "IN"),
    ("Italy", "IT"),
    ("United Kingdom", "GB"),
    ("Soviet Union", "SUHH"),
)
_LANGUAGES = (
    ("English", "en"),
    ("French", "fr"),
    ("Japanese", "ja"),
    ("Hindi", "hi"),
    ("Italian", "it"),
    ("Russian", "ru"),
)
_CERTS = ("G", "PG", "PG-13", "R", "Not Rated", "TV-14")
_FIRST_NAMES = ("Anna", "Boris", "Chen", "Dara", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jun")
_LAST_NAMES = ("Adler", "Brandt", "Costa", "Dumas", "Endo", "Fischer", "Grieg", "Haas", "Ito")


def tconst_of(index: int) -> str:
    """1 -> ``tt9000001``."""
    return f"tt{FIRST + index - 1}"


def outside_tconst(index: int) -> str:
    """The out-of-graph link of title ``index`` (``tt8`` + its six digits)."""
    return "tt8" + tconst_of(index)[3:]


def _person(rng: random.Random) -> tuple[str, str]:
    return (
        f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}",
        f"nm9{rng.randrange(1_000_000):06d}",
    )


def _title(index: int, seed: int) -> TitleRecord:
    rng = random.Random(f"title:{seed}:{index}")
    tconst = tconst_of(index)
    kind = "tvSeries" if index % 5 == 0 else "movie"
    year = rng.randint(1920, 2023)
    name = f"Synthetic Title {index}"
    country, country_code = rng.choice(_COUNTRIES)
    language, language_code = rng.choice(_LANGUAGES)
    credits: list[CreditRecord] = []
    director, director_id = _person(rng)
    credits.append(
        {
            "category": "director",
            "ordering": 1,
            "nconst": director_id,
            "name": director,
            "characters": [],
            "notes": [],
        }
    )
    for k in range(rng.randint(1, 2)):
        writer, writer_id = _person(rng)
        credits.append(
            {
                "category": "writer",
                "ordering": k + 1,
                "nconst": writer_id if k == 0 else None,  # some people have no id
                "name": writer,
                "characters": [],
                "notes": ["screenplay"] if k == 0 else [],
            }
        )
    for k in range(rng.randint(3, 6)):
        actor, actor_id = _person(rng)
        credits.append(
            {
                "category": rng.choice(("actor", "actress")),
                "ordering": k + 1,
                "nconst": actor_id,
                "name": actor,
                "characters": [f"Character {index}.{k + 1}"],
                "notes": ["uncredited"] if k == 5 else [],
            }
        )
    votes = rng.randint(20, 2_500_000)
    return {
        "tconst": tconst,
        "url": f"https://www.imdb.com/title/{tconst}/",
        "title_type": kind,
        "primary_title": name,
        "original_title": name if index % 3 else f"Titre synthétique {index}",
        "is_adult": False,
        "start_year": year,
        "end_year": year + rng.randint(1, 6) if kind == "tvSeries" else None,
        "runtime_minutes": rng.randint(22, 60) if kind == "tvSeries" else rng.randint(70, 190),
        "genres": sorted(rng.sample(_GENRES, rng.randint(1, 3))),
        "certificate": rng.choice(_CERTS),
        "release_date": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "release_country": country,
        "release_country_code": country_code,
        "countries_of_origin": [country],
        "countries_of_origin_codes": [country_code],
        "spoken_languages": [language],
        "spoken_language_codes": [language_code],
        "also_known_as": [f"Synthetic {index}"],
        "plot": f"The plot of synthetic title {index}, in one sentence.",
        "storyline": f"A longer storyline of synthetic title {index}. It has two sentences.",
        "storyline_author": director,
        "taglines": [f"Tagline {index}"],
        "keywords": [f"keyword {index}", "synthetic"],
        "keywords_total": 2 + rng.randint(0, 40),
        "filming_locations": [f"Stage {index % 9 + 1}, Test City"],
        "production_companies": [f"Studio {index % 13}"],
        "production_company_ids": [f"co9{index % 13:06d}"],
        "budget": {"amount": rng.randint(1, 200) * 100_000, "currency": "USD"},
        "opening_weekend_us_canada": None,
        "gross_us_canada": {"amount": rng.randint(10_000, 90_000_000), "currency": "USD"},
        "gross_worldwide": None,
        "color": ["Color"] if year > 1965 else ["Black and White"],
        "sound_mix": ["Mono"],
        "aspect_ratio": ["1.85 : 1"],
        "awards_wins": rng.randint(0, 20),
        "awards_nominations": rng.randint(0, 30),
        "prestigious_award": None,
        "prestigious_award_wins": None,
        "prestigious_award_nominations": None,
        "user_review_count": rng.randint(0, 3000),
        "critic_review_count": rng.randint(0, 400),
        "metascore": rng.randint(20, 100) if index % 2 else None,
        "poster_url": None,
        "average_rating": round(rng.uniform(2.0, 9.6), 1),
        "num_votes": votes,
        "credits": credits,
        "more_like_this": [],
    }


def _card(target: TitleRecord, rank: int) -> SimilarTitleRecord:
    return {
        "rank": rank,
        "tconst": target["tconst"],
        "primary_title": target.get("primary_title"),
        "original_title": target.get("original_title"),
        "title_type": target.get("title_type"),
        "start_year": target.get("start_year"),
        "end_year": target.get("end_year"),
        "average_rating": target.get("average_rating"),
        "num_votes": target.get("num_votes"),
        "genres": list(target.get("genres", [])),
    }


def synthetic_graph(
    n_titles: int, *, out_degree: int = 12, seed: int = 0
) -> dict[str, TitleRecord]:
    """``{tconst: record}`` of ``n_titles`` titles with "More like this" links (see the
    module doc for the rules, including the links that leave the graph)."""
    if n_titles < 1:
        raise ValueError("n_titles must be at least 1")
    titles = {tconst_of(i): _title(i, seed) for i in range(1, n_titles + 1)}
    for i in range(1, n_titles + 1):
        rng = random.Random(f"links:{seed}:{i}")
        inside = min(out_degree, n_titles - 1)
        leaves = out_degree > 0 and i % OUTSIDE_EVERY == 0
        if leaves and inside == out_degree:
            inside -= 1
        targets: list[int] = []
        if inside > 0:
            targets.append(i % n_titles + 1)
            others = (
                [j for j in range(1, n_titles + 1) if j != i and j != targets[0]]
                if n_titles <= 4 * out_degree + 2
                else None
            )
            while len(targets) < inside:
                j = rng.choice(others) if others else rng.randint(1, n_titles)
                if j != i and j not in targets:
                    targets.append(j)
        cards = [_card(titles[tconst_of(j)], rank) for rank, j in enumerate(targets, 1)]
        if leaves:
            out = outside_tconst(i)
            cards.append(
                {
                    "rank": len(cards) + 1,
                    "tconst": out,
                    "primary_title": f"Outside Title {i}",
                    "original_title": None,
                    "title_type": "movie",
                    "start_year": 2000,
                    "end_year": None,
                    "average_rating": 5.0,
                    "num_votes": 100,
                    "genres": ["Drama"],
                }
            )
        titles[tconst_of(i)]["more_like_this"] = cards
    return titles


@dataclass
class BfsExpectation:
    """What a correct breadth-first crawl over a graph does."""

    order: list[str] = field(default_factory=list)  # scheduled titles, in BFS order
    depth: dict[str, int] = field(default_factory=dict)  # tconst -> its depth
    edges: set[tuple[str, str]] = field(default_factory=set)  # (tconst, similar) from fetched pages
    ranked_edges: list[tuple[str, str, int]] = field(default_factory=list)  # with rank, in order
    missing: list[str] = field(default_factory=list)  # scheduled but not in the graph (404)
    dropped_by_limit: int = 0  # links not scheduled because max_titles was reached


def bfs_order(
    graph: Mapping[str, TitleRecord], seeds: Iterable[str], depth: int, max_titles: int
) -> BfsExpectation:
    """The expected crawl: seeds at depth 0; each fetched title's links, level by level
    and in page order, schedule unseen titles at depth+1 while depth+1 <= ``depth`` and
    fewer than ``max_titles`` titles are scheduled (failures count).  Every fetched
    title's links are edges, including links to titles left unscheduled."""
    exp = BfsExpectation()

    def schedule(tconst: str, d: int) -> None:
        if tconst in exp.depth:
            return
        if len(exp.order) >= max_titles:
            exp.dropped_by_limit += 1
            return
        exp.depth[tconst] = d
        exp.order.append(tconst)
        level.append(tconst)

    level: list[str] = []
    for s in seeds:
        schedule(s, 0)
    d = 0
    while level:
        current, level = level, []
        links: list[tuple[str, list[str]]] = []
        for tconst in current:
            record = graph.get(tconst)
            if record is None:
                exp.missing.append(tconst)
                continue
            similar = [c["tconst"] for c in record.get("more_like_this", [])]
            for rank, other in enumerate(similar, 1):
                exp.edges.add((tconst, other))
                exp.ranked_edges.append((tconst, other, rank))
            links.append((tconst, similar))
        if d + 1 <= depth:
            for _tconst, similar in links:
                for other in similar:
                    schedule(other, d + 1)
        d += 1
    return exp
