export {Deck, OrthographicView, COORDINATE_SYSTEM} from '@deck.gl/core';
export {ScatterplotLayer, IconLayer, PolygonLayer, PathLayer} from '@deck.gl/layers';
