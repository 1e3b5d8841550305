"""A recurrent CTC speech recogniser: log-mel features, (Bi)LSTM encoder, CTC, Lightning + Hydra."""

__version__ = "0.1.0"
