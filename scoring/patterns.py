"""Globs and regular expressions of scoring rules, in the Python and PostgreSQL dialects.

A rule is evaluated by the Python scorer and by the set-based SQL rescore, and
both must agree on every lead. So a pattern is accepted only in a subset whose
meaning is the same in Python's `re` and PostgreSQL's advanced regular
expressions, and each accepted pattern is translated once into both dialects.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

MAX_PATTERN_LENGTH = 500

# Escapes whose meaning is the same in both dialects; \b and \B are translated.
_SAME_CLASS_ESCAPES = frozenset("dDsSwW")
_ANCHOR_ESCAPES = frozenset("AZ")
# Group openings after "(?" that both dialects read alike.
_GROUP_PREFIXES = (":", "=", "!", "<=", "<!")


class PatternError(ValueError):
    """A glob or regular expression that scoring cannot evaluate; the message names the fix."""


@dataclass(frozen=True)
class Glob:
    """A case-insensitive glob over a whole value: `*` is any text, `?` one character."""

    text: str
    regex: re.Pattern[str]
    like: str  # The same pattern for PostgreSQL's ILIKE, with % _ and \ escaped.

    def matches(self, value: str) -> bool:
        return self.regex.fullmatch(value) is not None


@dataclass(frozen=True)
class Regex:
    """A case-insensitive regular expression searched anywhere in a text value."""

    text: str
    regex: re.Pattern[str]
    postgres: str  # The same pattern for PostgreSQL's ~* operator.

    def matches(self, value: str) -> bool:
        return self.regex.search(value) is not None


def compile_glob(text: str) -> Glob:
    """Compile a glob or raise PatternError naming what to change."""
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternError(
            f"The glob is {len(text)} characters long; shorten it to {MAX_PATTERN_LENGTH} or fewer."
        )
    if text != text.strip():
        raise PatternError(
            f"{_quote(text)} starts or ends with white space; remove it or use * for any text."
        )
    for character in text:
        if character in "[]":
            raise PatternError(
                f"{_quote(text)} contains {character!r}, but globs here have no character classes; "
                "use ? for one character or * for any text."
            )
        if character == "\\":
            raise PatternError(
                f"{_quote(text)} contains a backslash, but globs here have no escapes; "
                "use ? in place of the character."
            )
        if not character.isprintable():
            raise PatternError(f"{_quote(text)} contains a control character; remove it.")

    regex_parts: list[str] = []
    like_parts: list[str] = []
    for character in text:
        if character == "*":
            regex_parts.append(".*")
            like_parts.append("%")
        elif character == "?":
            regex_parts.append(".")
            like_parts.append("_")
        else:
            regex_parts.append(re.escape(character))
            like_parts.append("\\" + character if character in "%_" else character)
    regex = re.compile("".join(regex_parts), re.IGNORECASE | re.DOTALL)
    return Glob(text=text, regex=regex, like="".join(like_parts))


def compile_regex(text: str) -> Regex:
    """Compile a regular expression or raise PatternError naming what to change.

    Python's `$` also matches before a final newline, so it becomes `\\Z` on the
    Python side. Python's word boundaries `\\b` and `\\B` are `\\y` and `\\Y` in
    PostgreSQL. `.` matches a newline in both dialects.
    """
    if not text:
        raise PatternError("The regular expression is empty; write a pattern such as 'engineer'.")
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternError(
            f"The regular expression is {len(text)} characters long; "
            f"shorten it to {MAX_PATTERN_LENGTH} or fewer."
        )
    python_parts, postgres_parts = _translate_regex(text)
    with warnings.catch_warnings():
        # Python warns about bracket forms whose meaning will change, such as [[ or && in a class.
        warnings.simplefilter("error", FutureWarning)
        try:
            re.compile(text)
        except re.error as error:
            raise PatternError(
                f"{_quote(text)} is not a valid regular expression ({error}); fix the pattern."
            ) from error
        except FutureWarning as warning:
            raise PatternError(
                f"{_quote(text)} is ambiguous ({warning}); put a backslash before a literal "
                "[, &, ~, | or - inside [...]."
            ) from warning
    regex = re.compile("".join(python_parts), re.IGNORECASE | re.DOTALL)
    return Regex(text=text, regex=regex, postgres="".join(postgres_parts))


def _translate_regex(text: str) -> tuple[list[str], list[str]]:
    python_parts: list[str] = []
    postgres_parts: list[str] = []
    in_class = False
    class_start = 0
    index = 0
    while index < len(text):
        character = text[index]
        following = text[index + 1] if index + 1 < len(text) else ""

        if character == "\\":
            python_escape, postgres_escape = _translate_escape(text, following, in_class)
            python_parts.append(python_escape)
            postgres_parts.append(postgres_escape)
            index += 2
            continue

        if in_class:
            if character == "[" and following in ":=.":
                raise PatternError(
                    f"{_quote(text)} uses a POSIX class such as [:alpha:], which Python reads "
                    "differently; use \\w, \\d or list the characters."
                )
            # A "]" right after "[" or "[^" is a literal member, not the end of the class.
            if character == "]" and index > class_start:
                in_class = False
        elif character == "[":
            in_class = True
            class_start = index + 1
            if following == "^":
                class_start += 1
        elif character == "(" and following == "?":
            rest = text[index + 2 :]
            if not rest.startswith(_GROUP_PREFIXES):
                raise PatternError(
                    f"{_quote(text)} uses a group or flag form '(?{rest[:2]}' that PostgreSQL does not "
                    "share; use (?:...), (?=...), (?!...), (?<=...) or (?<!...), and no inline "
                    "flags because matching is always case-insensitive."
                )
        elif character in "*+?}" and following == "+":
            raise PatternError(
                f"{_quote(text)} contains a possessive quantifier {character}+, which PostgreSQL "
                "does not support; escape a literal plus sign as \\+."
            )
        elif character == "$":
            python_parts.append("\\Z")
            postgres_parts.append("$")
            index += 1
            continue

        python_parts.append(character)
        postgres_parts.append(character)
        index += 1
    return python_parts, postgres_parts


def _translate_escape(text: str, escaped: str, in_class: bool) -> tuple[str, str]:
    if not escaped.isalnum():
        return "\\" + escaped, "\\" + escaped
    if escaped in _SAME_CLASS_ESCAPES and not (in_class and escaped in "DSW"):
        return "\\" + escaped, "\\" + escaped
    if escaped in "bB" and not in_class:
        return "\\" + escaped, "\\y" if escaped == "b" else "\\Y"
    if escaped in _ANCHOR_ESCAPES and not in_class:
        return "\\" + escaped, "\\" + escaped
    raise PatternError(
        f"{_quote(text)} uses the escape \\{escaped}, which PostgreSQL reads differently or not at "
        "all; use \\d, \\s, \\w (or \\D, \\S, \\W outside [...]), \\b, \\B, \\A, \\Z or an "
        "escaped punctuation character."
    )


def _quote(text: str) -> str:
    """Show a pattern as written, without the doubled backslashes of repr()."""
    return f'"{text}"'
