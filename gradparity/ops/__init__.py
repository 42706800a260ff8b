"""One module per family of layers: its strategies, bad calls and registry entries."""
