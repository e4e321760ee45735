"""One module per exchange, named by its id, each defining `Adapter` (see `lib.exchanges`)."""
