"""Tag grammars that are safe by construction: patterns that cannot backtrack catastrophically
and `id` templates that can only paste named groups together.

Python's `re` is a backtracking engine: `(a+)+$` takes exponential time on a tag that almost
matches, and a catalog is input like any other. So every pattern is checked when its catalog is
loaded, by walking the tree `re` itself compiles (`re._parser`; private, but the AST of every
Python this package supports), and refused unless:

- it has no backreferences and no conditionals (they are what makes regex matching NP-hard);
- inside a repeat that can go round more than once, every choice the engine can backtrack into
  (an alternation, an optional part, a repeat going round once more or stopping) is settled by
  the next character: the alternatives start with different characters. A repeat then never
  splits the same text into repetitions in two ways, which is what separates the safe
  `(?:\\.\\d+)+` from `(a+)+`. A repeated part that can match nothing is refused too;
- outside repeats, the choices that are not settled by the next character (`.*?` before a
  literal, `(?:Annex )?` before `A\\.`) each multiply the work by the number of ways they can go.
  That product, times the tag length (and the start positions a search tries when the pattern
  is not anchored with `^`), must stay within WORK_BUDGET. With the bound on a tag's length
  (MAX_TAG_CHARS) every match is then bounded;
- lookarounds are atomic in Python (the engine never backtracks into one that matched), so each
  is checked as a pattern of its own and its cost counted once per evaluation.

Character sets are exact over ASCII and count every non-ASCII character for a Unicode class
(`\\d`, `\\w`, `.`, case-insensitive letters): an overlap may be seen where there is none, never
missed, so a doubtful pattern is refused rather than trusted.
"""

from __future__ import annotations

import re

# The opcode names read as they do in CPython's own sources.
import re._constants as C
import re._parser as P
import string
from dataclasses import dataclass, field
from functools import cache
from typing import Any

MAX_TAG_CHARS = 500  # no control's tag comes close; longer tags are refused at load
MAX_PATTERN_CHARS = 2_000
MAX_NESTING = 40
# Backtracking steps one match may take, as estimated below: ~0.1 s of `re` at worst.
WORK_BUDGET = 10_000_000

_ASCII = 128
_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT)
_ATOMS = (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN)
_START = (C.AT_BEGINNING, C.AT_BEGINNING_STRING)


class UnsafePattern(ValueError):
    """A pattern refused at load; the message says what to change."""


# --- character sets -------------------------------------------------------------------------

# Non-ASCII characters fall into four disjoint kinds as `re` classifies them: decimal digits
# (\d), white space (\s), other word characters (\w minus \d) and the rest. A Unicode class is
# exactly a union of kinds, so `\s` and `\d` stay disjoint without listing 140,000 characters.
DIGIT, SPACE, WORD, OTHER = "digit", "space", "word", "other"
_KINDS = frozenset({DIGIT, SPACE, WORD, OTHER})
_EXAMPLE = {DIGIT: "\u0660", SPACE: "\u00a0", WORD: "\u00e9", OTHER: "\u00a7"}
_WIDE_RANGE_LIMIT = 512  # larger explicit ranges are taken to touch every kind


def _kind(c: str) -> str:
    if re.match(r"\d", c):
        return DIGIT
    if re.match(r"\s", c):
        return SPACE
    return WORD if re.match(r"\w", c) else OTHER


@dataclass(frozen=True)
class Chars:
    """A set of characters: exact over ASCII (a bit mask); above it, whole kinds plus explicit
    ranges of code points. It may hold more than the pattern can match, never less."""

    ascii: int = 0
    kinds: frozenset[str] = frozenset()
    wide: tuple[tuple[int, int], ...] = ()

    def __or__(self, other: Chars) -> Chars:
        return Chars(self.ascii | other.ascii, self.kinds | other.kinds, self.wide + other.wide)

    def __bool__(self) -> bool:
        return bool(self.ascii or self.kinds or self.wide)

    def common(self, other: Chars) -> str | None:
        """A character in both sets, or None when they are disjoint."""
        both = self.ascii & other.ascii
        if both:
            return chr((both & -both).bit_length() - 1)
        for kind in sorted(self.kinds & other.kinds):
            return _EXAMPLE[kind]
        for lo, hi in self.wide:
            for olo, ohi in other.wide:
                if lo <= ohi and olo <= hi:
                    return chr(max(lo, olo))
        return _in_kinds(self.wide, other.kinds) or _in_kinds(other.wide, self.kinds)

    def complement(self) -> Chars:
        """Every ASCII character not in the set, and every kind not wholly in it."""
        return Chars(~self.ascii & ((1 << _ASCII) - 1), _KINDS - self.kinds)


