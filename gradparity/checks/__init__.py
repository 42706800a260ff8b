"""The generic checks, one module per column of the summary table, plus whole models and
dropout's drawn mask. They are pytest tests: ``pytest --pyargs gradparity`` collects them."""
