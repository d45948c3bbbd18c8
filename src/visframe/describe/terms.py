"""What a cluster's posts say and carry: top terms (class-based TF-IDF), hashtags and accounts with lift.

Every kind of term becomes a sparse post × term matrix first, so one function (`term_table`) counts
every kind the same way for every layer:

- `count`: the cluster's posts carrying the term (a post counts once per term); `share` = count /
  the cluster's posts; `corpus_share` = posts carrying it / all posts (noise included);
  `lift` = share / corpus_share (1: as common as anywhere, 3: three times as common here).
- Terms (`kind="term"`) are also scored by class-based TF-IDF, BERTopic's `ClassTfidfTransformer`
  default: one document per cluster (the concatenated OCR text, captions and alt texts of its posts),
  W(t, c) = tf(t, c) · log(1 + A / f(t)), tf the term's frequency in the cluster's document (L1
  normalised), f(t) its frequency over all clusters, A the mean number of words per cluster (an
  integer, as BERTopic truncates it). Written here on scikit-learn's CountVectorizer instead of
  installing bertopic, which pulls in sentence-transformers, plotly and its own UMAP/HDBSCAN stack
  for a ten-line formula; tests/describe checks the weights by hand.
- Tokens: words of two or more characters with at least one letter, casefolded, accents kept;
  `#hashtags` (by `hashtag_key`) and `@mentions` are kept as tokens and never dropped as stop words;
  URLs are removed; Spanish + English stop words (visframe.utils.stopwords).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

from visframe import contracts as C
from visframe.data.alt_text import parse_alt_text
from visframe.errors import ConfigError
from visframe.utils.hashtags import format_hashtag, hashtag_key

# The long per-cluster term table (one row per cluster × term, every kind): contracts.CLUSTER_TERMS.
CLUSTER_TERMS_FILE = C.CLUSTER_TERMS_FILE
KIND, TERM, RANK, COUNT, SHARE = C.KIND, C.TERM, C.RANK, C.COUNT, C.SHARE
CORPUS_COUNT, CORPUS_SHARE, LIFT, SCORE = C.CORPUS_COUNT, C.CORPUS_SHARE, C.LIFT, C.SCORE
TERM_COLUMNS = C.CLUSTER_TERMS.names
KIND_TERM, KIND_HASHTAG, KIND_ACCOUNT, KIND_ZERO_SHOT = "term", "hashtag", "account", "zero_shot"
# Terms kept per cluster in cluster_terms.parquet (hashtags, accounts and labels are kept in full).
TERMS_KEPT = 100
TEXT_SOURCES = (C.TEXT, C.CAPTION, C.ALT_TEXT)

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_TOKEN = re.compile(r"[#@]?\w+")


def tokenize(text: str, stop: frozenset[str]) -> list[str]:
    """Words, #hashtags and @mentions of `text` (see the module docstring for the rules)."""
    tokens = []
    for raw in _TOKEN.findall(_URL.sub(" ", text or "")):
        if raw[0] == "#":
            token = "#" + hashtag_key(raw)
        else:
            token = raw.casefold()
        word = token.lstrip("#@")
        if len(word) < 2 or not any(ch.isalpha() for ch in word):
            continue
        if token[0] not in "#@" and token in stop:
            continue
        tokens.append(token)
    return tokens


def readable_alt_text(alt_text) -> str | None:
    """What an alt text says in its own words: the quoted text of an automatic one, a person's whole."""
    parsed = parse_alt_text(alt_text)
    if parsed.automatic:
        return parsed.says
    return alt_text if isinstance(alt_text, str) and alt_text.strip() else None


def post_documents(posts: pd.DataFrame, texts: pd.DataFrame | None, sources: Sequence[str]) -> list[str]:
    """One text per post: its image's OCR text, caption and alt text (those of `sources` present)."""
    unknown = [s for s in sources if s not in TEXT_SOURCES]
    if unknown:
        raise ConfigError(
            f"describe.terms.sources: unknown source(s) {unknown}", fix=f"use any of {list(TEXT_SOURCES)}"
        )
    parts = []
    for source in sources:
        if source == C.TEXT:
            if texts is None or texts.empty:
                continue
            by_image = texts.drop_duplicates(C.IMAGE_ID).set_index(C.IMAGE_ID)[C.TEXT]
            parts.append(posts[C.IMAGE_ID].map(by_image))
        elif source == C.ALT_TEXT and source in posts.columns:
            # A platform's automatic alt text counts only by the text it quotes ("Puede ser una imagen
            # de texto que dice …" is boilerplate, never a term); one a person wrote counts whole.
            parts.append(posts[source].map(readable_alt_text))
        elif source in posts.columns:
            parts.append(posts[source])
    if not parts:
        return [""] * len(posts)
    cleaned = [p.astype(object).where(p.notna(), "").astype(str) for p in parts]
    return [" \n".join(row) for row in zip(*cleaned)]


def _matrix(items: Sequence, analyzer: Callable, min_df: int = 1, binary: bool = False):
    """(post × term sparse counts, vocabulary), or None when no post has any term."""
    vectorizer = CountVectorizer(analyzer=analyzer, min_df=min_df, binary=binary, lowercase=False)
    try:
        matrix = vectorizer.fit_transform(items)
    except ValueError:  # "empty vocabulary": no post has a term (or none passes min_df)
        return None
    return matrix.tocsr(), vectorizer.get_feature_names_out()


