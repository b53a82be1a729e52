"""A deterministic, seedable TICKIT sample: pipe-delimited gzip files laid out as in the lakehouse bucket.

    python -m sample_data.tickit --out build/sample --seed 7

writes `<out>/<S3 key>` for every file (keys from `lakehouse.layout`), so uploading the folder as-is gives the
bucket the DAGs expect:

- the initial extract: all seven tables, two months of listings and sales by default;
- an incremental slice: one folder per day after those months (`ds=YYYY-MM-DD`) holding that day's new
  listings and sales plus changed rows (corrected prices and quantities of earlier listings and sales).

The same seed gives byte-identical files (gzip header without a timestamp). In code:
`sample = generate(seed=7)` then `write_files(out_dir, sample)` returns {S3 key: local path}.
"""

from __future__ import annotations

import argparse
import gzip
import random
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from lakehouse import layout

# Column order of the files = column order of sql/redshift/ddl/<table>.sql (a test keeps the two in step).
LIKES = (
    "sports",
    "theatre",
    "concerts",
    "jazz",
    "classical",
    "opera",
    "rock",
    "vegas",
    "broadway",
    "musicals",
)
COLUMNS = {
    "users": ("userid", "username", "firstname", "lastname", "city", "state", "email", "phone")
    + tuple(f"like{like}" for like in LIKES),
    "venue": ("venueid", "venuename", "venuecity", "venuestate", "venueseats"),
    "category": ("catid", "catgroup", "catname", "catdesc"),
    "date": ("dateid", "caldate", "day", "week", "month", "qtr", "year", "holiday"),
    "event": ("eventid", "venueid", "catid", "dateid", "eventname", "starttime"),
    "listing": (
        "listid",
        "sellerid",
        "eventid",
        "dateid",
        "numtickets",
        "priceperticket",
        "totalprice",
        "listtime",
    ),
    "sales": (
        "salesid",
        "listid",
        "sellerid",
        "buyerid",
        "eventid",
        "dateid",
        "qtysold",
        "pricepaid",
        "commission",
        "saletime",
    ),
}
# The tables with daily increments (new and changed rows of the day).
INCREMENTAL = ("listing", "sales")
DELIMITER = "|"
COMMISSION_RATE = Decimal("0.15")

CATEGORIES = (
    (1, "Sports", "MLB", "Major League Baseball"),
    (2, "Sports", "NHL", "National Hockey League"),
    (3, "Sports", "NFL", "National Football League"),
    (4, "Sports", "NBA", "National Basketball Association"),
    (5, "Sports", "MLS", "Major League Soccer"),
    (6, "Shows", "Musicals", "Musical theatre"),
    (7, "Shows", "Plays", "All non-musical theatre"),
    (8, "Shows", "Opera", "All opera and light opera"),
    (9, "Concerts", "Pop", "All rock and pop music concerts"),
    (10, "Concerts", "Jazz", "All jazz singers and bands"),
    (11, "Concerts", "Classical", "All symphony, concerto, and choir concerts"),
)
FIRST_NAMES = (
    "Ava",
    "Ben",
    "Cleo",
    "Dan",
    "Eve",
    "Finn",
    "Gia",
    "Hugo",
    "Ida",
    "Jon",
    "Kai",
    "Lena",
    "Max",
    "Nia",
)
LAST_NAMES = (
    "Adams",
    "Brooks",
    "Chen",
    "Diaz",
    "Evans",
    "Ford",
    "Garcia",
    "Hayes",
    "Ito",
    "Jones",
    "Khan",
    "Lopez",
)
CITIES = (
    ("Seattle", "WA"),
    ("Portland", "OR"),
    ("Denver", "CO"),
    ("Austin", "TX"),
    ("Chicago", "IL"),
    ("Boston", "MA"),
    ("Miami", "FL"),
    ("Phoenix", "AZ"),
)
VENUE_KINDS = ("Arena", "Stadium", "Theatre", "Hall", "Center", "Field")
EVENT_WORDS = ("Night", "Live", "Gala", "Classic", "Finals", "Tour", "Festival", "Revue", "Showcase")
HOLIDAYS = {(1, 1), (7, 4), (12, 25)}  # (month, day)
DATEID_EPOCH = date(2003, 1, 1)  # TICKIT numbers 2008-01-01 as dateid 1827


@dataclass
class TickitSample:
    """Rows per table (tuples in COLUMNS order) for the initial extract and for each incremental day."""

    seed: int
    start: date
    end: date  # first day after the initial extract = first incremental day
    initial: dict[str, list[tuple]]
    increments: dict[str, dict[str, list[tuple]]] = field(default_factory=dict)  # ds -> table -> rows
    changed_keys: dict[str, dict[str, set[int]]] = field(default_factory=dict)  # ds -> table -> changed ids


