"""The REST API under /kerma/api/: pure handlers over (method, path, query) → (status, JSON)."""
