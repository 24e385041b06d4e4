"""track2vec."""
