"""Text that is safe to show: no NUL, no invisible bidi controls, no other C0 control characters.

A caption or a coder name can carry U+202E (RIGHT-TO-LEFT OVERRIDE), which makes "gpj.exe" read as
"exe.jpg", or a NUL, which some tools treat as the end of the string. `displayable` removes them
from any text the app shows (every `{{ … }}` of every template goes through it, see app.py), and
`clean_name` does the same to coder, code and cluster names before they are stored.
"""

from __future__ import annotations

import re

# Bidi embedding/override (U+202A–U+202E) and isolate (U+2066–U+2069) controls, plus the marks
# U+200E/U+200F and U+061C: they change how the surrounding text is ordered on screen.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
# C0 controls (NUL included) and DEL, except tab and newlines, which text may keep.
_UNSAFE_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f{BIDI_CONTROLS}]")
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
_CONTROLS = re.compile("[\x00-\x1f\x7f]")


def displayable(text: str) -> str:
    """`text` without NUL, bidi controls and other control characters (tabs and newlines kept)."""
    return _UNSAFE_TEXT.sub("", text)


def clean_name(name: str | None) -> str:
    """A one-line name: control and bidi characters removed, whitespace runs collapsed."""
    return " ".join(_CONTROLS.sub(" ", _BIDI.sub("", name or "")).split())
