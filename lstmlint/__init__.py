"""lstmlint: finds the silent gradient bugs of hand-written recurrent networks in NumPy."""

__version__ = "0.1.0"
