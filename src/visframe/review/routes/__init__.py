"""The app's routes, one `APIRouter` per concern; app.py includes every router in `ROUTERS`."""

from visframe.review.routes import (
    agreement,
    codebook,
    coding,
    exports,
    labelstudio,
    media,
    noise,
    pages,
    search,
    topics,
)

ROUTERS = [
    pages.router,
    coding.router,
    codebook.router,
    agreement.router,
    exports.router,
    labelstudio.router,
    search.router,
    noise.router,
    media.router,
    topics.router,
]
