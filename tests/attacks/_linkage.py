"""The adversary: linkage attacks on a database dump, without the pseudonym key.

Nothing here knows the app's tables. The attacker finds, by their values:

* **users**: Slack user IDs (``U…``/``W…`` tokens) in any column, JSON included;
* **pseudonyms**: columns whose every value is 64 hex digits (keyed hashes);
* **references**: the foreign keys the schema declares, primary keys, and text such as
  ``round:12`` whose word names a table (``checkinround``) and whose number is an id of it;
* **quasi-identifiers** in every row: weeks (of any date or instant), instants, enum-like
  words (``close_date_changed``), other text, and opaque group keys (``nudge:…``).

A row also carries what the rows it references carry (a delivery, its deal event; an answer,
its round and that round's team), so removing a column from one table does not hide what
another table still links.

Each pseudonym gets a profile from every row that holds it, and each user from every row that
holds their ID. A *family* of quasi-identifiers says when a user is **consistent** with a
pseudonym: everything the pseudonym's rows show must be explained by the user's rows (an
answer in week W about a ``close_date_changed`` deal needs a ``close_date_changed`` row of
the user in week W or the week before; an answer at 16:00:40 needs an instant of the user
less than a minute before, ...). The families:

``same row``       a user ID in a row that holds the pseudonym
``references``     every id the pseudonym's rows point at (teams, rounds, ...) in a domain the
                   users' rows also point into is one the user's rows point at too (team
                   membership sets, round ids, any foreign key added later)
``shared values``  every text value the pseudonym's rows share with some user's rows
``week+category``  every (week, enum word) pair, e.g. (ISO week, deal moment)
``counts``         per (week, enum word), no more distinct answers than the user has rows
``time …``         every instant follows one of the user's by less than a minute, an hour,
                   a day (or equals one: ``exact``)

**When is a pseudonym re-identified?** When exactly one user is consistent with it (in one
family, or in all of them together followed by elimination: a user identified for one
pseudonym is removed from the others' candidates, repeatedly, which is also "a team with one
pseudonym and one person left"). A candidate set of two or more is a guess, right with
probability 1/n at best: it is not counted. A unique candidate who is the wrong person is a
failed attack, reported but not counted. So the count is: pseudonyms narrowed to exactly
their true owner.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from tests.attacks._dump import Dump, DumpedTable

USER_ID = re.compile(r"(?<![A-Za-z0-9])[UW][A-Z0-9]{8,11}(?![A-Za-z0-9])")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
TEXT_REFERENCE = re.compile(r"^([a-z][a-z_]*):(\d+)$")
GROUP = re.compile(r"^[a-z][a-z_]*:\S+$")
CATEGORY = re.compile(r"^[a-z][a-z0-9_\-]{2,40}$")
WEEK = timedelta(days=7)
DEPTH = 4  # how many references a row's expansion follows
BURST_GAP = timedelta(minutes=10)

RowKey = tuple[str, int]  # (table, index of the row in the dump)
Fact = tuple[date, str]  # (week, enum word)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def leaves(value: Any) -> Iterator[Any]:
    """The scalar values in a cell (JSON included)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from leaves(item)
    elif value is not None:
        yield value


@dataclass
class Atoms:
    """What one row (or a row and the rows it references) shows."""

    refs: set[tuple[str, Any]] = field(default_factory=set)
    strings: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)
    weeks: set[date] = field(default_factory=set)
    instants: set[datetime] = field(default_factory=set)

    def add(self, other: Atoms) -> None:
        self.refs |= other.refs
        self.strings |= other.strings
        self.categories |= other.categories
        self.weeks |= other.weeks
        self.instants |= other.instants