EMPTY = Chars()
_EVERYTHING = Chars((1 << _ASCII) - 1, _KINDS)


def _in_kinds(ranges: tuple[tuple[int, int], ...], kinds: frozenset[str]) -> str | None:
    for lo, hi in ranges:
        if not kinds:
            return None
        if hi - lo >= _WIDE_RANGE_LIMIT:
            return chr(lo)
        for c in range(lo, hi + 1):
            if _kind(chr(c)) in kinds:
                return chr(c)
    return None


def _span(lo: int, hi: int) -> Chars:
    mask = 0
    for c in range(lo, min(hi, _ASCII - 1) + 1):
        mask |= 1 << c
    return Chars(mask, frozenset(), ((max(lo, _ASCII), hi),) if hi >= _ASCII else ())


def _fold(chars: Chars) -> Chars:
    """Case-insensitive matching: both ASCII cases, and any non-ASCII letter once a letter is
    involved ('k' also matches the Kelvin sign)."""
    letters = 0
    for c in range(_ASCII):
        if chars.ascii >> c & 1 and chr(c).isalpha():
            letters |= 1 << ord(chr(c).swapcase())
    if chars.wide or chars.kinds:  # the Kelvin sign also matches 'k' and 'K'
        letters |= sum(1 << ord(c) for c in string.ascii_letters)
    kinds = chars.kinds | {WORD, OTHER} if letters else chars.kinds
    return Chars(chars.ascii | letters, kinds, chars.wide)


_CATEGORY = {
    C.CATEGORY_DIGIT: (r"\d", frozenset({DIGIT})),
    C.CATEGORY_NOT_DIGIT: (r"\D", frozenset({SPACE, WORD, OTHER})),
    C.CATEGORY_SPACE: (r"\s", frozenset({SPACE})),
    C.CATEGORY_NOT_SPACE: (r"\S", frozenset({DIGIT, WORD, OTHER})),
    C.CATEGORY_WORD: (r"\w", frozenset({DIGIT, WORD})),
    C.CATEGORY_NOT_WORD: (r"\W", frozenset({SPACE, OTHER})),
}


def _category(category: Any, flags: int) -> Chars:
    """The class's ASCII members exactly as `re` sees them, and its non-ASCII kinds."""
    if category not in _CATEGORY:
        raise UnsafePattern(f"unsupported character class {category}")
    return _category_chars(category, bool(flags & re.ASCII))


@cache
def _category_chars(category: Any, ascii_only: bool) -> Chars:
    source, kinds = _CATEGORY[category]
    probe = re.compile(source, re.ASCII if ascii_only else 0)
    mask = sum(1 << c for c in range(_ASCII) if probe.match(chr(c)))
    if ascii_only:  # \d, \s, \w match no non-ASCII character; \D, \S, \W match all of them
        kinds = _KINDS if source[1].isupper() else frozenset()
    return Chars(mask, kinds)


def _atom(op: Any, av: Any, flags: int) -> Chars:
    """The characters one LITERAL, NOT_LITERAL, ANY or IN can match (never fewer)."""
    fold = bool(flags & re.IGNORECASE)
    if op is C.ANY:
        return _EVERYTHING if flags & re.DOTALL else _span(10, 10).complement()
    if op in (C.LITERAL, C.NOT_LITERAL):
        members, negate = _span(av, av), op is C.NOT_LITERAL
    else:
        members, negate = EMPTY, False
        for item, value in av:
            if item is C.NEGATE:
                negate = True
            elif item is C.LITERAL:
                members |= _span(value, value)
            elif item is C.RANGE:
                members |= _span(*value)
            elif item is C.CATEGORY:
                members |= _category(value, flags)
            else:
                raise UnsafePattern(f"unsupported item {item} in a character set")
    if fold:
        members = _fold(members)
    if not negate:
        return members
    flipped = members.complement()
    # Case folding made `members` larger than the truth, so its complement would be smaller
    # than the truth: keep the exact ASCII part and count every non-ASCII kind.
    return Chars(flipped.ascii, _KINDS) if fold else flipped


