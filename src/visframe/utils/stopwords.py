"""Stop words for the top terms: Spanish (written here, no extra dependency) and English (scikit-learn's).

The Spanish list covers articles, pronouns, prepositions, conjunctions, common adverbs and the forms
of ser / estar / haber / tener / hacer / poder / ir that carry no topic. Words such as "mujeres",
"justicia" or "vivas" are deliberately absent: they are what the study's clusters are about. Web
debris (http, www, com) is listed too, since captions carry links.
"""

from __future__ import annotations

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

SPANISH = frozenset(
    """
    a al algo algun alguna algunas alguno algunos alli allí ambos ante antes aquel aquella aquellas
    aquello aquellos aqui aquí asi así aun aún cada casi como cómo con contra cual cuál cuales
    cuáles cualquier cuando cuándo cuanto cuánto de del desde donde dónde dos durante e el él ella
    ellas ello ellos en entre era eran eres es esa esas ese eso esos esta está estaba estaban estado
    estamos están estar estas estás este esté esto estos estoy fue fuera fueron fui ha había habían
    haber habia han has hasta hay haya he hemos hace hacen hacer hacia hago incluso la las le les lo
    los mas más me mi mí mia mía mias mías mio mío mios míos mis mismo misma mismos mismas mucho
    muchos mucha muchas muy nada ni no nos nosotras nosotros nuestra nuestras nuestro nuestros nunca
    o os otra otras otro otros para pero poco por porque pues puede pueden puedo que qué quien quién
    quienes quiénes se sea sean segun según ser si sí sido siempre siendo sin sino sobre sois solo
    sólo somos son soy su sus suya suyas suyo suyos tal también tambien tan tanto te tendrá tenemos
    tener tengo ti tiene tienen toda todas todo todos tras tu tú tus tuya tuyas tuyo tuyos u un una
    unas uno unos usted ustedes va vamos van vaya vez vosotras vosotros voy vuestra vuestras vuestro
    vuestros y ya yo
    """.split()  # noqa: SIM905 - a word list reads better as text
)
WEB = frozenset("http https www com org net html".split())  # noqa: SIM905
LISTS = {"es": SPANISH, "en": frozenset(ENGLISH_STOP_WORDS)}


def stop_words(languages: list[str], extra: list[str] = ()) -> frozenset[str]:
    """The union of the named lists (`es`, `en`), web debris and `extra` (casefolded)."""
    unknown = [lang for lang in languages if lang not in LISTS]
    if unknown:
        from visframe.errors import ConfigError

        raise ConfigError(
            f"describe.terms.stop_words: no built-in list for {unknown}",
            fix=f"use {sorted(LISTS)}, and add your own words in describe.terms.extra_stop_words",
        )
    words = set(WEB)
    for lang in languages:
        words |= LISTS[lang]
    words |= {str(w).casefold() for w in extra}
    return frozenset(words)
