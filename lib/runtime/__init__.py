"""Runtime: what every entry point and long job shares with the operating system.

Owns the one exit path, argument basics and logging set-up (`cli`), OS-level process locks and
the command line they name (`locks`), atomically written runtime JSON files and where they live
(`files`: under the RUNTIME_DIR of the settings passed in), and graceful stop on SIGINT/SIGTERM
(`stopping`). The runner that puts these together for a job is `lib.history.jobs`, because it
also opens the database.
May import: `config`, `lib.errors` and `lib.timeutils` only, so that any package can use it.
"""
