"""Describe: each cluster as a description — name, size, text share, top terms (c-TF-IDF over OCR
text, captions and alt text), hashtags and accounts with lift, zero-shot labels, medoid, dates, and
posts over time. Runs before the report, which only reads the tables the pipeline writes."""

from visframe.describe.posts import join_posts
from visframe.describe.stage import DescribeInputs, Descriptions, describe_clusters

__all__ = ["DescribeInputs", "Descriptions", "describe_clusters", "join_posts"]
