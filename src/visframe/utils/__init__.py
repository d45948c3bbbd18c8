"""Small helpers shared by every stage: hashing, cache directories, Parquet I/O."""
