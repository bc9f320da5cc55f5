"""Build data/catalog/books.csv.gz, the cleaned catalog shipped with Bookstation.

Reads the raw goodbooks-10k `books.csv` (Zygmunt Zając, CC BY-SA 4.0) and writes a smaller,
cleaned derivative that `flask seed` loads:

    source_id, title, authors, year, isbn10, isbn13, language, average_rating, ratings_count,
    category

Cleaning: spaces collapsed in titles and author names; the author list cut at a name boundary
to fit the column (500 characters); the year as an integer (negative for ancient works, empty
when unknown); the ISBN-10 padded to 10 characters and kept only when its check digit is right;
the ISBN-13 derived from it (the raw float `isbn13` column has lost digits and is ignored);
duplicate ISBNs dropped (the first row wins); a category derived by `app.seed.categories`.

The output is byte-for-byte deterministic (fixed gzip header), so rebuilding it gives no diff.

    .venv/bin/python scripts/build_catalog.py [RAW_CSV] [--out data/catalog/books.csv.gz]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.catalog.isbn import from_goodbooks, to_isbn13  # noqa: E402
from app.seed.categories import categorize, normalize_author  # noqa: E402

DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "goodbooks-10k-books.csv"
DEFAULT_OUT = REPO / "data" / "catalog" / "books.csv.gz"
COLUMNS = [
    "source_id", "title", "authors", "year", "isbn10", "isbn13", "language",
    "average_rating", "ratings_count", "category",
]
AUTHORS_MAX = 500
TITLE_MAX = 500


def clean_title(raw: str) -> str:
    return " ".join((raw or "").split())[:TITLE_MAX]


def clean_authors(raw: str, limit: int = AUTHORS_MAX) -> str:
    """'A ,  B' -> 'A, B'; a list longer than `limit` keeps whole names only."""
    names = [normalize_author(n) for n in (raw or "").split(",")]
    names = [n for n in names if n]
    kept: list[str] = []
    for name in names:
        if len(", ".join([*kept, name])) > limit:
            break
        kept.append(name)
    return ", ".join(kept)


def clean_year(raw: str) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    return int(float(raw))


def clean_row(raw: dict[str, str]) -> dict[str, object]:
    title = clean_title(raw["title"])
    authors = clean_authors(raw["authors"])
    year = clean_year(raw["original_publication_year"])
    isbn10 = from_goodbooks(raw["isbn"])
    return {
        "source_id": int(raw["book_id"]),
        "title": title,
        "authors": authors,
        "year": "" if year is None else year,
        "isbn10": isbn10 or "",
        "isbn13": to_isbn13(isbn10) if isbn10 else "",
        "language": (raw["language_code"] or "").strip(),
        "average_rating": (raw["average_rating"] or "").strip(),
        "ratings_count": int(raw["ratings_count"] or 0),
        "category": categorize(title, authors, year),
    }


def build(source: Path) -> tuple[list[dict[str, object]], dict[str, int]]:
    """The cleaned rows, and counts of what was changed or dropped."""
    stats = {"read": 0, "no_isbn": 0, "bad_isbn": 0, "duplicate_isbn": 0, "no_year": 0}
    seen: set[str] = set()
    rows: list[dict[str, object]] = []
    with source.open(encoding="utf-8", newline="") as fh:
        for raw in csv.DictReader(fh):
            stats["read"] += 1
            row = clean_row(raw)
            if not raw["isbn"].strip():
                stats["no_isbn"] += 1
            elif not row["isbn10"]:
                stats["bad_isbn"] += 1
            if row["year"] == "":
                stats["no_year"] += 1
            if row["isbn13"]:
                if row["isbn13"] in seen:
                    stats["duplicate_isbn"] += 1
                    continue
                seen.add(str(row["isbn13"]))
            rows.append(row)
    stats["written"] = len(rows)
    return rows, stats


def write_gzip_csv(rows: list[dict[str, object]], out: Path) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as raw, gzip.GzipFile(
        filename="books.csv", mode="wb", fileobj=raw, compresslevel=9, mtime=0
    ) as gz:
        gz.write(text.getvalue().encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE,
                        help=f"raw goodbooks books.csv (default: {DEFAULT_SOURCE})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output .csv.gz (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        parser.error(f"{args.source} not found")
    rows, stats = build(args.source)
    write_gzip_csv(rows, args.out)
    summary = ", ".join(f"{k}={v}" for k, v in stats.items())
    print(f"wrote {args.out} ({summary})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
