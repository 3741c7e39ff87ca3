"""Version 1 of the native JSON API."""
