"""qualitykit — perceptual quality evaluation for image codecs."""

__version__ = "0.1.0"
