"""Reporters turn a run's results into text for a terminal, or JSON for tools."""
