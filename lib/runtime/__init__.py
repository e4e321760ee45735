"""Runtime: what every entry point and long job shares with the operating system.

Owns the one exit path, argument basics and logging set-up (`cli`), OS-level process locks
(`locks`), atomically written runtime JSON files and their names (`files`), and graceful stop on
SIGINT/SIGTERM (`stopping`).
May import: `config`, `lib.errors` and `lib.timeutils` only, so that any package can use it.
"""
