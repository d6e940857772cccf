"""The ``/trust`` command: its grammar and what each command does."""
