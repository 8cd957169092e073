"""Who is who in `prepare`: --persona resolved to accounts, exclusions and speaker labels.

`--persona` values name *accounts*, not strings (contract 2 in DESIGN.md). Anyone can take a
display name or a server nickname, so matching on names alone would let an impersonator (or an
innocent namesake) become a training target. The rules, per value:

1. A value matches an account by its id or its username (a *handle*: unique on Discord).
2. Only when no account matched the value by a handle does it match by display name or
   nickname, and only if exactly one account carries that name. A name that several accounts
   carry is an error listing them, so the user can pass the id or username instead.
3. Matching never spreads: an account is the persona under all of its names, but those names
   do not pull in other accounts that share them.
4. Everyone else whose name equals one of the persona's names is labelled
   `<name> (not the persona)` (catgpt.labels.speaker_label), as the bot labels them.

Text copied from the Discord client shows display names only: such an "account" is known by
its name alone and matches a value equal to it (the format cannot tell namesakes apart).

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

from catgpt.labels import NOT_THE_PERSONA, speaker_label
from training.data.messages import Message
from training.errors import DatasetError

log = logging.getLogger(__name__)

# How many accounts an ambiguity error lists before "and N more".
_LISTED = 10


@dataclass
class Author:
    """One (account id, shown name) pair as prepare sees it; looked up once, then cached."""

    author_id: str
    name: str
    is_persona: bool
    excluded: bool
    label: str  # the `name` of their turns
    messages: int = 0  # kept messages, for the "most active authors" hint


@dataclass
class _Account:
    """Everything seen about one account id, across its names and files."""

    id: str
    username: str
    known_by_name: bool  # the format names no username or id (copied client text)
    handles: set[str] = field(default_factory=set)  # casefolded id and username forms
    names: set[str] = field(default_factory=set)  # other names, casefolded
    aliases: dict[str, None] = field(default_factory=dict)  # every name and the id, as written
    authors: list[Author] = field(default_factory=list)

    @property
    def messages(self) -> int:
        return sum(author.messages for author in self.authors)

    def describe(self) -> str:
        shown = ", ".join(dict.fromkeys(a.name for a in self.authors)) or "?"
        who = f"name {self.id!r} (no id in this format)" if self.known_by_name else f"id {self.id}"
        username = f", username {self.username}" if self.username else ""
        return f"{who}{username}, shown as {shown}: {self.messages} messages"


@dataclass(frozen=True)
class Resolution:
    """The final answer: which account ids are the persona, and the names others may not use
    as their label (the persona's names, as the bot reads them from catgpt.json)."""

    persona_ids: frozenset[str]
    persona_names: frozenset[str]


def _handles(message: Message) -> set[str]:
    """The casefolded id and username forms of the message's author; none for an author the
    format knows by display name only (copied client text)."""
    author_id, username = message.author_id, message.author_username
    if not username and not author_id.isdigit():
        return set()
    handles = {author_id.casefold()}
    if username:
        handles.add(username.casefold())
        if username.endswith("#0"):  # the new-style "no discriminator" suffix
            handles.add(username[:-2].casefold())
    return handles


class People:
    """The persona test, exclusions, labels, and activity for error messages.

    Without `resolved`, decisions are provisional (see the module docstring); with it, they
    are fixed from the start (the second reading). `mask_name`, when given, masks personal
    data in a label as in text (a nickname can hold a phone number); names are matched unmasked.
    """

    def __init__(self, personas: list[str], exclude_authors: list[str] = (),
                 include_bots: bool = False, resolved: Resolution | None = None,
                 mask_name: Callable[[str], str] | None = None):
        self._mask_name = mask_name
        # label -> masked label: a label is recomputed on every decision (_relabel), but
        # masked (and counted in the masking totals) once.
        self._masked: dict[str, str] = {}
        self.requested = [p.strip() for p in personas if p.strip()]
        self.values = {p.casefold() for p in self.requested}
        self.excluded_keys = {p.strip().casefold() for p in exclude_authors if p.strip()}
        self.include_bots = include_bots
        self.resolved = resolved
        self.stale = False  # a decision already used for some message has changed since
        self._authors: dict[tuple[str, str], Author] = {}
        self._accounts: dict[str, _Account] = {}
        # value -> account ids matching it by handle / by a display name or nickname (accounts
        # with handles) / by name only (accounts without).
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
        key = (message.author_id, message.author_name)
        found = self._authors.get(key)
        if found is None:
            found = self._authors[key] = self._first_sight(message)
        return found

    def _first_sight(self, message: Message) -> Author:
        """A new (id, name) pair: learn what it says about the account, then decide."""
        names = message.known_as()
        excluded = bool(names & self.excluded_keys)
        account = self._accounts.get(message.author_id)
        if account is None:
            account = self._accounts[message.author_id] = _Account(
                message.author_id, message.author_username, not _handles(message))
        handles = set() if account.known_by_name else _handles(message)
        new_handles = handles - account.handles
        new_names = names - handles - account.handles - account.names
        account.handles |= new_handles
        account.names |= new_names
        new_aliases = [a for a in (*message.author_aliases, message.author_id)
                       if a and a not in account.aliases]
        account.aliases.update(dict.fromkeys(new_aliases))
        if self.resolved is None:
            # Excluded authors and dropped bots are never the persona, so they cannot make a
            # name ambiguous either.
            matters = False
            if not excluded and (self.include_bots or not message.is_bot):
                for value in new_handles & self.values:
                    self._by_handle.setdefault(value, set()).add(account.id)
                    matters = True
                index = self._by_name_only if account.known_by_name else self._by_name
                for value in new_names & self.values:
                    index.setdefault(value, set()).add(account.id)
                    matters = True
            if matters or (new_aliases and account.id in self._persona_ids):
                self._decide()
        is_persona = account.id in self._persona_ids
        author = Author(message.author_id, message.author_name, is_persona, excluded,
                        self._label(message.author_name))
        account.authors.append(author)
        return author

    def _label(self, name: str) -> str:
        """A speaker label that is never one of the persona's names (the model would take
        their words for its own)."""
        label = speaker_label(name, self._persona_names)
        if self._mask_name is None:
            return label
        masked = self._masked.get(label)
        if masked is None:
            masked = self._masked[label] = self._mask_name(label)
        return masked

    def _matches(self) -> tuple[set[str], dict[str, set[str]]]:
        """The persona's account ids by the rules, from what has been seen so far, and the
        values that are a name of several accounts (value -> their ids)."""
        ids: set[str] = set()
        shared: dict[str, set[str]] = {}
        for value in self.values:
            by_handle = self._by_handle.get(value)
            carriers = self._by_name.get(value, set())
            if by_handle:
                ids |= by_handle
            elif len(carriers) == 1:
                ids |= carriers
            elif carriers:
                shared[value] = carriers
            ids |= self._by_name_only.get(value, set())
        # A name several accounts carry is no error when one of them is the persona by
        # another value (`--persona mochi_cat --persona Mochi`): it names that account.
        return ids, {value: carriers for value, carriers in shared.items()
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
            label = self._label(author.name)
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
                raise self._ambiguous(value, shared[value.casefold()])
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

    def _ambiguous(self, value: str, carriers: set[str]) -> DatasetError:
        accounts = sorted((self._accounts[i] for i in carriers),
                          key=lambda a: (-a.messages, a.id))
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
        if not first.isdigit():
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
        return sorted(i for i in self._persona_ids if i.isdigit())

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
