"""Settings for the whole suite."""

import os

from hypothesis import settings

# Generated tests explore new inputs on every developer run (that is how they find a class's
# next member), but CI must judge a submission, not a draw: there each generated test runs
# the same derandomized examples every time, so a red CI is a reproducible one.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
