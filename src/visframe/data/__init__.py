"""The data stage: folder of images (+ metadata) → manifest.parquet, with every bad file classified.

`visframe.data.ingest.ingest_folder` is the entry point; `visframe.data.images.load_rgb` is the one
function every stage uses to open an image; `visframe.data.synthetic` generates the default corpus.
"""
