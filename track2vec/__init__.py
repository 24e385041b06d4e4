"""track2vec: song embeddings from playlists with word2vec, playlist completion and radio.

``import track2vec`` is cheap (no TensorFlow, no pandas): :class:`Recommender`
(``track2vec.Recommender.from_results("results")``) is loaded on first use.
"""

__all__ = ["Recommender"]


def __getattr__(name):
    if name == "Recommender":
        from .recommend import Recommender

        return Recommender
    raise AttributeError(f"module 'track2vec' has no attribute {name!r}")
