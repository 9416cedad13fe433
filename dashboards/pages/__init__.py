"""One module per dashboard page: ``layout(reader, state)`` and ``register(app, reader)``."""
