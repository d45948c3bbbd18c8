"""Platform alt text, read: what the platform detected in the image, and the text it read there.

Instagram and Facebook write an automatic alternative text for images their posters did not
describe, in the viewer's language:

    Puede ser una imagen de 1 persona y texto que dice "NI UNA MENOS".
    May be an image of text that says 'JUSTICE FOR ALL'
    Pode ser uma imagem de 2 pessoas e texto que diz "Nem uma a menos"
    Photo by Colectiva Morada on March 08, 2021. May be an image of one or more people.
    Image may contain: 1 person, text        La imagen puede contener: texto
    No photo description available.          No hay ninguna descripción de la foto disponible.

`parse_alt_text` splits such a text into `objects` (["1 persona", "texto"]: the things detected)
and `says` (the quoted text: the platform's own OCR, free for scraped collections). Its boilerplate
("Puede ser una imagen de", "texto que dice") is never a term of a cluster: the describe stage
reads `says` for automatic alt texts, and the alt text itself only when a person wrote it
(`objects` is None then).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# "<intro> <kind> de|of|de <objects>": the automatic alt text's opening, per language.
_INTRO = re.compile(
    r"(?:puede ser|may be|pode ser)\s+(?:una?|an?|uma?)\s+"
    r"(?:imagen|image|imagem|selfie|foto|photo|fotografía|fotografia|closeup|close-up|"
    r"dibujo|drawing|desenho|ilustración|illustration|ilustração|"
    r"captura de pantalla|screenshot|captura de tela|primer plano|close-up|arte|art|"
    r"gráfico|graphic|meme|historieta|cartoon|caricatura|cómic|comic|quadrinhos)"
    r"(?:\s+(?:de|of|do|da|del)\s+|\b)",
    re.IGNORECASE,
)
# The older form: "Image may contain: 1 person, text", "La imagen puede contener: …",
# "A imagem pode conter: …".
_CONTAINS = re.compile(
    r"(?:image may contain|la imagen puede contener|a imagem pode conter)\s*:\s*", re.IGNORECASE
)
_NOTHING = re.compile(
    r"no photo description available|no hay ninguna descripci[oó]n de la foto disponible|"
    r"nenhuma descri[cç][aã]o de foto dispon[ií]vel|sin descripci[oó]n de la foto",
    re.IGNORECASE,
)
# "(texto) que dice", "(text) that says", "(texto) que diz" (+ an optional colon), then the quote; the
# "texto" before it stays an item of the objects.
_SAYS = re.compile(r"\b(?:que dice|that says|que diz)\s*:?\s*", re.IGNORECASE)
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "„": "“", "”": "”"}
# Items of the objects list: "1 persona, 2 personas de pie y texto" → three items.
_ITEM_SPLIT = re.compile(r"\s*,\s*|\s+(?:y|and|e)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class AltText:
    objects: tuple[str, ...] | None  # what the platform detected; None when a person wrote the alt text
    says: str | None  # the text the platform read in the image, when it quotes one

    @property
    def automatic(self) -> bool:
        return self.objects is not None


def parse_alt_text(alt_text: str | None) -> AltText:
    """Split a platform's automatic alt text into detected objects and the quoted text (see module doc).

    A text that is not automatic (written by a person) gives `AltText(None, None)`."""
    if not isinstance(alt_text, str) or not alt_text.strip():
        return AltText(None, None)
    text = alt_text.strip()
    if _NOTHING.search(text) and not _INTRO.search(text):
        return AltText((), None)
    match = _INTRO.search(text) or _CONTAINS.search(text)
    if match is None:
        return AltText(None, None)
    rest = text[match.end() :]
    says_match = _SAYS.search(rest)
    says = None
    if says_match is not None:
        says = _quoted(rest[says_match.end() :])
        rest = rest[: says_match.start()]
    return AltText(_items(rest), says)


def _quoted(text: str) -> str | None:
    """The quoted text at the start of `text`: from its opening quote to the last matching closing
    quote (quotes inside the quoted text are kept); unquoted text up to the end otherwise."""
    text = text.strip()
    if not text:
        return None
    opening = text[0]
    closing = _QUOTES.get(opening)
    if closing is None:
        body = text.rstrip(".")
    else:
        end = text.rfind(closing, 1)
        body = text[1:end] if end > 0 else text[1:]
    body = body.strip()
    return body or None


def _items(objects: str) -> tuple[str, ...]:
    cleaned = objects.strip().rstrip(".").strip()
    return tuple(item.strip(" .") for item in _ITEM_SPLIT.split(cleaned) if item.strip(" ."))


def alt_columns(alt_texts: list) -> tuple[list[list[str] | None], list[str | None]]:
    """The manifest's `alt_objects` and `alt_says` for each alt text (None where not automatic / no quote)."""
    parsed = [parse_alt_text(value) for value in alt_texts]
    return [None if p.objects is None else list(p.objects) for p in parsed], [p.says for p in parsed]


__all__ = ["AltText", "alt_columns", "parse_alt_text"]
