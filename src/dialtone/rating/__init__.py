"""Pure rating arithmetic over Decimal: increments, tariffs, buckets (TERMS section B)."""
