"""The console's words in French, one module per area of the console (``fr_*.py``), each a
``FRENCH`` dict from the English text to its translation. English is the text itself."""
