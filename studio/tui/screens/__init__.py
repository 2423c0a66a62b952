"""Modal screens of the studio."""
