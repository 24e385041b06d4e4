"""Text helpers for song titles: accent- and case-insensitive matching, file-name slugs.

Standard library only, so that the workflow can import it when it parses the
configuration.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize_title", "slugify"]


def normalize_title(text: str) -> str:
    """A title folded for matching: accents removed (Unicode NFKD), case folded, spaces collapsed.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
        ``"Café  Déjà-vu"`` and ``"cafe deja-vu"`` both give ``"cafe deja-vu"``.
    """
    decomposed = unicodedata.normalize("NFKD", str(text))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def slugify(text: str, default: str = "seed") -> str:
    """A safe file name from a title: ASCII letters and digits, words joined by ``-``.

    Parameters
    ----------
    text : str
    default : str
        Returned when nothing of ``text`` is left (a title made of symbols only).

    Returns
    -------
    str
        For example ``"Mañana Será (Live)"`` gives ``"manana-sera-live"``.
    """
    ascii_text = normalize_title(text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    return slug[:80].rstrip("-") or default
