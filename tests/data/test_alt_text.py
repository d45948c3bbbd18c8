"""Platform alt text: split into what was detected and the text quoted, in Spanish, English and
Portuguese; its boilerplate never becomes a term or a cluster name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from visframe import contracts as C
from visframe.data.alt_text import parse_alt_text
from visframe.describe import describe_clusters
from visframe.describe.terms import readable_alt_text

BOILERPLATE = {
    "puede",
    "ser",
    "imagen",
    "dice",
    "may",
    "image",
    "says",
    "pode",
    "imagem",
    "diz",
    "contener",
    "contain",
    "descripción",
    "description",
    "disponible",
    "available",
}


@pytest.mark.parametrize(
    ("alt_text", "objects", "says"),
    [
        ('Puede ser una imagen de texto que dice "NI UNA MENOS".', ("texto",), "NI UNA MENOS"),
        (
            'Puede ser una imagen de 1 persona, de pie y texto que dice "¡Vivas nos queremos!"',
            ("1 persona", "de pie", "texto"),
            "¡Vivas nos queremos!",
        ),
        (
            "Puede ser un dibujo de 1 persona y texto que dice “Ni una más”",
            ("1 persona", "texto"),
            "Ni una más",
        ),
        ("Puede ser una imagen de multitud y aire libre.", ("multitud", "aire libre"), None),
        ("Puede ser una ilustración.", (), None),
        ("May be an image of text that says 'JUSTICE FOR ALL'", ("text",), "JUSTICE FOR ALL"),
        (
            "May be an image of 2 people, people standing and text that says 'NOT ONE MORE'",
            ("2 people", "people standing", "text"),
            "NOT ONE MORE",
        ),
        (
            "Photo by Colectiva Morada on March 08, 2021. May be an image of one or more people.",
            ("one or more people",),
            None,
        ),
        (
            'Pode ser uma imagem de 2 pessoas e texto que diz "Nem uma a menos"',
            ("2 pessoas", "texto"),
            "Nem uma a menos",
        ),
        ("Pode ser uma imagem de texto.", ("texto",), None),
        ("Image may contain: 1 person, text", ("1 person", "text"), None),
        ("La imagen puede contener: texto", ("texto",), None),
        ("No photo description available.", (), None),
        ("No hay ninguna descripción de la foto disponible.", (), None),
        ("Nenhuma descrição de foto disponível.", (), None),
    ],
)
def test_automatic_alt_text_is_split_into_objects_and_the_quoted_text(alt_text, objects, says):
    parsed = parse_alt_text(alt_text)
    assert parsed.automatic and parsed.objects == objects and parsed.says == says


def test_quotes_inside_the_quoted_text_are_kept():
    parsed = parse_alt_text('Puede ser una imagen de texto que dice "La consigna: "¡Justicia!" para todas".')
    assert parsed.says == 'La consigna: "¡Justicia!" para todas'


@pytest.mark.parametrize(
    "alt_text",
    [
        "Fondo liso con la frase Ni una menos en letras grandes.",
        "A woman holding a purple scarf at the march",
        "",
        None,
    ],
)
def test_an_alt_text_a_person_wrote_is_theirs_whole(alt_text):
    parsed = parse_alt_text(alt_text)
    assert not parsed.automatic and parsed.says is None
    assert readable_alt_text(alt_text) == (alt_text or None)


@pytest.mark.parametrize(
    ("alt_text", "readable"),
    [
        ('Puede ser una imagen de texto que dice "NI UNA MENOS".', "NI UNA MENOS"),
        ("Puede ser una imagen de 2 personas, personas de pie y calle", "2 personas personas de pie calle"),
        ("May be an image of one or more people and text", "one or more people"),
        ("Image may contain: text", None),
        ("No photo description available.", None),
    ],
)
def test_describe_reads_what_was_detected_and_quoted_never_the_frame(alt_text, readable):
    """The detected things describe the picture (people, street, crowd); the frame around them and the
    item that merely says "text" describe nothing."""
    assert readable_alt_text(alt_text) == readable


def test_no_cluster_name_or_term_holds_the_generators_alt_text_boilerplate():
    """The synthetic corpus's alt texts (Instagram's, in Spanish) through describe: names and top terms
    come from the quoted text and captions, never from "Puede ser una imagen de texto que dice"."""
    from visframe.data.synthetic.plan import build_plan

    plan = build_plan(400, seed=0, image_size=64)
    # The platform's alt texts (those a person wrote are theirs whole, and may well say "dice").
    specs = [s for s in plan.images if s.broken_kind is None and s.alt_text.startswith("Puede ser")]
    automatic = [parse_alt_text(s.alt_text) for s in specs]
    assert len(automatic) > 100 and all(a.automatic for a in automatic)
    assert sum(a.says is not None for a in automatic) > 50
    labels = sorted({s.label for s in specs})
    posts = pd.DataFrame(
        {
            C.IMAGE_ID: [f"{s.index:016x}" for s in specs],
            C.PATH: [s.file for s in specs],
            C.CLUSTER: [labels.index(s.label) for s in specs],
            C.PROBABILITY: np.ones(len(specs)),
            C.OUTLIER_SCORE: np.zeros(len(specs)),
            C.ALT_TEXT: [s.alt_text for s in specs],
            C.CAPTION: [s.caption for s in specs],
        }
    )
    posts[C.layer_column(0)] = posts[C.CLUSTER]
    described = describe_clusters(
        posts, None, {"zero_shot": {"enabled": False}, "terms": {"sources": ["alt_text"]}}
    )
    words = {w.strip("·,#").lower() for name in described.clusters[C.NAME] for w in str(name).split()}
    terms = {str(t).lower() for t in described.terms[described.terms["kind"] == "term"]["term"]}
    assert terms, "the quoted texts gave no terms at all"
    assert not (words | terms) & BOILERPLATE, (words | terms) & BOILERPLATE
