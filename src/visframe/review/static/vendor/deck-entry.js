export {Deck, OrthographicView, COORDINATE_SYSTEM} from '@deck.gl/core';
export {ScatterplotLayer, IconLayer, PolygonLayer, PathLayer, BitmapLayer} from '@deck.gl/layers';
