"""Configuration: every setting with its default and allowed range (`config.settings`), and the
masking of secrets in anything shown or written (`config.redact`).

It may import `lib.errors` only; everything else imports from here.
"""
