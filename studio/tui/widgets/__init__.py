"""The studio's widgets, each written like a library widget (own CSS, nested messages)."""
