"""Runs inside the checkout load the gradparity plug-in, installed or not (an installed
gradparity registers it through its ``pytest11`` entry point, under this same name)."""

pytest_plugins = ["gradparity.plugin"]
