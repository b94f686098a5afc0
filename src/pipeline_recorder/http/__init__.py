"""The HTTP layer: framework-free handlers, and thin FastAPI and Flask adapters over them."""
