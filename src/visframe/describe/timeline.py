"""Posts over time: posts per cluster per week, or per month when the run spans long.

The bin is chosen once per run from the span of `posted_at` (first to last post): up to
`weekly_max_days` days → weeks (starting Monday, UTC), longer → calendar months. Every cluster gets
every period between the run's first and last one, zeros included, so small multiples share one
axis and a quiet week shows as a gap, not as a line drawn across it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from visframe import contracts as C

# Which bin the timeline used ("week" | "month"), a column of cluster_timeline.
FREQUENCY = C.FREQUENCY
WEEK, MONTH = "week", "month"


def choose_frequency(times: pd.Series, weekly_max_days: int) -> str:
    span = times.max() - times.min()
    return WEEK if span <= pd.Timedelta(days=int(weekly_max_days)) else MONTH


def period_start(times: pd.Series, frequency: str) -> pd.Series:
    """Each timestamp's bin start (UTC midnight of that week's Monday, or the 1st of its month)."""
    days = (
        times.dt.tz_convert("UTC").dt.floor("D")
        if times.dt.tz is not None
        else times.dt.floor("D").dt.tz_localize("UTC")
    )
    if frequency == WEEK:
        return days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    return days - pd.to_timedelta(days.dt.day - 1, unit="D")


def _periods(first: pd.Timestamp, last: pd.Timestamp, frequency: str) -> pd.DatetimeIndex:
    step = pd.DateOffset(weeks=1) if frequency == WEEK else pd.DateOffset(months=1)
    return pd.date_range(first, last, freq=step)


def cluster_timeline(
    posts: pd.DataFrame, layer: int, column: str, clusters: list[int], weekly_max_days: int
) -> pd.DataFrame:
    """layer, cluster, period, n_posts, frequency for one layer; empty when no post has a date."""
    columns = [C.LAYER, C.CLUSTER, C.PERIOD, C.N_POSTS, FREQUENCY]
    if C.POSTED_AT not in posts or posts[C.POSTED_AT].isna().all():
        return empty_timeline()
    dated = posts.dropna(subset=[C.POSTED_AT])
    times = pd.to_datetime(dated[C.POSTED_AT], utc=True)
    frequency = choose_frequency(times, weekly_max_days)
    starts = period_start(times, frequency)
    counts = pd.DataFrame({C.CLUSTER: dated[column].to_numpy(), C.PERIOD: starts.reset_index(drop=True)})
    counts = counts.groupby([C.CLUSTER, C.PERIOD]).size()
    grid = pd.MultiIndex.from_product(
        [clusters, _periods(starts.min(), starts.max(), frequency)], names=[C.CLUSTER, C.PERIOD]
    )
    frame = counts.reindex(grid, fill_value=0).rename(C.N_POSTS).reset_index()
    frame.insert(0, C.LAYER, np.int64(layer))
    frame[C.N_POSTS] = frame[C.N_POSTS].astype("int64")
    frame[C.CLUSTER] = frame[C.CLUSTER].astype("int64")
    frame[FREQUENCY] = pd.array([frequency] * len(frame), dtype="string")
    return frame[columns]


def empty_timeline() -> pd.DataFrame:
    return pd.DataFrame(
        {
            C.LAYER: pd.Series(dtype="int64"),
            C.CLUSTER: pd.Series(dtype="int64"),
            C.PERIOD: pd.Series(dtype="datetime64[ns, UTC]"),
            C.N_POSTS: pd.Series(dtype="int64"),
            FREQUENCY: pd.Series(dtype="string"),
        }
    )