@dataclass
class Row:
    key: RowKey
    users: set[str]
    pseudonyms: set[str]
    group: str
    own: Atoms
    parents: list[RowKey]
    expanded: Atoms | None = None

    def facts(self) -> set[Fact]:
        """(week, enum word) pairs: the row's own weeks (when *this* happened) with the words
        of the row and of the rows it references (what it was about)."""
        assert self.expanded is not None
        return {(w, c) for w in self.own.weeks for c in self.expanded.categories}


@dataclass
class Profile:
    """Everything the rows holding one user ID (or one pseudonym) show."""

    refs: set[tuple[str, Any]] = field(default_factory=set)
    strings: set[str] = field(default_factory=set)
    facts: set[Fact] = field(default_factory=set)
    # a pseudonym: distinct answers (groups) per (kind, week); a user: rows per (table, week,
    # enum word or "")
    counts: Counter[tuple[str, date, str]] = field(default_factory=Counter)
    instants: list[datetime] = field(default_factory=list)  # sorted
    users: set[str] = field(default_factory=set)  # user IDs in the same rows (pseudonyms)
    rows: int = 0


class Adversary:
    """Reads a dump once; :meth:`attack` runs every family and the elimination."""

    def __init__(self, dump: Dump) -> None:
        self.dump = dump
        self.pseudonym_columns = {
            (t.name, c) for t in dump for c in t.columns if _all_hex(t.rows, c)
        }
        self._targets = self._target_index()
        self.rows: dict[RowKey, Row] = {}
        for table in dump:
            for i, values in enumerate(table.rows):
                self.rows[(table.name, i)] = self._read(table, i, values)
        for row in self.rows.values():
            row.expanded = self._expand(row)
        self.users = sorted({u for row in self.rows.values() for u in row.users})
        self.user_columns = {
            (t.name, c)
            for t in dump
            for c in t.columns
            if any(
                isinstance(leaf, str) and USER_ID.search(leaf)
                for row in t.rows
                for leaf in leaves(row.get(c))
            )
        }
        self.pseudonyms = sorted({p for row in self.rows.values() for p in row.pseudonyms})
        self.user_profiles = {u: self._user_profile(u) for u in self.users}
        self.pseudonym_profiles = {p: self._pseudonym_profile(p) for p in self.pseudonyms}
        mine = list(self.pseudonym_profiles.values())
        theirs = list(self.user_profiles.values())
        self.shared_domains = {d for p in mine for d, _ in p.refs} & {
            d for u in theirs for d, _ in u.refs
        }
        self.shared_strings = set().union(*(p.strings for p in mine)) & set().union(
            *(u.strings for u in theirs)
        )
        self.user_categories = {c for u in theirs for _, c in u.facts}
        self.shared_categories = {c for p in mine for _, c in p.facts} & self.user_categories

    # -- reading -------------------------------------------------------------------------

    def _target_index(self) -> dict[tuple[str, str], dict[Any, list[int]]]:
        """For every column a foreign key (or a text reference) can point at: value -> rows."""
        wanted: set[tuple[str, str]] = set()
        for table in self.dump:
            for ref in table.references:
                if len(ref.target) == 1:
                    wanted.add((ref.table, ref.target[0]))
            if len(table.primary_key) == 1:
                wanted.add((table.name, table.primary_key[0]))
        index: dict[tuple[str, str], dict[Any, list[int]]] = {}
        for name, column in wanted:
            table = self.dump.tables.get(name)
            if table is None:
                continue
            found: dict[Any, list[int]] = defaultdict(list)
            for i, values in enumerate(table.rows):
                found[values.get(column)].append(i)
            index[(name, column)] = found
        return index

    def _text_target(self, word: str) -> DumpedTable | None:
        """The table a text reference such as ``round:12`` points into, if only one fits."""
        fits = [
            t
            for t in self.dump
            if (t.name == word or t.name.endswith(word)) and len(t.primary_key) == 1
        ]
        return fits[0] if len(fits) == 1 else None

    def _read(self, table: DumpedTable, i: int, values: Mapping[str, Any]) -> Row:
        atoms = Atoms()
        users: set[str] = set()
        pseudonyms: set[str] = set()
        parents: list[RowKey] = []
        groups: list[str] = []
        fk_columns: dict[str, tuple[str, str]] = {
            ref.columns[0]: (ref.table, ref.target[0])
            for ref in table.references
            if len(ref.columns) == 1 and len(ref.target) == 1
        }
        for column in table.columns:
            value = values.get(column)
            if value is None:
                continue
            if (table.name, column) in self.pseudonym_columns:
                pseudonyms.add(value)
                continue
            for leaf in leaves(value):  # a user ID anywhere, whatever the column
                if isinstance(leaf, str):
                    users.update(USER_ID.findall(leaf))
            if column in fk_columns:
                target = fk_columns[column]
                atoms.refs.add((f"{target[0]}.{target[1]}", value))
                for j in self._targets.get(target, {}).get(value, []):
                    parents.append((target[0], j))
                continue
            if table.primary_key == (column,):
                atoms.refs.add((f"{table.name}.{column}", value))
                continue
            for leaf in leaves(value):
                self._leaf(leaf, atoms, parents, groups)
        group = groups[0] if groups else f"{table.name}:{i}"
        return Row((table.name, i), users, pseudonyms, group, atoms, parents)

    def _leaf(self, leaf: Any, atoms: Atoms, parents: list[RowKey], groups: list[str]) -> None:
        if isinstance(leaf, datetime):
            atoms.instants.add(leaf)
            atoms.weeks.add(monday(leaf.date()))
        elif isinstance(leaf, date):
            atoms.weeks.add(monday(leaf))
        elif isinstance(leaf, str):
            found = USER_ID.findall(leaf)
            if found and leaf.strip() in found:
                return  # the value is a user ID and nothing else
            reference = TEXT_REFERENCE.match(leaf)
            if reference:
                target = self._text_target(reference.group(1))
                if target is not None:
                    pk = target.primary_key[0]
                    number = int(reference.group(2))
                    atoms.refs.add((f"{target.name}.{pk}", number))
                    for j in self._targets.get((target.name, pk), {}).get(number, []):
                        parents.append((target.name, j))
            if GROUP.match(leaf):
                groups.append(leaf)
            if CATEGORY.match(leaf):
                atoms.categories.add(leaf)
            if len(leaf) >= 3 and not HEX64.match(leaf):
                atoms.strings.add(leaf)

    def _expand(self, row: Row) -> Atoms:
        """The row's atoms and those of the rows it references, ``DEPTH`` references deep."""
        total = Atoms()
        total.add(row.own)
        seen = {row.key}
        frontier = list(row.parents)
        for _ in range(DEPTH):
            following: list[RowKey] = []
            for key in frontier:
                if key in seen:
                    continue
                seen.add(key)
                parent = self.rows[key]
                total.refs |= parent.own.refs
                total.strings |= parent.own.strings
                total.categories |= parent.own.categories
                total.weeks |= parent.own.weeks
                total.instants |= parent.own.instants
                following.extend(parent.parents)
            frontier = following
        return total

    # -- profiles ------------------------------------------------------------------------

    def _user_profile(self, user: str) -> Profile:
        profile = Profile(users={user})
        instants: set[datetime] = set()
        for row in self.rows.values():
            if user not in row.users:
                continue
            assert row.expanded is not None
            profile.rows += 1
            profile.refs |= row.expanded.refs
            profile.strings |= row.expanded.strings
            instants |= row.expanded.instants
            # an answer comes at or after what prompted it: this week or the next
            later = (timedelta(0), WEEK)
            profile.facts |= {(w + shift, c) for w, c in row.facts() for shift in later}
            weeks = {w + shift for w in row.own.weeks for shift in later}
            for tag in {"", *row.expanded.categories}:
                profile.counts.update((row.key[0], w, tag) for w in weeks)
        profile.instants = sorted(instants)
        return profile

    def _pseudonym_profile(self, pseudonym: str) -> Profile:
        profile = Profile()
        groups: dict[tuple[str, date], set[str]] = defaultdict(set)
        instants: set[datetime] = set()
        for row in self.rows.values():
            if pseudonym not in row.pseudonyms:
                continue
            assert row.expanded is not None
            profile.rows += 1
            profile.users |= row.users
            profile.refs |= row.expanded.refs
            profile.strings |= row.expanded.strings
            instants |= row.own.instants  # what the person did, not what their rows point at
            profile.facts |= row.facts()
            kind = row.group.split(":", 1)[0]  # "round", "nudge", or the table's name
            for week in row.own.weeks:
                groups[(kind, week)].add(row.group)
        profile.counts = Counter({(k, w, ""): len(g) for (k, w), g in groups.items()})
        profile.instants = sorted(instants)
        return profile

    # -- the families --------------------------------------------------------------------

    def families(self) -> dict[str, Callable[[Profile, Profile], bool | None]]:
        """Each family's test: is this user consistent with this pseudonym (``None``: the
        pseudonym's rows show nothing of this family, so it tells nothing)."""
        return {
            "same row": self._same_row,
            "references": self._references,
            "shared values": self._shared_values,
            "week+category": self._week_category,
            "counts": self._counts,
            "time exact": _after_within(None),
            "time 1 min": _after_within(timedelta(minutes=1)),
            "time 1 h": _after_within(timedelta(hours=1)),
            "time 1 day": _after_within(timedelta(days=1)),
        }

    def _same_row(self, p: Profile, u: Profile) -> bool | None:
        if not p.users:
            return None
        return bool(p.users & u.users)

    def _references(self, p: Profile, u: Profile) -> bool | None:
        need = {r for r in p.refs if r[0] in self.shared_domains}
        if not need:
            return None
        return need <= u.refs

    def _shared_values(self, p: Profile, u: Profile) -> bool | None:
        need = p.strings & self.shared_strings
        if not need:
            return None
        return need <= u.strings

    def _week_category(self, p: Profile, u: Profile) -> bool | None:
        need = {f for f in p.facts if f[1] in self.shared_categories}
        if not need:
            return None
        return need <= u.facts

    def _counts(self, p: Profile, u: Profile) -> bool | None:
        """Each kind of answer (``round:…``, ``nudge:…``, ...) the pseudonym gave n times in a
        week needs one table where the user has at least n rows in that week (or the week
        before), counting only rows with the enum word ``nudge`` when the kind is one."""
        if not p.counts:
            return None
        kinds: dict[str, list[tuple[date, int]]] = defaultdict(list)
        for (kind, week, _), n in p.counts.items():
            kinds[kind].append((week, n))
        tables = {table for table, _, _ in u.counts}
        for kind, needs in kinds.items():
            tag = kind if kind in self.user_categories else ""
            if not any(
                all(u.counts.get((table, week, tag), 0) >= n for week, n in needs)
                for table in tables
            ):
                return False
        return True

    # -- the attack ----------------------------------------------------------------------

    def candidates(self, family: str) -> dict[str, set[str]]:
        """Each pseudonym's consistent users in ``family`` (every user when it tells
        nothing about that pseudonym)."""
        test = self.families()[family]
        out: dict[str, set[str]] = {}
        for pseudonym, p in self.pseudonym_profiles.items():
            verdicts = {u: test(p, self.user_profiles[u]) for u in self.users}
            if all(v is None for v in verdicts.values()):
                out[pseudonym] = set(self.users)
            else:
                out[pseudonym] = {u for u, v in verdicts.items() if v}
        return out

    def attack(self) -> Attack:
        """Every family, then all of them together with elimination."""
        per_family = {family: self.candidates(family) for family in self.families()}
        combined: dict[str, set[str]] = {}
        for pseudonym in self.pseudonyms:
            remaining = set(self.users)
            for family in per_family:
                narrowed = remaining & per_family[family][pseudonym]
                if narrowed:  # a family that contradicts the others is a wrong hypothesis
                    remaining = narrowed
            combined[pseudonym] = remaining
        per_family["all + elimination"] = eliminate(combined)
        return Attack(per_family, self.users, self.pseudonyms)


