"""What one process remembers between jobs, in one object that is passed in.

A sweep runs many jobs in one process (Hydra's basic launcher, `visframe-tune`); they read the same
metadata, the same cached vectors and the same kNN graph, and tokenise the same captions. Each of
those is worth remembering (measured on the paper corpus: vectors 0.4-0.5 s a job, term matrices
1 s, metadata parsing and MLflow dataset profiles 0.1 s each). Before, each lived in a module-level
dict that tests cleared by private name; now the entry point (`visframe.cli`, `visframe.tune`) owns
one `Session` and passes it to `pipeline.run`, which hands each stage the memo it uses. A function
called without one (a library user, a test) remembers nothing: the same results, computed again.

The MLflow parent run of a sweep travels here too (`parent_run_id`), not in an environment variable.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


class Memo:
    """A keyed store holding the last `size` values (None: every value), safe across threads.

    Values are returned as stored: a caller that mutates what it gets must copy it first.
    """

    def __init__(self, size: int | None = 1):
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while self.size is not None and len(self._items) > self.size:
                self._items.popitem(last=False)

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        """The value under `key`, made (and kept) on the first call."""
        missing = object()
        found = self.get(key, missing)
        if found is not missing:
            return found
        value = make()
        self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


@dataclass
class Session:
    """One process's memory between jobs; every field is optional to the code that reads it."""

    # The MLflow run a job's run is a child of (a sweep's or a study's parent run), or None.
    parent_run_id: str | None = None
    # data.metadata.read_metadata: the last table parsed, by (path, size, mtime_ns, format).
    metadata_tables: Memo = field(default_factory=lambda: Memo(1))
    # embed.cache.read_shard: shards whose checksum was verified, by path → (size, mtime_ns).
    verified_shards: Memo = field(default_factory=lambda: Memo(None))
    # embed.embedding: the last complete load of cached vectors, by (shard listing, image ids).
    cached_vectors: Memo = field(default_factory=lambda: Memo(1))
    # reduce.knn: the last kNN graph computed or read, by its cache key.
    knn_graphs: Memo = field(default_factory=lambda: Memo(1))
    # describe: the last term matrices, by the posts' documents and the term settings.
    term_matrices: Memo = field(default_factory=lambda: Memo(1))
    # messages: the loaded text encoder (USE takes seconds to load), by its resolved config.
    text_encoders: Memo = field(default_factory=lambda: Memo(1))
    # tracking.job: the schema and profile MLflow inferred for an image set, by its digest.
    dataset_profiles: Memo = field(default_factory=lambda: Memo(64))
    # Messages said once per process (e.g. "fewer threads than knn.n_jobs"), by their key.
    told: Memo = field(default_factory=lambda: Memo(None))

    def tell_once(self, key: Hashable) -> bool:
        """True the first time `key` is seen in this session (say it then), False after."""
        if key in self.told:
            return False
        self.told.put(key, True)
        return True
