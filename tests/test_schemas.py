"""The Arrow schemas: pinned columns, descriptions, and the committed data dictionary."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa

from crawler.items import AliasItem, FailureItem, TitleItem
from pipelines.normalize import normalize_credit, normalize_edge
from pipelines.rows import STAMP
from pipelines.schemas import DESCRIPTION, SCHEMAS, _type_name, render_markdown
from tests.conftest import ROOT

# Columns as released. Schemas only ever gain columns: never delete or retype a line
# here; add new columns at the end of a table's list.
PINNED: dict[str, list[tuple[str, str]]] = {
    "titles": [
        ("tconst", "string"),
        ("title_type", "string"),
        ("primary_title", "string"),
        ("original_title", "string"),
        ("is_adult", "bool"),
        ("start_year", "int32"),
        ("end_year", "int32"),
        ("runtime_minutes", "int32"),
        ("genres", "list<string>"),
        ("certificate", "string"),
        ("release_date", "date32[day]"),
        ("release_date_precision", "string"),
        ("release_country", "string"),
        ("release_country_code", "string"),
        ("countries_of_origin", "list<string>"),
        ("countries_of_origin_codes", "list<string>"),
        ("spoken_languages", "list<string>"),
        ("spoken_language_codes", "list<string>"),
        ("also_known_as", "list<string>"),
        ("plot", "string"),
        ("storyline", "string"),
        ("storyline_author", "string"),
        ("taglines", "list<string>"),
        ("keywords", "list<string>"),
        ("keywords_total", "int32"),
        ("filming_locations", "list<string>"),
        ("production_companies", "list<string>"),
        ("production_company_ids", "list<string>"),
        ("budget_amount", "int64"),
        ("budget_currency", "string"),
        ("opening_weekend_us_canada_amount", "int64"),
        ("opening_weekend_us_canada_currency", "string"),
        ("gross_us_canada_amount", "int64"),
        ("gross_us_canada_currency", "string"),
        ("gross_worldwide_amount", "int64"),
        ("gross_worldwide_currency", "string"),
        ("color", "list<string>"),
        ("sound_mix", "list<string>"),
        ("aspect_ratio", "list<string>"),
        ("awards_wins", "int32"),
        ("awards_nominations", "int32"),
        ("prestigious_award", "string"),
        ("prestigious_award_wins", "int32"),
        ("prestigious_award_nominations", "int32"),
        ("user_review_count", "int64"),
        ("critic_review_count", "int64"),
        ("metascore", "int32"),
        ("poster_url", "string"),
        ("url", "string"),
        ("layout", "string"),
        ("depth", "int32"),
        ("run_id", "string"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
        ("captured_at", "timestamp[us, tz=UTC]"),
        ("observed_at", "timestamp[us, tz=UTC]"),
        ("source", "string"),
        ("full_credits", "string"),
        ("full_credits_captured_at", "timestamp[us, tz=UTC]"),
    ],
    "ratings": [
        ("tconst", "string"),
        ("average_rating", "double"),
        ("num_votes", "int64"),
        ("num_votes_abbreviated", "bool"),
        ("run_id", "string"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
        ("captured_at", "timestamp[us, tz=UTC]"),
        ("observed_at", "timestamp[us, tz=UTC]"),
        ("source", "string"),
    ],
    "credits": [
        ("tconst", "string"),
        ("ordering", "int32"),
        ("nconst", "string"),
        ("category", "string"),
        ("primary_name", "string"),
        ("characters", "list<string>"),
        ("credited_as", "string"),
        ("attributes", "list<string>"),
        ("uncredited", "bool"),
        ("run_id", "string"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
        ("captured_at", "timestamp[us, tz=UTC]"),
        ("observed_at", "timestamp[us, tz=UTC]"),
        ("source", "string"),
        ("credit_page", "string"),
        ("page_category", "string"),
        ("job", "string"),
        ("episode_count", "int32"),
        ("episode_start_year", "int32"),
        ("episode_end_year", "int32"),
    ],
    "credit_categories": [
        ("tconst", "string"),
        ("position", "int32"),
        ("category", "string"),
        ("category_id", "string"),
        ("name", "string"),
        ("listed", "int32"),
        ("total", "int32"),
        ("alphabetical_from", "int32"),
        ("layout", "string"),
        ("run_id", "string"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
        ("captured_at", "timestamp[us, tz=UTC]"),
        ("observed_at", "timestamp[us, tz=UTC]"),
        ("source", "string"),
    ],
    "subpage_failures": [
        ("tconst", "string"),
        ("page", "string"),
        ("url", "string"),
        ("reason", "string"),
        ("detail", "string"),
        ("http_status", "int32"),
        ("attempts", "int32"),
        ("run_id", "string"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
        ("captured_at", "timestamp[us, tz=UTC]"),
        ("observed_at", "timestamp[us, tz=UTC]"),
        ("source", "string"),
    ],
    "more_like_this": [
        ("tconst", "string"),
        ("similar_tconst", "string"),
        ("rank", "int32"),
        ("similar_primary_title", "string"),
        ("similar_original_title", "string"),
        ("similar_title_type", "string"),
        ("similar_start_year", "int32"),
        ("similar_average_rating", "double"),
        ("similar_num_votes", "int64"),
        ("similar_num_votes_abbreviated", "bool"),
        ("run_id", "string"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
        ("captured_at", "timestamp[us, tz=UTC]"),
        ("observed_at", "timestamp[us, tz=UTC]"),
        ("source", "string"),
    ],
    "failures": [
        ("tconst", "string"),
        ("url", "string"),
        ("depth", "int32"),
        ("reason", "string"),
        ("http_status", "int32"),
        ("attempts", "int32"),
        ("run_id", "string"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
        ("detail", "string"),
        ("captured_at", "timestamp[us, tz=UTC]"),
        ("observed_at", "timestamp[us, tz=UTC]"),
        ("source", "string"),
    ],
    "aliases": [
        ("tconst", "string"),
        ("canonical_tconst", "string"),
        ("run_id", "string"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
        ("captured_at", "timestamp[us, tz=UTC]"),
        ("observed_at", "timestamp[us, tz=UTC]"),
        ("source", "string"),
    ],
    "reused": [
        ("tconst", "string"),
        ("depth", "int32"),
        ("fetched_run_id", "string"),
        ("fetched_at", "timestamp[us, tz=UTC]"),
        ("run_id", "string"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
    ],
    "field_coverage": [
        ("run_id", "string"),
        ("table_name", "string"),
        ("column_name", "string"),
        ("titles", "int64"),
        ("with_value", "int64"),
        ("coverage", "double"),
        ("previous_coverage", "double"),
        ("drifted", "bool"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
    ],
    "crawl_runs": [
        ("run_id", "string"),
        ("started_at", "timestamp[us, tz=UTC]"),
        ("finished_at", "timestamp[us, tz=UTC]"),
        ("arguments", "string"),
        ("seeds", "list<string>"),
        ("depth", "int32"),
        ("max_titles", "int64"),
        ("pages", "int64"),
        ("items", "int64"),
        ("errors", "int64"),
        ("finish_reason", "string"),
        ("titles_rows", "int64"),
        ("ratings_rows", "int64"),
        ("credits_rows", "int64"),
        ("more_like_this_rows", "int64"),
        ("failures_rows", "int64"),
        ("aliases_rows", "int64"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
        ("error", "string"),
        ("invalid_links", "int64"),
        ("seeds_over_limit", "int64"),
        ("titles_over_limit", "int64"),
        ("reused_rows", "int64"),
        ("refresh_seconds", "int64"),
        ("drifted", "bool"),
        ("drift", "string"),
        ("worker", "string"),
        ("as_of", "timestamp[us, tz=UTC]"),
        ("source", "string"),
        ("warc_damaged_records", "int64"),
        ("nul_removed", "int64"),
    ],
    # IMDb's daily dataset files (pipelines.schemas DATASET_SCHEMAS).
    "imdb_title_ratings": [
        ("tconst", "string"),
        ("average_rating", "double"),
        ("num_votes", "int64"),
        ("snapshot_date", "date32[day]"),
        ("snapshot_at", "timestamp[us, tz=UTC]"),
        ("run_id", "string"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
    ],
    "imdb_title_basics": [
        ("tconst", "string"),
        ("title_type", "string"),
        ("primary_title", "string"),
        ("original_title", "string"),
        ("is_adult", "bool"),
        ("start_year", "int32"),
        ("end_year", "int32"),
        ("runtime_minutes", "int32"),
        ("genres", "list<string>"),
        ("snapshot_date", "date32[day]"),
        ("snapshot_at", "timestamp[us, tz=UTC]"),
        ("run_id", "string"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
    ],
    "imdb_title_principals": [
        ("tconst", "string"),
        ("ordering", "int32"),
        ("nconst", "string"),
        ("category", "string"),
        ("job", "string"),
        ("characters", "list<string>"),
        ("snapshot_date", "date32[day]"),
        ("snapshot_at", "timestamp[us, tz=UTC]"),
        ("run_id", "string"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
    ],
    "imdb_title_crew": [
        ("tconst", "string"),
        ("directors", "list<string>"),
        ("writers", "list<string>"),
        ("snapshot_date", "date32[day]"),
        ("snapshot_at", "timestamp[us, tz=UTC]"),
        ("run_id", "string"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
    ],
    "imdb_title_akas": [
        ("tconst", "string"),
        ("ordering", "int32"),
        ("title", "string"),
        ("region", "string"),
        ("language", "string"),
        ("types", "list<string>"),
        ("attributes", "list<string>"),
        ("is_original_title", "bool"),
        ("snapshot_date", "date32[day]"),
        ("snapshot_at", "timestamp[us, tz=UTC]"),
        ("run_id", "string"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
    ],
    "imdb_title_episode": [
        ("tconst", "string"),
        ("parent_tconst", "string"),
        ("season_number", "int32"),
        ("episode_number", "int32"),
        ("snapshot_date", "date32[day]"),
        ("snapshot_at", "timestamp[us, tz=UTC]"),
        ("run_id", "string"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
    ],
    "imdb_name_basics": [
        ("nconst", "string"),
        ("primary_name", "string"),
        ("birth_year", "int32"),
        ("death_year", "int32"),
        ("primary_profession", "list<string>"),
        ("known_for_titles", "list<string>"),
        ("snapshot_date", "date32[day]"),
        ("snapshot_at", "timestamp[us, tz=UTC]"),
        ("run_id", "string"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
    ],
    "imdb_dataset_runs": [
        ("run_id", "string"),
        ("file", "string"),
        ("table_name", "string"),
        ("url", "string"),
        ("titles", "string"),
        ("outcome", "string"),
        ("detail", "string"),
        ("http_status", "int32"),
        ("etag", "string"),
        ("last_modified", "timestamp[us, tz=UTC]"),
        ("snapshot_date", "date32[day]"),
        ("snapshot_at", "timestamp[us, tz=UTC]"),
        ("rows_read", "int64"),
        ("rows", "int64"),
        ("bytes", "int64"),
        ("decompressed_bytes", "int64"),
        ("started_at", "timestamp[us, tz=UTC]"),
        ("crawled_at", "timestamp[us, tz=UTC]"),
    ],
}

# Item fields (as found on the page) that the normalisers turn into other columns.
RENAMED = {
    "titles": {
        "budget": "budget_amount",
        "opening_weekend_us_canada": "opening_weekend_us_canada_amount",
        "gross_us_canada": "gross_us_canada_amount",
        "gross_worldwide": "gross_worldwide_amount",
    },
    "credits": {"name": "primary_name", "notes": "attributes"},
}


def test_pinned_columns_keep_name_and_type() -> None:
    assert set(SCHEMAS) == set(PINNED)
    for table, columns in PINNED.items():
        current = {f.name: _type_name(f.type) for f in SCHEMAS[table]}
        for name, type_name in columns:
            assert name in current, f"{table}.{name} was removed"
            assert current[name] == type_name, f"{table}.{name} changed type"


def test_new_columns_are_pinned_too() -> None:
    for table, schema in SCHEMAS.items():
        assert [f.name for f in schema] == [n for n, _ in PINNED[table]], (
            f"{table}: pin the new columns in PINNED"
        )


def test_every_field_is_described_and_typed() -> None:
    for table, schema in SCHEMAS.items():
        assert len(set(schema.names)) == len(schema.names), table
        for field in schema:
            assert (field.metadata or {}).get(DESCRIPTION, b"").strip(), f"{table}.{field.name}"
            assert not pa.types.is_null(field.type), f"{table}.{field.name}"
            if pa.types.is_list(field.type):
                assert field.type.value_type == pa.string(), f"{table}.{field.name}"
        assert schema.field("run_id").type == pa.string()
        assert schema.field("crawled_at").type == pa.timestamp("us", tz="UTC"), table


def test_every_item_field_has_a_column() -> None:
    nested = {"credits", "more_like_this", "outcome", "credit_categories", "subpage_failures"}
    raw_money = set(RENAMED["titles"])
    title_columns = set(SCHEMAS["titles"].names) | set(SCHEMAS["ratings"].names)
    for name in TitleItem.fields:
        if name not in nested | raw_money:
            assert name in title_columns, f"TitleItem.{name}"
    for item_class, table in ((FailureItem, "failures"), (AliasItem, "aliases")):
        assert set(item_class.fields) - {"outcome"} <= set(SCHEMAS[table].names), table
    credit = normalize_credit({"name": "X", "notes": ["(as Y)"], "category": "actor"})
    assert set(credit) | {"tconst", *STAMP} == set(SCHEMAS["credits"].names)
    edge = normalize_edge({"tconst": "tt0053106", "rank": 1})
    assert set(edge) | {"tconst", *STAMP} == set(
        SCHEMAS["more_like_this"].names)


def test_committed_data_dictionary_is_current() -> None:
    doc = ROOT / "docs" / "data-dictionary.md"
    rendered = subprocess.run(
        [sys.executable, "-m", "pipelines.schemas"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert rendered == render_markdown()
    assert doc.read_text(encoding="utf-8") == rendered, (
        "docs/data-dictionary.md is stale: python -m pipelines.schemas > docs/data-dictionary.md"
    )
    assert "| `num_votes_abbreviated` | `bool` |" in rendered