# --- the walk -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Info:
    first: Chars  # what a non-empty match can start with
    nullable: bool  # whether it can match nothing


def _sub_flags(av: Any, flags: int) -> int:
    _group, add, remove, _p = av
    return (flags | add) & ~remove


def _info(items: Any, flags: int) -> _Info:
    """First characters and nullability of a sequence, without checking it."""
    first = EMPTY
    for op, av in items:
        if op in _ATOMS:
            return _Info(first | _atom(op, av, flags), False)
        if op is C.SUBPATTERN:
            inner = _info(av[3], _sub_flags(av, flags))
        elif op is C.ATOMIC_GROUP:
            inner = _info(av, flags)
        elif op is C.BRANCH:
            parts = [_info(b, flags) for b in av[1]]
            inner = _Info(_union(p.first for p in parts), any(p.nullable for p in parts))
        elif op in _REPEATS:
            lo, hi, body = av
            inner = _info(body, flags) if hi else _Info(EMPTY, True)
            inner = _Info(inner.first, inner.nullable or lo == 0)
        else:  # anchors and lookarounds consume nothing
            continue
        first |= inner.first
        if not inner.nullable:
            return _Info(first, False)
    return _Info(first, True)


def _union(sets: Any) -> Chars:
    out = EMPTY
    for s in sets:
        out |= s
    return out


def _shown(c: str) -> str:
    return repr(c) if c.isprintable() and c != " " else f"U+{ord(c):04X}"


@dataclass
class _Walk:
    """Checks the choices of one pattern (or one lookaround) and multiplies up their cost."""

    max_len: int
    ways: int = 1
    lookaround: int = 1
    notes: list[str] = field(default_factory=list)

    def sequence(self, items: Any, follow: Chars, flags: int, loop: str | None) -> _Info:
        after = follow  # what may come after each element, walking right to left
        for op, av in reversed(list(items)):
            info = self.element(op, av, after, flags, loop)
            after = info.first | after if info.nullable else info.first
        return _info(items, flags)

    def element(self, op: Any, av: Any, follow: Chars, flags: int, loop: str | None) -> _Info:
        if op in _ATOMS:
            return _Info(_atom(op, av, flags), False)
        if op is C.AT:
            return _Info(EMPTY, True)
        if op is C.SUBPATTERN:
            return self.sequence(av[3], follow, _sub_flags(av, flags), loop)
        if op is C.ATOMIC_GROUP:
            return self.sequence(av, follow, flags, loop)
        if op in (C.ASSERT, C.ASSERT_NOT):
            cost = _lookaround_cost(av[1], flags, self.max_len)
            if cost > 1:
                self.notes.append(
                    f"the lookaround {_show(av[1])} reads ahead each time it is tried"
                )
            self.lookaround = max(self.lookaround, cost)
            return _Info(EMPTY, True)
        if op is C.BRANCH:
            return self.branch(av[1], follow, flags, loop)
        if op in _REPEATS:
            return self.repeat(op, av, follow, flags, loop)
        if op in (C.GROUPREF, C.GROUPREF_EXISTS):
            raise UnsafePattern(
                "backreferences and conditionals such as (?P=name) or (?(1)...) are not "
                "allowed: they make matching take exponential time"
            )
        raise UnsafePattern(f"the construct {op} is not supported in tag patterns")

    def branch(self, branches: Any, follow: Chars, flags: int, loop: str | None) -> _Info:
        infos = [self.sequence(b, follow, flags, loop) for b in branches]
        entries = [i.first | follow if i.nullable else i.first for i in infos]
        for a in range(len(entries)):
            for b in range(a + 1, len(entries)):
                both = entries[a].common(entries[b])
                if both is not None or (infos[a].nullable and infos[b].nullable):
                    shown = [_show(branches[i]) or "(nothing)" for i in (a, b)]
                    what = f"alternatives {shown[0]} and {shown[1]}"
                    why = (
                        f"both accept {_shown(both)} as the next character"
                        if both
                        else "can both be empty"
                    )
                    self.choice(len(branches), f"the {what} {why}", loop)
                    return _Info(_union(i.first for i in infos), any(i.nullable for i in infos))
        return _Info(_union(i.first for i in infos), any(i.nullable for i in infos))

    def repeat(self, op: Any, av: Any, follow: Chars, flags: int, loop: str | None) -> _Info:
        lo, hi, body = av
        if hi == 0:
            return _Info(EMPTY, True)
        shown = _show([(op, av)])
        inner = _info(body, flags)
        again = hi > 1
        if again and inner.nullable:
            raise UnsafePattern(
                f"the repeated part of {shown} can match nothing; repeat something that "
                "consumes at least one character"
            )
        self.sequence(
            body,
            inner.first | follow if again else follow,
            flags,
            loop or (shown if again else None),
        )
        if lo != hi and op is not C.POSSESSIVE_REPEAT:
            both = inner.first.common(follow)
            if both is not None:
                ways = min(hi, self.max_len) - lo + 1
                what = "optional part" if hi == 1 else "repeat"
                self.choice(
                    ways,
                    f"the {what} {shown} can take or leave {_shown(both)}, which may also "
                    "come next",
                    loop,
                )
        return _Info(inner.first, inner.nullable or lo == 0)

    def choice(self, ways: int, what: str, loop: str | None) -> None:
        if loop is not None:
            raise UnsafePattern(
                f"inside the repeat {loop}, {what}: the engine can try exponentially many ways "
                "to split a tag (catastrophic backtracking); make each repetition start with "
                r"a character that cannot continue the one before, e.g. (?:\.\d+)+"
            )
        self.ways = min(self.ways * max(ways, 1), WORK_BUDGET * 1000)
        self.notes.append(what)


