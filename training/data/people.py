"""Who is who in `prepare`: --persona resolved to accounts, exclusions and speaker labels.

`--persona` values name *accounts*, not strings (contract 2 in DESIGN.md; the numbered
identity rules in docs/data.md, "Who the persona is", are what this module does):

1. An account is an author id where the format carries ids (DCE JSON and CSV, the data
   package). In a format without ids (DCE plain text, copied client text), or for a message
   whose id is missing, the account is the name, within that format: the readers key it
   `<format>:<name>` (training/readers/base.py name_account), so it never merges with an id
   or with the same name in another format.
2. A value that is all digits is an id: it matches the account with that id and nothing else
   (no username, display name, nickname or id-less name, however it is spelled).
3. Any other value matches the account whose username it is. A username two accounts were
   seen with (one renamed, another took the name) is an error listing both, with the dates
   each was seen with it, unless one of them is the persona by another value.
4. Only a value that is no account's username matches a display name or nickname, and only if
   one account carries it; several is an error listing them.
5. In a format without ids, a value matches the name written there. That is the only way such
   an account is the persona: nothing joins it to an id-bearing account (the persona's names
   learned from a JSON export do not make a text export's namesake the persona).
6. Matching never spreads: an account is the persona under all of its names, but those names
   do not pull in other accounts. Excluded accounts are never the persona.
7. Bots and webhooks are the persona only when a value is their id.
8. Everyone else any of whose names is or looks like one of the persona's names or ids is
   labelled `<name> (not the persona)` (catgpt.labels.person_label, as the bot labels them).

`prepare` reads a possibly 1 GB export once, so the decision is made while streaming, from
what has been seen so far. It can turn out wrong only when a namesake or impersonator shows up
before the account that settles the question; `stale` then says so, and the caller reads the
exports again with the final `Resolution`, so no dataset is written from a wrong decision.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from catgpt.labels import NOT_THE_PERSONA, person_label, speaker_label
from training.data.messages import Message
from training.errors import DatasetError

log = logging.getLogger(__name__)

# How many accounts an ambiguity error lists before "and N more".
_LISTED = 10


def is_id(value: str) -> bool:
    """Whether a --persona value or an account key is a Discord id (rule 2)."""
    return value.isascii() and value.isdigit()


class PersonaOptedOut(DatasetError):
    """The account the persona names is in the opt-out file (the caller says which file)."""

    FIX = ("A person who opted out cannot be the persona: remove their line only if they agree "
           "to be trained on again")


@dataclass
class Author:
    """One (account, names) pair as prepare sees it; looked up once, then cached."""

    author_id: str
    name: str
    is_persona: bool
    excluded: bool
    label: str  # the `name` of their turns
    opted_out: bool = False  # in the --opt-outs file: excluded, and counted apart
    messages: int = 0  # kept messages, for the "most active authors" hint
    username: str = ""
    known_as: tuple[str, ...] = ()  # every name they were seen with here
    first: datetime | None = None  # when they were first and last seen with these names
    last: datetime | None = None


@dataclass
class _Account:
    """Everything seen about one account, across its names and files."""

    id: str  # a Discord id, or `<format>:<name>` for an account known by name only
    has_id: bool
    handles: set[str] = field(default_factory=set)  # casefolded usernames
    names: set[str] = field(default_factory=set)  # other names, casefolded
    aliases: dict[str, None] = field(default_factory=dict)  # every name and the id, as written
    authors: list[Author] = field(default_factory=list)

    @property
    def messages(self) -> int:
        return sum(author.messages for author in self.authors)

    def held(self, handle: str) -> str:
        """When this account was seen with a username: `from <first> to <last>`."""
        spans = [(a.first, a.last) for a in self.authors if a.username
                 and handle in _username_forms(a.username)]
        if not spans:
            return ""
        first, last = min(s[0] for s in spans), max(s[1] for s in spans)
        return f"from {first:%Y-%m-%d} to {last:%Y-%m-%d}"

    def describe(self, handle: str = "") -> str:
        shown = ", ".join(dict.fromkeys(a.name for a in self.authors)) or "?"
        if self.has_id:
            who = f"id {self.id}"
        else:
            who = f"name {self.id.split(':', 1)[-1]!r} (no id in {self.id.split(':', 1)[0]})"
        usernames = ", ".join(dict.fromkeys(a.username for a in self.authors if a.username))
        if handle:
            username = f", username {handle} {self.held(handle)}"
        else:
            username = f", username {usernames}" if usernames and self.has_id else ""
        return f"{who}{username}, shown as {shown}: {self.messages} messages"


@dataclass(frozen=True)
class Resolution:
    """The final answer: which account ids are the persona, and the names others may not use
    as their label (the persona's names, as the bot reads them from catgpt.json)."""

    persona_ids: frozenset[str]
    persona_names: frozenset[str]


def _username_forms(username: str) -> set[str]:
    """A username casefolded, and without the new-style `#0` "no discriminator" suffix."""
    forms = {username.casefold()}
    if username.endswith("#0"):
        forms.add(username[:-2].casefold())
    return forms


class People:
    """The persona test, exclusions, labels, and activity for error messages.

    Without `resolved`, decisions are provisional (see the module docstring); with it, they
    are fixed from the start (the second reading). `mask_name`, when given, masks personal
    data in a label as in text (a nickname can hold a phone number); names are matched unmasked.
    """

    def __init__(self, personas: list[str], exclude_authors: list[str] = (),
                 include_bots: bool = False, resolved: Resolution | None = None,
                 mask_name: Callable[[str], str] | None = None,
                 opted_out: frozenset[str] = frozenset()):
        self._mask_name = mask_name
        self.opted_out = opted_out  # account ids only (catgpt/opt_outs.py says why)
        # label -> masked label: a label is recomputed on every decision (_relabel), but
        # masked (and counted in the masking totals) once.
        self._masked: dict[str, str] = {}
        self.requested = [p.strip() for p in personas if p.strip()]
        self.values = {p.casefold() for p in self.requested}
        self.excluded_keys = {p.strip().casefold() for p in exclude_authors if p.strip()}
        self.include_bots = include_bots
        self.resolved = resolved
        self.stale = False  # a decision already used for some message has changed since
        self._authors: dict[tuple[str, tuple[str, ...]], Author] = {}
        self._accounts: dict[str, _Account] = {}
        # value -> account ids it matches: by id (rule 2), by username (3), by a display name
        # or nickname (4), by the name of an account without id (5).
        self._by_id: dict[str, set[str]] = {}
        self._by_handle: dict[str, set[str]] = {}
        self._by_name: dict[str, set[str]] = {}
        self._by_name_only: dict[str, set[str]] = {}
        if resolved is None:
            self._persona_ids: set[str] = set()
            self._persona_names = set(self.requested)
        else:
            self._persona_ids = set(resolved.persona_ids)
            self._persona_names = set(resolved.persona_names)

    def author(self, message: Message) -> Author:
        key = (message.author_id, message.author_aliases)
        found = self._authors.get(key)
        if found is None:
            found = self._authors[key] = self._first_sight(message)
        else:
            stamp = message.timestamp  # for the dates in an ambiguous-username error
            if stamp > found.last:
                found.last = stamp
            elif stamp < found.first:
                found.first = stamp
        return found

    def _first_sight(self, message: Message) -> Author:
        """A new (account, names) pair: learn what it says about the account, then decide."""
        opted_out = message.author_id in self.opted_out
        excluded = opted_out or bool(message.known_as() & self.excluded_keys)  # id or any name
        account = self._accounts.get(message.author_id)
        if account is None:
            account = self._accounts[message.author_id] = _Account(
                message.author_id, is_id(message.author_id))
        username = message.author_username if account.has_id else ""
        handles = _username_forms(username) if username else set()
        if opted_out and (account.id in self.values or handles & self.values):
            # The persona by id or username (rules 2, 3): training on someone who asked not
            # to be is refused outright, not quietly turned into "no persona messages".
            raise PersonaOptedOut(
                f"the persona ({', '.join(self.requested)}) is account {account.id}, which is "
                "in the opt-out file",
                fix=PersonaOptedOut.FIX)
        # The names alone: an id is matched by rule 2 (_index), never as a name.
        names = {n.casefold() for n in (*message.author_aliases, message.author_name) if n}
        new_handles = handles - account.handles
        new_names = names - handles - account.handles - account.names
        account.handles |= new_handles
        account.names |= new_names
        written = (*message.author_aliases, message.author_name,
                   *((message.author_id,) if account.has_id else ()))
        new_aliases = [a for a in written if a and a not in account.aliases]
        account.aliases.update(dict.fromkeys(new_aliases))
        if self.resolved is None:
            matters = self._index(account, message.is_bot, excluded, new_handles, new_names)
            if matters or (new_aliases and account.id in self._persona_ids):
                self._decide()
        is_persona = account.id in self._persona_ids
        known_as = tuple(dict.fromkeys(written))
        author = Author(message.author_id, message.author_name, is_persona, excluded,
                        self._label(message.author_name, known_as), opted_out=opted_out,
                        username=username,
                        known_as=known_as, first=message.timestamp, last=message.timestamp)
        account.authors.append(author)
        return author

    def _index(self, account: _Account, is_bot: bool, excluded: bool, new_handles: set[str],
               new_names: set[str]) -> bool:
        """Record which values the account answers to; whether any does (rules 2 to 7)."""
        if excluded:
            return False  # never the persona, so it cannot make a name ambiguous either
        matters = False
        if account.has_id and account.id in self.values and account.id not in self._by_id:
            self._by_id[account.id] = {account.id}
            matters = True
        if is_bot:
            return matters  # a bot or webhook answers to its id alone
        indexes = ((self._by_handle, new_handles), (self._by_name, new_names)) if account.has_id \
            else ((self._by_name_only, new_names),)
        for index, keys in indexes:
            for value in keys & self.values:
                if not is_id(value):
                    index.setdefault(value, set()).add(account.id)
                    matters = True
        return matters

    def _label(self, name: str, known_as: tuple[str, ...]) -> str:
        """A speaker label that is never one of the persona's names, nor looks like one (the
        model would take their words for its own): rule 8."""
        label = person_label(name, known_as, self._persona_names)
        if self._mask_name is None:
            return label
        masked = self._masked.get(label)
        if masked is None:
            masked = self._masked[label] = self._mask_name(label)
        return masked

    def _matches(self) -> tuple[set[str], dict[str, tuple[str, set[str]]]]:
        """The persona's account ids by the rules, from what has been seen so far, and the
        values that name several accounts (value -> (what they share, their ids))."""
        ids: set[str] = set()
        shared: dict[str, tuple[str, set[str]]] = {}
        for value in self.values:
            if is_id(value):
                ids |= self._by_id.get(value, set())
                continue
            by_handle = self._by_handle.get(value, set())
            carriers = self._by_name.get(value, set())
            if len(by_handle) == 1:
                ids |= by_handle
            elif by_handle:
                shared[value] = ("username", by_handle)
            elif len(carriers) == 1:
                ids |= carriers
            elif carriers:
                shared[value] = ("name", carriers)
            ids |= self._by_name_only.get(value, set())
        # A value several accounts answer to is no error when one of them is the persona by
        # another value (`--persona 22 --persona mochi`): it names that account.
        return ids, {value: (kind, carriers) for value, (kind, carriers) in shared.items()
                     if not carriers & ids}

    def _decide(self) -> None:
        """Re-apply the rules; mark the reading stale if a decision already used changed."""
        self._persona_ids, _ = self._matches()
        self._persona_names = set(self.requested)
        for account_id in self._persona_ids:
            self._persona_names.update(self._accounts[account_id].aliases)
        self._relabel()

    def _relabel(self) -> None:
        for author in self._authors.values():
            is_persona = author.author_id in self._persona_ids
            label = self._label(author.name, author.known_as)
            # Every cached author has been used for at least its first message.
            if is_persona != author.is_persona or (not is_persona and label != author.label):
                self.stale = True
            author.is_persona, author.label = is_persona, label

    def resolve(self) -> Resolution:
        """The final decision once every message has been seen; an ambiguous name is an error."""
        if self.resolved is not None:
            return self.resolved
        _, shared = self._matches()
        for value in self.requested:
            if value.casefold() in shared:
                raise self._ambiguous(value, *shared[value.casefold()])
        if self._persona_ids and self.persona_name() not in self._persona_names:
            self._persona_names.add(self.persona_name())
            self._relabel()
        resolution = Resolution(frozenset(self._persona_ids), frozenset(self._persona_names))
        namesakes = sorted({a.name for a in self._authors.values()
                            if not a.is_persona and a.messages
                            and a.label.endswith(NOT_THE_PERSONA)})
        if namesakes:
            log.info("not the persona, though named like it (labelled '... %s'): %s",
                     NOT_THE_PERSONA.strip(), ", ".join(namesakes))
        return resolution

    def _ambiguous(self, value: str, kind: str, carriers: set[str]) -> DatasetError:
        accounts = sorted((self._accounts[i] for i in carriers),
                          key=lambda a: (-a.messages, a.id))
        if kind == "username":
            # A username is unique at any one time; two accounts with it means one renamed
            # and someone else took the name. Which one is meant is the user's call.
            handle = value.casefold()
            both = "; ".join(f"id {a.id} {a.held(handle)}" for a in accounts[:_LISTED])
            return DatasetError(
                f"--persona {value!r} is the username of {len(accounts)} accounts ({both})",
                fix="One renamed and another took the name; pass the id of the one you mean "
                "to --persona:\n" + "\n".join(f"  {a.describe(handle)}"
                                                 for a in accounts[:_LISTED]),
            )
        listed = [f"  {a.describe()}" for a in accounts[:_LISTED]]
        if len(accounts) > _LISTED:
            listed.append(f"  ... and {len(accounts) - _LISTED} more")
        return DatasetError(
            f"--persona {value!r} is the display name or nickname of {len(accounts)} "
            "accounts, and no account's id or username",
            fix="Anyone can take a display name; pass the id or username of the one you mean "
            "to --persona:\n" + "\n".join(listed),
        )

    def persona_name(self) -> str:
        """The label for the persona's turns: the first --persona as typed, unless that was
        an id, then the persona's most used display name."""
        first = self.requested[0]
        if not is_id(first):
            return speaker_label(first)
        shown = Counter()
        for author in self._authors.values():
            if author.is_persona:
                shown[author.name] += author.messages
        return speaker_label(shown.most_common(1)[0][0]) if shown else first

    @property
    def persona_aliases(self) -> set[str]:
        """Every name and id the persona's accounts were seen with."""
        return {alias for account_id in self._persona_ids
                for alias in self._accounts[account_id].aliases}

    @property
    def persona_ids(self) -> frozenset[str]:
        """The persona's accounts (ids, or names where the format has no ids), as resolved."""
        return frozenset(self._persona_ids)

    @property
    def persona_account_ids(self) -> list[str]:
        """The persona's Discord ids (the bot tells the persona from namesakes by these);
        accounts known by name only have none."""
        return sorted(i for i in self._persona_ids if is_id(i))

    def kept_messages(self) -> Counter:
        """persona_messages and other_messages: the kept messages of each side (counted from
        the authors once, rather than per message in prepare's hot loop)."""
        counts: Counter[str] = Counter(persona_messages=0, other_messages=0)
        for author in self._authors.values():
            counts["persona_messages" if author.is_persona else "other_messages"] += author.messages
        return counts

    @property
    def activity(self) -> Counter:
        """author id -> kept messages."""
        counts: Counter[str] = Counter()
        for author in self._authors.values():
            counts[author.author_id] += author.messages
        return +counts

    def most_active(self, count: int = 5) -> str:
        names: dict[str, Counter] = {}
        for author in self._authors.values():
            names.setdefault(author.author_id, Counter())[author.name] += author.messages
        return ", ".join(
            f"{names[author_id].most_common(1)[0][0]} ({messages} messages)"
            for author_id, messages in self.activity.most_common(count)
        )
