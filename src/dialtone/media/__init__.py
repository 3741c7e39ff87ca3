"""Media services around calls: speech-to-text now; text-to-speech and VAD later."""
