"""The analysis layer: a small model of the RNN code of one file, built once and queried by rules."""
