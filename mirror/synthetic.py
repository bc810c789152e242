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
A title's record and links depend only on its index and the graph's arguments, so
:class:`SyntheticGraph` makes any title on demand, without the others.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

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


def is_synthetic(tconst: str) -> bool:
    """A tconst of the synthetic graphs' range (tt9000001 .. tt9999999): made-up titles,
    whose full credits pages may show made-up crew (the catalogue's are real titles)."""
    return len(tconst) == 9 and tconst.startswith("tt9") and tconst[2:].isdigit() \
        and int(tconst[2:]) >= FIRST


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


def _credits(rng: random.Random, index: int) -> list[CreditRecord]:
    """A director, one or two writers (the second without an id), three to six actors."""
    director, director_id = _person(rng)
    credits: list[CreditRecord] = [
        {
            "category": "director",
            "ordering": 1,
            "nconst": director_id,
            "name": director,
            "characters": [],
            "notes": [],
        }
    ]
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
    return credits


def _identity(rng: random.Random, index: int, kind: str, year: int) -> dict[str, Any]:
    name = f"Synthetic Title {index}"
    return {
        "tconst": tconst_of(index),
        "url": f"https://www.imdb.com/title/{tconst_of(index)}/",
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
    }


def _places_and_texts(
    rng: random.Random,
    index: int,
    country: tuple[str, str],
    language: tuple[str, str],
    author: str,
) -> dict[str, Any]:
    return {
        "release_country": country[0],
        "release_country_code": country[1],
        "countries_of_origin": [country[0]],
        "countries_of_origin_codes": [country[1]],
        "spoken_languages": [language[0]],
        "spoken_language_codes": [language[1]],
        "also_known_as": [f"Synthetic {index}"],
        "plot": f"The plot of synthetic title {index}, in one sentence.",
        "storyline": f"A longer storyline of synthetic title {index}. It has two sentences.",
        "storyline_author": author,
        "taglines": [f"Tagline {index}"],
        "keywords": [f"keyword {index}", "synthetic"],
        "keywords_total": 2 + rng.randint(0, 40),
        "filming_locations": [f"Stage {index % 9 + 1}, Test City"],
        "production_companies": [f"Studio {index % 13}"],
        "production_company_ids": [f"co9{index % 13:06d}"],
    }


def _numbers(rng: random.Random, index: int, year: int) -> dict[str, Any]:
    return {
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
    }


def _title(index: int, seed: int) -> TitleRecord:
    """Title ``index`` without its links: a function of (index, seed) only."""
    rng = random.Random(f"title:{seed}:{index}")
    kind = "tvSeries" if index % 5 == 0 else "movie"
    year = rng.randint(1920, 2023)
    country = rng.choice(_COUNTRIES)
    language = rng.choice(_LANGUAGES)
    credits = _credits(rng, index)
    votes = rng.randint(20, 2_500_000)
    director = credits[0]["name"]
    record: dict[str, Any] = {
        **_identity(rng, index, kind, year),  # the rng is drawn from in key order
        **_places_and_texts(rng, index, country, language, director),
        **_numbers(rng, index, year),
        "num_votes": votes,
        "credits": credits,
        "more_like_this": [],
    }
    return cast(TitleRecord, record)


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


def _outside_card(i: int, rank: int) -> SimilarTitleRecord:
    return {
        "rank": rank,
        "tconst": outside_tconst(i),
        "primary_title": f"Outside Title {i}",
        "original_title": None,
        "title_type": "movie",
        "start_year": 2000,
        "end_year": None,
        "average_rating": 5.0,
        "num_votes": 100,
        "genres": ["Drama"],
    }


def _links(i: int, n_titles: int, out_degree: int, seed: int) -> tuple[list[int], bool]:
    """The in-graph targets of title ``i`` in rank order, and whether it also links
    outside the graph: a function of its arguments only, so any title's links can be
    worked out on their own."""
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
    return targets, leaves


class SyntheticGraph(Mapping[str, TitleRecord]):
    """The graph of ``n_titles`` titles as a read-only mapping ``{tconst: record}`` whose
    records are made on demand: nothing is held per title, so a graph of a million
    titles costs no more memory than one of ten.  Each lookup makes a fresh record
    (the title and its linked titles' cards) from (tconst, n_titles, out_degree, seed)."""

    def __init__(self, n_titles: int, *, out_degree: int = 12, seed: int = 0) -> None:
        if n_titles < 1:
            raise ValueError("n_titles must be at least 1")
        self.n_titles = n_titles
        self.out_degree = out_degree
        self.seed = seed

    def index_of(self, tconst: object) -> int | None:
        """1 for ``tt9000001``; None for a tconst outside the graph."""
        if not isinstance(tconst, str) or not tconst.startswith("tt") or not tconst[2:].isdigit():
            return None
        index = int(tconst[2:]) - FIRST + 1
        return index if 1 <= index <= self.n_titles and tconst == tconst_of(index) else None

    def record(self, index: int) -> TitleRecord:
        """Title ``index`` (1-based) with its "More like this" cards."""
        title = _title(index, self.seed)
        targets, leaves = _links(index, self.n_titles, self.out_degree, self.seed)
        cards = [_card(_title(j, self.seed), rank) for rank, j in enumerate(targets, 1)]
        if leaves:
            cards.append(_outside_card(index, len(cards) + 1))
        title["more_like_this"] = cards
        return title

    def __getitem__(self, tconst: str) -> TitleRecord:
        index = self.index_of(tconst)
        if index is None:
            raise KeyError(tconst)
        return self.record(index)

    def __contains__(self, tconst: object) -> bool:
        return self.index_of(tconst) is not None

    def __iter__(self) -> Iterator[str]:
        return (tconst_of(i) for i in range(1, self.n_titles + 1))

    def __len__(self) -> int:
        return self.n_titles


def synthetic_graph(
    n_titles: int, *, out_degree: int = 12, seed: int = 0
) -> dict[str, TitleRecord]:
    """``{tconst: record}`` of ``n_titles`` titles with "More like this" links (see the
    module doc for the rules, including the links that leave the graph), all made up
    front; :class:`SyntheticGraph` makes the same records one at a time, on demand."""
    return dict(SyntheticGraph(n_titles, out_degree=out_degree, seed=seed))


@dataclass
class BfsExpectation:
    """What a correct breadth-first crawl over a graph does."""

    order: list[str] = field(default_factory=list)  # scheduled titles, in BFS order
    depth: dict[str, int] = field(default_factory=dict)  # tconst -> its depth
    edges: set[tuple[str, str]] = field(default_factory=set)  # (tconst, similar) from fetched pages
    ranked_edges: list[tuple[str, str, int]] = field(default_factory=list)  # with rank, in order
    missing: list[str] = field(default_factory=list)  # scheduled but not in the graph (404)


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
