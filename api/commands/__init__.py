"""One module per CLI command group; api.cli registers them."""
