"""The SQL layer: statements with their offsets and parse trees, and the schema model built from them."""
