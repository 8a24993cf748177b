"""The SQLite backend: Django's, with writers queued on a file lock (see ``base``)."""
