"""The Index's HTTP edge: blueprints per surface (auth, internal, v1, api) and the single
error translation point (errors.py). Views parse, call a service, answer; they never build
error JSON (they raise) and never touch SQL.
"""
