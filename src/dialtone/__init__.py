"""dialtone: a self-hostable business communications platform whose terms are code."""

__version__ = "0.1.0"
