"""The dataset document (dataset.md): parsing, validation with path-named errors, loading."""
