"""An optimisation budget for UMAP: epochs × points bounded, so a large collection costs what a
20,000-image one does per epoch-point, not 200 full epochs.

umap-learn runs 500 epochs below 10,000 points and 200 above, whatever n is, and each epoch samples
every edge of the kNN graph in proportion to its weight: the optimisation grows linearly with n and,
seeded, runs on one core. Measured here (2 cores, 512-d synthetic vectors, shared kNN graph):
at 100,000 points the 5-d layout's 200 epochs took 85 s (0.43 s an epoch) of a 91 s fit. How few are
enough was measured on real-encoder embeddings, not only on our synthetic vectors (which settle by
30 epochs): on the paper corpus's EfficientNet-Lite0 vectors (19,903 points, 3 UMAP seeds) the
default clusterer's mean NMI was 0.738 at 200 epochs, 0.730 at 80 and 0.66 at 60 or 40, where the
layout is not yet compact and HDBSCAN splits it finer (experiments/scale/README.md).

The reducer config's `epoch_budget` block (visframe's, never passed to the estimator):

    epoch_budget:
      point_epochs: 4000000   # epochs × points: 200 epochs at 20,000 points
      min_epochs: 80          # never fewer, however large n is

n_epochs = min(the configured n_epochs or the library's rule, max(min_epochs, point_epochs / n)).
Below point_epochs / 200 points nothing changes. `point_epochs: null` switches the budget off.
"""

from __future__ import annotations

import logging

from visframe.errors import ConfigError

log = logging.getLogger(__name__)
EPOCHS_OPTION = "epoch_budget"


def library_epochs(n_points: int) -> int:
    """umap-learn's (and cuML's) own n_epochs when it is None: 500 up to 10,000 points, 200 above."""
    return 500 if n_points <= 10_000 else 200


def budgeted_epochs(configured: int | None, n_points: int, budget: dict | None) -> int | None:
    """The n_epochs to fit with: `configured` (None = the library's rule) capped by the budget.

    Returns `configured` unchanged (possibly None) when the budget does not bind, so a small
    collection's fit is exactly the library's.
    """
    if not budget or budget.get("point_epochs") is None or n_points <= 0:
        return configured
    point_epochs, min_epochs = _whole(budget, "point_epochs"), _whole(budget, "min_epochs", default=1)
    wanted = configured if configured is not None else library_epochs(n_points)
    allowed = max(min_epochs, round(point_epochs / n_points))
    return allowed if allowed < wanted else configured


def apply_epoch_budget(estimator, budget: dict | None, n_points: int) -> int | None:
    """Set the estimator's n_epochs from the budget (estimators without n_epochs are left alone)."""
    if not budget or "n_epochs" not in estimator.get_params():
        return None
    configured = estimator.get_params()["n_epochs"]
    epochs = budgeted_epochs(configured, n_points, budget)
    if epochs != configured:
        log.info(
            "UMAP epochs: %d for %d points (epoch_budget %s; configured %s)",
            epochs,
            n_points,
            budget.get("point_epochs"),
            configured,
        )
        estimator.set_params(n_epochs=int(epochs))
    return epochs


def _whole(budget: dict, key: str, default: int | None = None) -> int:
    value = budget.get(key, default)
    if value is None and default is not None:
        value = default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"{EPOCHS_OPTION}.{key} must be a whole number of at least 1, not {value!r}",
            fix=f"e.g. reducer.{EPOCHS_OPTION}.{key}={4000000 if key == 'point_epochs' else 40}, "
            f"or reducer.{EPOCHS_OPTION}.point_epochs=null for umap-learn's own epochs",
        )
    return value
