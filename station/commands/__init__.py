"""One module per group of `station` subcommands; each is imported only when its command runs."""
