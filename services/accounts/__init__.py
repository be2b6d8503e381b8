"""Accounts: who acts and how they prove it. Enterprise bindings and their lockout, department
keys, operators, and the login and session rules of the mini-program, the web and ops."""
