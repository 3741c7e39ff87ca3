"""Pure audio codecs: G.711 (PCMU/PCMA) and conversion to 8 kHz mono PCM."""