def _lookaround_cost(body: Any, flags: int, max_len: int) -> int:
    walk = _Walk(max_len)
    walk.sequence(body, EMPTY, flags, None)
    _lo, hi = body.getwidth()
    return walk.ways * walk.lookaround * max(1, min(hi, max_len))


def _children(op: Any, av: Any) -> list[Any]:
    """The sequences directly inside one element."""
    if op is C.SUBPATTERN:
        return [av[3]]
    if op is C.ATOMIC_GROUP:
        return [av]
    if op in (C.ASSERT, C.ASSERT_NOT):
        return [av[1]]
    if op is C.BRANCH:
        return list(av[1])
    if op in _REPEATS:
        return [av[2]]
    if op is C.GROUPREF_EXISTS:
        return [x for x in av[1:] if x is not None]
    return []


def _nesting(tree: Any) -> int:
    """How deep groups, repeats and lookarounds nest, found without recursion, so that the
    walks below (which recurse) only ever see shallow trees."""
    deepest, stack = 0, [(tree, 0)]
    while stack:
        items, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            break
        for op, av in items:
            stack.extend((child, depth + 1) for child in _children(op, av))
    return deepest


def _anchored(items: Any) -> bool:
    for op, av in items:
        if op is C.AT:
            return av in _START
        if op is C.SUBPATTERN:
            return _anchored(av[3])
        return False
    return False


