"""dialtone: a self-hostable business communications platform whose terms are code."""

from dialtone import native as _native

__version__ = "0.1.0"

# Before any other dialtone module is imported: compiled sans-I/O packages or their sources.
BUILD = _native.inspect()
_native.install(BUILD)
