"""The built-in rules of lstmlint, one module per rule (installed as ``lstmlint.rules``)."""
