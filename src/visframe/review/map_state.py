"""What /map keeps between requests, held by the app's ReviewContext (`ctx.map`), one per app.

The map's data (`MapData`: read on the first map request, not at start-up, so an app that is only
used for coding never reads the map's columns), the last few selections decoded (the review store
holds them all; a page that pans re-asks for the same one) and the search-by-meaning ranker (made
on its first request: it loads the run's encoder). Each is made once under this object's lock, so
two first requests at the same moment share one load; before, the lock was module-level (shared by
every app in the process) and the pieces were untyped attributes of `app.state`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import pyarrow.compute as pc

from visframe import contracts as C
from visframe.review.map_data import MapData
from visframe.review.run_data import is_image_id
from visframe.review.text_rank import TextRanker
from visframe.run_dir import RunDir

SELECTION_CACHE = 16  # decoded selections kept in memory (the store holds them all)


class MapState:
    """The map's data, recent selections and text ranker for one run, each made on first need."""

    def __init__(self, files: RunDir, selections_kept: int = SELECTION_CACHE):
        self.files = files
        self.selections_kept = selections_kept
        self._lock = threading.Lock()
        self._data: MapData | None = None
        self._selections: OrderedDict[str, np.ndarray] = OrderedDict()
        self._ranker: TextRanker | None = None

    def data(self) -> MapData:
        """The run's MapData, read on the first call (positions, probabilities, clusters)."""
        with self._lock:
            if self._data is None:
                self._data = MapData.load(self.files)
            return self._data

    def selection(self, sid: str) -> np.ndarray | None:
        """A selection's point numbers if decoded lately (None: ask the store)."""
        with self._lock:
            found = self._selections.get(sid)
            if found is not None:
                self._selections.move_to_end(sid)
            return found

    def remember(self, sid: str, points: np.ndarray) -> None:
        with self._lock:
            self._selections[sid] = points
            self._selections.move_to_end(sid)
            while len(self._selections) > self.selections_kept:
                self._selections.popitem(last=False)

    @property
    def has_ranker(self) -> bool:
        """Whether search by meaning was asked for yet (nothing of the model is loaded before)."""
        return self._ranker is not None

    def ranker(self) -> TextRanker:
        """The run's TextRanker over its images, made on the first call (it loads nothing until asked)."""
        data = self.data()
        with self._lock:
            if self._ranker is None:
                ids = pc.unique(data.assignments[C.IMAGE_ID]).to_pylist()
                self._ranker = TextRanker(self.files, [i for i in ids if is_image_id(str(i))])
            return self._ranker
