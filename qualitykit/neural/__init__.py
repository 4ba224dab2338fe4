"""Learned image codecs: model loading (CompressAI zoo, local checkpoints, the
bundled model) and the bitstream container used by :mod:`qualitykit.codecs.neural`."""