def check_pattern(pattern: str, *, max_len: int = MAX_TAG_CHARS) -> re.Pattern[str]:
    """Compile a tag pattern if it is safe; raise UnsafePattern (a ValueError) saying why not."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise UnsafePattern(
            f"the pattern is {len(pattern):,} characters; the limit is {MAX_PATTERN_CHARS:,}"
        )
    try:
        compiled = re.compile(pattern)
        tree = P.parse(pattern)
    except re.error as exc:
        raise UnsafePattern(f"not a valid regular expression: {exc}") from None
    except RecursionError:
        raise UnsafePattern("not a valid regular expression: nested too deeply") from None
    if not compiled.groupindex:
        raise UnsafePattern("the pattern needs a named group, e.g. (?P<id>...)")
    if _nesting(tree) > MAX_NESTING:
        raise UnsafePattern(f"groups and repeats are nested more than {MAX_NESTING} deep")
    walk = _Walk(max_len)
    walk.sequence(tree, EMPTY, tree.state.flags, None)
    starts = 1 if _anchored(tree) else max_len + 1
    work = starts * walk.ways * (max_len + 1) * walk.lookaround
    if work > WORK_BUDGET:
        why = "; ".join(walk.notes[:3]) or "it is not anchored"
        if len(walk.notes) > 3:
            why += f"; and {len(walk.notes) - 3} more such choices"
        hint = "anchor it with ^" if starts > 1 else "make each choice depend on one character"
        raise UnsafePattern(
            f"the pattern may backtrack too much on a tag of {max_len} characters "
            f"(~{work:.1e} steps, limit {WORK_BUDGET:.0e}): {why}; {hint}"
        )
    return compiled


# --- showing a part of a pattern in a message -------------------------------------------------

_SHOW_LIMIT = 40


def _show(items: Any) -> str:
    text = "".join(_show_one(op, av) for op, av in items)
    return text if len(text) <= _SHOW_LIMIT else text[: _SHOW_LIMIT - 3] + "..."


def _show_one(op: Any, av: Any) -> str:
    if op is C.LITERAL:
        return re.escape(chr(av))
    if op is C.NOT_LITERAL:
        return f"[^{re.escape(chr(av))}]"
    if op is C.ANY:
        return "."
    if op is C.IN:
        if len(av) == 1 and av[0][0] is C.CATEGORY and av[0][1] in _CATEGORY:
            return _CATEGORY[av[0][1]][0]
        return "[...]"
    if op is C.AT:
        return {C.AT_BEGINNING: "^", C.AT_END: "$", C.AT_BOUNDARY: r"\b"}.get(av, "")
    if op is C.SUBPATTERN:
        body = av[3]
        if len(body) == 1 and body[0][0] is C.BRANCH:
            inner = "|".join(_show(b) or "(nothing)" for b in body[0][1][1])
        else:
            inner = _show(body)
        return f"({inner})" if av[0] is not None else f"(?:{inner})"
    if op is C.BRANCH:
        return "(?:" + "|".join(_show(b) or "(nothing)" for b in av[1]) + ")"
    if op in _REPEATS:
        lo, hi, body = av
        inner = _show(body)
        if len(body) != 1 or body[0][0] not in (*_ATOMS, C.SUBPATTERN):
            inner = f"(?:{inner})"
        count = {(0, 1): "?", (0, C.MAXREPEAT): "*", (1, C.MAXREPEAT): "+"}.get((lo, hi))
        if count is None:
            count = f"{{{lo},{'' if hi is C.MAXREPEAT else hi}}}" if lo != hi else f"{{{lo}}}"
        return inner + count + ("?" if op is C.MIN_REPEAT else "")
    return "(...)"


# --- id templates ----------------------------------------------------------------------------

Template = tuple[tuple[str, str | None], ...]


def parse_template(template: str) -> Template:
    """`{name}` fields and literal text, nothing else: attribute and index access, conversions
    and format specs (`{id.upper}`, `{id[0]}`, `{id!r}`, `{id:>9}`) are refused, since they run
    code on the match or build strings of any size."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(
            f"not a valid id template: {exc}; expected text with {{name}} fields"
        ) from None
    out: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parts:
        if name is None:
            out.append((literal, None))
            continue
        if not name.isidentifier() or conversion is not None or spec:
            shown = (
                "{"
                + name
                + (f"!{conversion}" if conversion else "")
                + (f":{spec}" if spec else "")
                + "}"
            )
            raise ValueError(
                f"the id template field {shown} is not allowed: expected a plain "
                "{name} naming a group of the pattern"
            )
        out.append((literal, name))
    return tuple(out)


def fill_template(template: Template, groups: dict[str, str | None]) -> str | None:
    """The id a match gives, or None when a field's group took no part in the match."""
    text = []
    for literal, name in template:
        text.append(literal)
        if name is not None:
            value = groups.get(name)
            if value is None:
                return None
            text.append(value)
    return "".join(text)
