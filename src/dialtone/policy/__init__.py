"""The terms engine: each rule of TERMS.md as a pure decision with a reason code."""
