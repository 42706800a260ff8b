"""The README's examples run: every ```python block whose first line is ``# runnable``."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n# runnable\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_has_runnable_examples():
    assert BLOCKS


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code):
    exec(compile(code, str(README), "exec"), {})
