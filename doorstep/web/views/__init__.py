"""Page routers, one module per audience."""
