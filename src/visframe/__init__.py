"""visframe: find the visual messages in a collection of topical social-media images."""
__version__ = "0.1.0"