def dateid(day: date) -> int:
    return (day - DATEID_EPOCH).days + 1


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    return date(day.year + month_index // 12, month_index % 12 + 1, 1)


def _moment(rng: random.Random, day: date, not_before: datetime | None = None) -> datetime:
    """A whole-second moment on `day`, after `not_before` when that falls on the same day."""
    earliest = 8 * 3600
    if not_before is not None and not_before.date() == day:
        earliest = max(earliest, not_before.hour * 3600 + not_before.minute * 60 + not_before.second + 1)
    seconds = rng.randint(min(earliest, 86399), 86399)
    return datetime.combine(day, time()) + timedelta(seconds=seconds)


def _days(first: date, end: date):
    return [first + timedelta(days=n) for n in range((end - first).days)]


class _Generator:
    def __init__(self, seed: int, start: date, end: date, users: int, venues: int, events: int):
        self.rng = random.Random(seed)
        self.start, self.end = start, end
        self.users = [self._user(userid) for userid in range(1, users + 1)]
        self.venues = [self._venue(venueid) for venueid in range(1, venues + 1)]
        year = start.year
        # Two calendar years: every sale day and every event day (up to 180 days ahead) has its row.
        self.dates = [self._date(day) for day in _days(date(year, 1, 1), date(year + 2, 1, 1))]
        self.events = [self._event(eventid) for eventid in range(1, events + 1)]
        self.listings: dict[int, tuple] = {}
        self.sales: dict[int, tuple] = {}

    def _user(self, userid: int) -> tuple:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, state = rng.choice(CITIES)
        username = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(8))
        phone = f"({rng.randint(200, 999)}) {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"
        likes = tuple(rng.choice((True, False, None)) for _ in LIKES)
        return (
            userid,
            username,
            first,
            last,
            city,
            state,
            f"{first}.{last}{userid}@example.com",
            phone,
        ) + likes

    def _venue(self, venueid: int) -> tuple:
        city, state = self.rng.choice(CITIES)
        name = f"{city} {self.rng.choice(VENUE_KINDS)} {venueid}"
        return (venueid, name, city, state, self.rng.choice((0, 2000, 15000, 40000, 68000)))

    @staticmethod
    def _date(day: date) -> tuple:
        return (
            dateid(day),
            day,
            day.strftime("%a").upper()[:2],
            int(day.strftime("%U")) + 1,
            day.strftime("%b").upper(),
            str((day.month - 1) // 3 + 1),
            day.year,
            (day.month, day.day) in HOLIDAYS,
        )

    def _event(self, eventid: int) -> tuple:
        rng = self.rng
        # Events fall 20 to 180 days after the first sale day, so every listing finds an event ahead.
        day = self.start + timedelta(days=rng.randint(20, 180))
        starttime = datetime.combine(day, time(rng.choice((14, 19, 20)), rng.choice((0, 30))))
        catid = rng.choice(CATEGORIES)[0]
        name = f"{rng.choice(LAST_NAMES)} {rng.choice(EVENT_WORDS)}"
        return (eventid, rng.randint(1, len(self.venues)), catid, dateid(day), name, starttime)

    def new_listings(self, day: date, count: int) -> list[tuple]:
        rng, rows = self.rng, []
        upcoming = [event for event in self.events if event[5].date() > day]
        for _ in range(count):
            event = rng.choice(upcoming)
            listid = len(self.listings) + 1
            numtickets = rng.randint(1, 12)
            price = _money(Decimal(rng.randint(2000, 150000)) / 100)
            row = (
                listid,
                rng.randint(1, len(self.users)),
                event[0],
                dateid(day),
                numtickets,
                price,
                _money(price * numtickets),
                _moment(rng, day),
            )
            self.listings[listid] = row
            rows.append(row)
        return rows

    def new_sales(self, day: date, count: int) -> list[tuple]:
        rng, rows = self.rng, []
        open_listings = [row for row in self.listings.values() if row[7].date() <= day]
        for _ in range(count):
            listing = rng.choice(open_listings)
            salesid = len(self.sales) + 1
            qtysold = rng.randint(1, min(4, listing[4]))
            pricepaid = _money(listing[5] * qtysold)
            buyerid = rng.randint(1, len(self.users))
            row = (
                salesid,
                listing[0],
                listing[1],
                buyerid,
                listing[2],
                dateid(day),
                qtysold,
                pricepaid,
                _money(pricepaid * COMMISSION_RATE),
                _moment(rng, day, not_before=listing[7]),
            )
            self.sales[salesid] = row
            rows.append(row)
        return rows

    def change_listings(self, count: int) -> list[tuple]:
        """Re-priced listings: same key, new price per ticket and total."""
        rows = []
        for listid in self.rng.sample(sorted(self.listings), count):
            row = self.listings[listid]
            price = _money(row[5] * Decimal(self.rng.choice(("0.80", "0.90", "1.10", "1.25"))))
            row = row[:5] + (price, _money(price * row[4])) + row[7:]
            self.listings[listid] = row
            rows.append(row)
        return rows

    def change_sales(self, count: int) -> list[tuple]:
        """Corrected sales: same key, another quantity and the price and commission that follow from it."""
        rows = []
        for salesid in self.rng.sample(sorted(self.sales), count):
            row = self.sales[salesid]
            listing = self.listings[row[1]]
            qtysold = row[6] % min(4, listing[4]) + 1 if listing[4] > 1 else row[6]
            pricepaid = _money(listing[5] * qtysold + Decimal("1.00"))  # + a fee, so a change always shows
            row = row[:6] + (qtysold, pricepaid, _money(pricepaid * COMMISSION_RATE), row[9])
            self.sales[salesid] = row
            rows.append(row)
        return rows


def increment_days(start: date, months: int = 2, incremental_days: int = 2) -> list[str]:
    """The days (YYYY-MM-DD) of the increments `generate` writes for these arguments."""
    end = _add_months(start, months)
    return [day.isoformat() for day in _days(end, end + timedelta(days=incremental_days))]


def sample_keys(start: date, months: int = 2, incremental_days: int = 2) -> set[str]:
    """The S3 keys `write_files` writes for a sample of these arguments (whatever the seed)."""
    days = increment_days(start, months, incremental_days)
    return {layout.full_key(table) for table in COLUMNS} | {
        layout.incremental_key(table, ds) for ds in days for table in INCREMENTAL
    }


def generate(
    seed: int = 0,
    start: date = date(2008, 1, 1),
    months: int = 2,
    incremental_days: int = 2,
    users: int = 500,
    venues: int = 40,
    events: int = 150,
    listings_per_day: int = 12,
    sales_per_day: int = 20,
    changes_per_day: int = 5,
) -> TickitSample:
    """The sample for `seed`: `months` of listings and sales from `start`, then `incremental_days` days of
    increments (new rows of that day, and `changes_per_day` changed listings and sales of earlier days)."""
    end = _add_months(start, months)
    last_day = end + timedelta(days=incremental_days)
    if last_day.year > start.year + 1:
        raise ValueError(
            f"sample_data.tickit: months={months}, incremental_days={incremental_days} from {start} run past "
            f"{start.year + 1}, the last year of the date table. Fix: fewer months or days."
        )
    gen = _Generator(seed, start, end, users, venues, events)
    listings, sales = [], []
    for day in _days(start, end):
        listings += gen.new_listings(day, listings_per_day)
        sales += gen.new_sales(day, sales_per_day)
    sample = TickitSample(
        seed=seed,
        start=start,
        end=end,
        initial={
            "users": gen.users,
            "venue": gen.venues,
            "category": list(CATEGORIES),
            "date": gen.dates,
            "event": gen.events,
            "listing": listings,
            "sales": sales,
        },
    )
    for day in _days(end, end + timedelta(days=incremental_days)):
        ds = day.isoformat()
        changed_listings = gen.change_listings(changes_per_day)
        changed_sales = gen.change_sales(changes_per_day)
        sample.increments[ds] = {
            "listing": changed_listings + gen.new_listings(day, listings_per_day),
            "sales": changed_sales + gen.new_sales(day, sales_per_day),
        }
        sample.changed_keys[ds] = {
            "listing": {row[0] for row in changed_listings},
            "sales": {row[0] for row in changed_sales},
        }
    return sample


def format_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _write(path: Path, rows: list[tuple]) -> Path:
    text = "".join(DELIMITER.join(format_value(v) for v in row) + "\n" for row in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    return path


def write_files(
    out_dir: Path | str, sample: TickitSample | None = None, **generate_kwargs
) -> dict[str, Path]:
    """Write `sample` (or `generate(**generate_kwargs)`) under `out_dir`; returns {S3 key: local path}."""
    sample = sample or generate(**generate_kwargs)
    out_dir = Path(out_dir)
    written = {}
    for table, rows in sample.initial.items():
        key = layout.full_key(table)
        written[key] = _write(out_dir / key, rows)
    for ds, tables in sample.increments.items():
        for table, rows in tables.items():
            key = layout.incremental_key(table, ds)
            written[key] = _write(out_dir / key, rows)
    return written


def read_rows(path: Path | str) -> list[list[str | None]]:
    """The rows of one generated file as strings, empty fields as None (how COPY loads them)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [[field or None for field in line.rstrip("\n").split(DELIMITER)] for line in handle]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sample_data.tickit", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", required=True, type=Path, help="folder to write (mirrors the bucket's keys)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--months", type=int, default=2, help="months of sales in the initial extract")
    parser.add_argument("--incremental-days", type=int, default=2, help="days of increments after them")
    args = parser.parse_args(argv)
    sample = generate(seed=args.seed, months=args.months, incremental_days=args.incremental_days)
    for key in write_files(args.out, sample):
        print(key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
