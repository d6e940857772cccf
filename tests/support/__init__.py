"""What the tests share, one module per thing it makes. Fixtures stay in ``conftest.py``
files; a test module imports shared code from here, never from another test module.

- ``waiting``: ``wait_for``, for what the app does on its own threads and processes
- ``cli``: the ``trustbot`` command run as a subprocess, on its own port
- ``db``: the app's database read (and written) from a test's own thread
- ``stack``: the real app against the Slack emulator, and ``/trust``
- ``oauth``: the app installed by OAuth, and the install flow a browser walks through
- ``slack_app``: app.yml's bot scopes, which every emulator of the tests grants
- ``checkins``, ``checkin_dm``: check-in rounds; a check-in DM posted, read and clicked
- ``teams``: teams, their reps and managers and their weekly answers (a digest's data)
- ``outbox``: outbox rows, and the worker that sends them to the emulator
- ``deals``, ``salesforce``: deal updates as the CRMs send them
- ``blocks``: Block Kit payloads
- ``strategies``: hostile inputs for hypothesis
"""
