"""Creating a sheet: filling rules, tokens, the reads behind them, given values."""
