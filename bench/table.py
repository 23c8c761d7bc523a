"""What the benchmark drivers (run.py, rpc_run.py) share for their tables: which way a metric
is better, a target's text and check, and number formatting."""

HIGHER_IS_BETTER = "higher"
LOWER_IS_BETTER = "lower"


def target_text(better, target):
    """'≥ 1.0' or '≤ 1.5'."""
    sign = "≥" if better == HIGHER_IS_BETTER else "≤"
    return f"{sign} {target:.1f}"


def is_met(better, ratio, target):
    if better == HIGHER_IS_BETTER:
        return ratio >= target
    return ratio <= target


def format_number(value, ratio=False, decimals=2):
    """'n/a', a ratio with 2 decimals, thousands grouped from 100 up, else `decimals`."""
    if value is None:
        return "n/a"
    if ratio:
        return f"{value:.2f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{decimals}f}"
