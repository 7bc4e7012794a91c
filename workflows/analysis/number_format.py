"""The one number formatter of the report's statistical exhibits (Table 5 and its companions,
the diagnostics, Appendix B), as a journal prints numbers: a fixed number of decimals, thousands
grouped with commas, a true minus sign (U+2212), never scientific notation, and an en dash where
there is no number.

A figure too small or too large to read at a few decimals is rescaled by its unit (EXPT per
billion VND, ENVEXP in million VND) before it gets here, never printed with an exponent.
Imports nothing, so that both the analysis (Appendix B's figures) and the report use it.
"""

import math

MINUS = "\u2212"
DASH = "\u2013"


def fixed(value: float | int | None, decimals: int, grouped: bool = True) -> str:
    """`value` with exactly `decimals` decimals: 1,234.50, −0.0011; "–" when undefined.

    A value that rounds to zero prints without a sign (never "−0.00").
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    text = f"{value:,.{decimals}f}" if grouped else f"{value:.{decimals}f}"
    if text.startswith("-") and not any(c in "123456789" for c in text):
        text = text[1:]
    return text.replace("-", MINUS)


def signed(value: float | None, decimals: int) -> str:
    """A difference or an effect with its sign always shown: +0.73, −1.20."""
    text = fixed(value, decimals)
    if value is not None and text[0] not in (MINUS, DASH) and any(c in "123456789" for c in text):
        return "+" + text
    return text


def count(value: int | float | None) -> str:
    """A whole number, thousands grouped: 1,000,000."""
    return fixed(value, 0)


def decimals_for(values, least: int = 2, most: int = 4, significant: int = 2) -> int:
    """The decimals one row of a table prints all its values with: enough for the smallest nonzero
    magnitude among them to show `significant` digits, between `least` and `most`."""
    magnitudes = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    if not magnitudes:
        return least
    needed = significant - 1 - math.floor(math.log10(min(magnitudes)))
    return max(least, min(most, needed))


def p_value(p: float | None) -> str:
    """A p-value as journals print it: three decimals, "< 0.001" below that."""
    if p is None or (isinstance(p, float) and not math.isfinite(p)):
        return DASH
    return "< 0.001" if p < 0.0005 else fixed(p, 3)


def printed_decimals(printed: str) -> int:
    """The decimals of a figure as printed ("4,655,670" 0, "0.0005082" 7, "−8.583" 3)."""
    number = printed.split(" ")[0].rstrip("%*")
    return len(number.split(".")[1]) if "." in number else 0


def half_unit(printed: str) -> float:
    """Half a unit of the last printed digit: the tolerance of a figure judged by its printed precision."""
    return 0.5 * 10.0 ** -printed_decimals(printed)