def word_matrix(documents: Sequence[str], stop: frozenset[str], min_posts: int):
    """Occurrence counts of each token per post, for tokens in at least `min_posts` posts."""
    return _matrix(documents, lambda doc: tokenize(doc, stop), min_df=max(1, int(min_posts)))


def hashtag_matrix(posts: pd.DataFrame):
    """Posts × hashtag keys (binary), and each key's display form ('#' + its most used spelling)."""
    if C.HASHTAG_KEYS not in posts:
        return None
    made = _matrix(list(posts[C.HASHTAG_KEYS]), lambda keys: list(keys), binary=True)
    if made is None:
        return None
    matrix, keys = made
    pairs = pd.DataFrame(
        [
            (k, d)
            for keys_, displays in zip(posts[C.HASHTAG_KEYS], posts[C.HASHTAGS])
            for k, d in zip(keys_, displays)
        ],
        columns=["key", "display"],
    )
    spelling = pairs.groupby("key")["display"].agg(lambda d: d.value_counts().index[0])
    return matrix, np.array([format_hashtag(spelling[k]) for k in keys], dtype=object)


def account_matrix(posts: pd.DataFrame):
    """Posts × accounts (one-hot; posts without an account have no term)."""
    if C.ACCOUNT not in posts:
        return None
    accounts = posts[C.ACCOUNT].astype(object).where(posts[C.ACCOUNT].notna(), "").astype(str)
    return _matrix(list(accounts), lambda a: [a] if a else [], binary=True)


def membership(labels: np.ndarray, clusters: Sequence[int]) -> sp.csr_matrix:
    """Clusters × posts indicator matrix, rows in the order of `clusters`."""
    row_of = {k: i for i, k in enumerate(clusters)}
    rows = np.array([row_of[k] for k in labels], dtype=np.int64)
    return sp.csr_matrix(
        (np.ones(len(labels)), (rows, np.arange(len(labels)))), shape=(len(clusters), len(labels))
    )


def c_tf_idf(class_counts: sp.spmatrix) -> sp.csr_matrix:
    """BERTopic's class-based TF-IDF (ClassTfidfTransformer, default settings) of clusters × terms."""
    counts = sp.csr_matrix(class_counts, dtype=np.float64)
    frequency = np.asarray(counts.sum(axis=0)).ravel()
    average_words = int(counts.sum(axis=1).mean())
    idf = np.log(average_words / np.where(frequency > 0, frequency, 1.0) + 1.0)
    return sp.csr_matrix(normalize(counts, norm="l1", axis=1) @ sp.diags(idf))


def term_table(
    layer: int,
    labels: np.ndarray,
    clusters: Sequence[int],
    matrix: sp.csr_matrix,
    terms: np.ndarray,
    kind: str,
    keep_zeros: bool = False,
) -> pd.DataFrame:
    """The long table (TERM_COLUMNS) of one kind of term for one layer; ranked within each cluster.

    Terms rank by c-TF-IDF score; other kinds by count, then lift, then name.
    """
    member = membership(labels, clusters)
    present = sp.csr_matrix((matrix > 0).astype(np.float64))
    counts = member @ present
    sizes = np.asarray(member.sum(axis=1)).ravel()
    corpus = np.asarray(present.sum(axis=0)).ravel()
    scores = c_tf_idf(member @ matrix) if kind == KIND_TERM else None
    if keep_zeros:
        rows, cols = np.divmod(np.arange(counts.shape[0] * counts.shape[1]), counts.shape[1])
        values = np.asarray(counts.todense()).ravel()
    else:
        coo = counts.tocoo()
        rows, cols, values = coo.row, coo.col, coo.data
    frame = pd.DataFrame(
        {
            C.LAYER: np.full(len(rows), layer, dtype="int64"),
            C.CLUSTER: np.asarray(clusters, dtype="int64")[rows],
            KIND: kind,
            TERM: pd.array(terms[cols].astype(str), dtype="string"),
            COUNT: values.astype("int64"),
            SHARE: values / sizes[rows],
            CORPUS_COUNT: corpus[cols].astype("int64"),
            CORPUS_SHARE: corpus[cols] / float(len(labels)),
        }
    )
    frame[LIFT] = frame[SHARE] / frame[CORPUS_SHARE].where(frame[CORPUS_SHARE] > 0)
    frame[SCORE] = np.asarray(scores[rows, cols]).ravel() if scores is not None else np.nan
    order = {k: i for i, k in enumerate(clusters)}
    frame["_order"] = frame[C.CLUSTER].map(order)
    if kind == KIND_TERM:
        frame = frame.sort_values(["_order", SCORE, TERM], ascending=[True, False, True])
    else:
        frame = frame.sort_values(["_order", COUNT, LIFT, TERM], ascending=[True, False, False, True])
    frame[RANK] = frame.groupby(C.CLUSTER).cumcount().astype("int64") + 1
    if kind == KIND_TERM:
        frame = frame[frame[RANK] <= TERMS_KEPT]
    return frame[TERM_COLUMNS].reset_index(drop=True)


def empty_term_table() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in TERM_COLUMNS}).astype(
        {
            C.LAYER: "int64",
            C.CLUSTER: "int64",
            KIND: "string",
            TERM: "string",
            RANK: "int64",
            COUNT: "int64",
            CORPUS_COUNT: "int64",
        }
    )
