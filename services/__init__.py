"""Use cases: the rules of YuCredit, with plain arguments and plain results."""
