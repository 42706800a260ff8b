"""Deliberately wrong implementations: the suite testing itself.

Each module is a complete implementation (``from reference import *``) with one classic
mistake, usable as ``pytest --impl tests/known_bugs/NAME.py``. ``BUG`` names the layer the
mistake touches and the checks that must catch it; ``tests/test_known_bugs.py`` asserts
that they do.
"""
