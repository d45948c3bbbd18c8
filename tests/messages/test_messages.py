"""Messages: the sentences of a poster's text that carry its message, weighted against its furniture;
slogans found across different designs of one text; topics made by the same stages as clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from visframe import contracts as C
from visframe.messages import stage as messages_stage
from visframe.messages.slogans import find_slogans
from visframe.messages.texts import image_units, looks_like_a_name, message_units, unit_key, unit_weights
from visframe.stages import StageContext


def test_wrapped_lines_are_joined_and_the_posters_furniture_dropped():
    poster = (
        "@colectiva.morada\nFICHA DE BÚSQUEDA\nAbril González\nTorres\nEdad: 26 años\n"
        "Fecha de desaparición:\n28/12/2020\nSeñas particulares: cabello\nrizado\n¡FISCALÍA, HAZ TU\n"
        "TRABAJO!\n#NiUnaMenos\nSi tienes información llama al 55 3924 3673"
    )
    assert message_units(poster) == [
        "FICHA DE BÚSQUEDA",
        "Abril González Torres",
        "¡FISCALÍA, HAZ TU TRABAJO!",
        "Si tienes información llama al",
    ]
    notice = (
        "COMUNICADO\nLa violencia no empieza con un golpe: empieza con\n"
        "revisar tu celular. Después vienen los gritos."
    )
    assert message_units(notice) == [
        "COMUNICADO",
        "La violencia no empieza con un golpe: empieza con revisar tu celular.",
        "Después vienen los gritos.",
    ]
    assert message_units("MARÍA · NI LA FISCALÍA NI EL\nGOBIERNO NOS PROTEGEN") == [
        "MARÍA",
        "NI LA FISCALÍA NI EL GOBIERNO NOS PROTEGEN",
    ]


def test_repeated_furniture_and_names_weigh_less_than_the_message():
    names = ["Abril González Torres", "Ximena Díaz", "Renata Ruiz Cruz", "Ana de la Peña"] * 3
    messages = [
        "Tenía 23 años y quería ser maestra",
        "Ni la fiscalía ni el gobierno nos protegen",
        "Todas a la marcha este 8 de marzo",
        "Te creemos, hermana",
    ]
    units = {
        f"img{i}": [
            "FICHA DE BÚSQUEDA",
            f"{names[i]}",
            f"{messages[i % 4]} ({['uno', 'dos', 'tres'][i // 4]})",
        ]
        for i in range(12)
    }
    weights = unit_weights(units)
    assert all(looks_like_a_name(n) for n in names) and not looks_like_a_name("NI UNA MENOS")
    for found in units.values():
        furniture, name, message = (weights[unit_key(u)] for u in found)
        assert message > 2 * furniture and message > 2 * name
    assert unit_key("Edad: 26 años") == unit_key("EDAD: 31 AÑOS")  # digits, case and accents ignored


def test_each_source_adds_only_what_the_others_did_not_say():
    units = image_units(
        {"a": ["NI UNA MENOS", "Ni una menos."], "b": ["", None], "c": ["corto"]}, min_chars=10
    )
    assert units == {"a": ("NI UNA MENOS",)}


def test_a_slogan_is_one_text_on_different_designs_not_one_design_reshared():
    units = {
        "p1": ("Ni una menos, ni una más",),
        "p2": ("NI UNA MENOS ni una MÁS",),
        "p3": ("Ni una menos, ni una más",),
        "p4": ("Otra cosa muy distinta aquí",),
    }
    posts = pd.DataFrame(
        {
            C.IMAGE_ID: ["p1", "p2", "p3", "p3", "p4"],
            C.RESHARE_GROUP: ["p1", "p2", "p3", "p3", "p4"],
            C.ACCOUNT: ["ana", "bea", "carla", "dora", "ana"],
            C.POSTED_AT: pd.to_datetime(
                ["2021-03-02", "2021-03-01", "2021-03-05", "2021-03-06", "2021-03-01"], utc=True
            ),
        }
    )
    slogans = C.validate(C.SLOGANS, find_slogans(units, posts, {"p1": 0, "p2": 0, "p3": 1}))
    assert len(slogans) == 1
    row = slogans.iloc[0]
    assert (row[C.N_DESIGNS], row[C.N_UNIQUE_IMAGES], row[C.N_POSTS], row[C.N_ACCOUNTS]) == (3, 3, 4, 4)
    assert row[C.FIRST_ACCOUNT] == "bea" and row[C.MESSAGE_TOPIC] == 0
    # The same poster reshared by many accounts is one design: no slogan.
    reshared = posts.assign(**{C.RESHARE_GROUP: "p1"})
    assert find_slogans(units, reshared).empty


class FakeEncoder:
    """A text encoder by the interface (messages.stage instantiates the configured one)."""


@pytest.fixture()
def settings():
    return OmegaConf.create(
        {
            "enabled": True,
            "sources": ["ocr", "alt_says"],
            "min_chars": 5,
            "representation": "lexical",
            "lexical_components": 5,
            "stop_words": ["es"],
            "reducer": {"_target_": "sklearn.decomposition.PCA", "n_components": 2},
            "clusterer": {"_target_": "hdbscan.HDBSCAN", "min_cluster_size": 5},
            "slogans": {"min_words": 3, "min_designs": 2},
        }
    )


def _posts_and_texts():
    rng = np.random.default_rng(0)
    police = [
        "la policía no nos cuida",
        "la fiscalía no investiga",
        "el gobierno es cómplice y la policía calla",
    ]
    march = [
        "todas a la marcha del ocho",
        "ven a la marcha con tu pañuelo",
        "marcha y pañuelo morado este domingo",
    ]
    rows, texts = [], []
    for i in range(40):
        words = police if i % 2 else march
        image_id = f"{i:016x}"
        rows.append(
            {
                C.IMAGE_ID: image_id,
                C.RESHARE_GROUP: image_id,
                C.ACCOUNT: f"acc{i % 7}",
                C.ALT_SAYS: words[int(rng.integers(3))] if i % 5 == 0 else None,
            }
        )
        texts.append(
            {
                C.IMAGE_ID: image_id,
                C.TEXT: words[int(rng.integers(3))] + f"\n{'abcdefghij'[i % 10]} extra",
                C.TEXT_STATUS: C.TEXT_OK,
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(texts)


def test_the_stage_groups_images_by_what_their_text_says(settings, tmp_path):
    posts, texts = _posts_and_texts()
    result = messages_stage.run(
        messages_stage.MessagesInputs(posts, texts),
        messages_stage.MessagesSettings(settings, None),
        StageContext(str(tmp_path)),
    )
    table = C.validate(C.MESSAGES, result.table)
    assert len(table) == 40 and result.skipped is None
    truth = np.array([i % 2 for i in range(40)])
    topics = table[C.MESSAGE_TOPIC].to_numpy()
    from sklearn.metrics.cluster import homogeneity_score

    # Every topic holds one message (a message may come in several topics: one per way of saying it).
    assert homogeneity_score(truth[topics >= 0], topics[topics >= 0]) > 0.9 and (topics >= 0).mean() > 0.7
    assert result.metrics()["message_topics"] >= 2


def test_without_text_or_encoder_the_stage_says_what_it_skipped(settings, tmp_path):
    posts, _ = _posts_and_texts()
    alone = messages_stage.run(
        messages_stage.MessagesInputs(posts.assign(**{C.ALT_SAYS: None}), None),
        messages_stage.MessagesSettings(settings, None),
        StageContext(str(tmp_path)),
    )
    assert alone.table is None and "text=ocr" in alone.skipped and alone.metrics() == {}
    sentence = OmegaConf.merge(settings, {"representation": "sentence"})
    no_encoder = messages_stage.run(
        messages_stage.MessagesInputs(*_posts_and_texts()),
        messages_stage.MessagesSettings(sentence, {"_target_": None}),
        StageContext(str(tmp_path)),
    )
    assert no_encoder.table is None and "text_encoder=none" in no_encoder.skipped