def eliminate(candidates: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """A user pinned to one pseudonym is nobody else's: remove them from the other
    candidate sets until nothing changes (one pseudonym per person in a workspace)."""
    sets = {p: set(c) for p, c in candidates.items()}
    changed = True
    while changed:
        changed = False
        pinned = {next(iter(c)): p for p, c in sets.items() if len(c) == 1}
        for pseudonym, users in sets.items():
            if len(users) <= 1:
                continue
            left = {u for u in users if pinned.get(u, pseudonym) == pseudonym}
            if left and left != users:
                sets[pseudonym] = left
                changed = True
    return sets


def bursts(instants: list[datetime], gap: timedelta = BURST_GAP) -> list[datetime]:
    """The first instant of each burst of clicks: sorted instants less than ``gap`` apart
    are one sitting (a check-in's ten answers), which starts when its first click does."""
    starts: list[datetime] = []
    last: datetime | None = None
    for t in instants:
        if last is None or t - last >= gap:
            starts.append(t)
        last = t
    return starts


def _after_within(window: timedelta | None) -> Callable[[Profile, Profile], bool | None]:
    """Every burst of the pseudonym's clicks starts less than ``window`` after one of the
    user's instants (``None``: at one of them exactly)."""

    def test(p: Profile, u: Profile) -> bool | None:
        if not p.instants:
            return None
        for t in bursts(p.instants):
            i = bisect.bisect_right(u.instants, t)
            if i == 0:
                return False
            before = u.instants[i - 1]
            if window is None:
                if before != t:
                    return False
            elif t - before >= window:
                return False
        return True

    return test


def _all_hex(rows: tuple[dict[str, Any], ...], column: str) -> bool:
    values = [r.get(column) for r in rows if r.get(column) is not None]
    return bool(values) and all(isinstance(v, str) and HEX64.match(v) for v in values)


@dataclass(frozen=True)
class Attack:
    """Each family's candidate users per pseudonym."""

    candidates: dict[str, dict[str, set[str]]]
    users: list[str]
    pseudonyms: list[str]

    def identified(self, family: str, truth: Mapping[str, str]) -> dict[str, str]:
        """Pseudonyms (of ``truth``) narrowed to exactly their true owner: ``{pseudonym: user}``."""
        return {p: owner for p, owner in truth.items() if self.candidates[family].get(p) == {owner}}

    def wrong(self, family: str, truth: Mapping[str, str]) -> dict[str, str]:
        """Pseudonyms narrowed to exactly one user who is not their owner."""
        out = {}
        for p, owner in truth.items():
            found = self.candidates[family].get(p, set())
            if len(found) == 1 and found != {owner}:
                out[p] = next(iter(found))
        return out

    def report(self, truth: Mapping[str, str], names: Mapping[str, str]) -> str:
        """One line per family: who was re-identified, wrong guesses, candidate set sizes."""
        lines = []
        for family, found in self.candidates.items():
            hit = self.identified(family, truth)
            miss = self.wrong(family, truth)
            sizes = sorted(len(found.get(p, ())) for p in truth)
            kept = sum(1 for p, owner in truth.items() if owner in found.get(p, set()))
            who = ", ".join(sorted(names.get(u, u) for u in hit.values())) or "-"
            lines.append(
                f"{family:18} re-identified {len(hit)}/{len(truth)}: {who}; wrong {len(miss)};"
                f" owner kept {kept}/{len(truth)}; candidates {sizes}"
            )
        return "\n".join(lines)
