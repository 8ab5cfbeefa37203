"""``./deploy/local/up``: the whole Wharf stack on one machine, in the foreground.

Standard library only: this runs under the machine's ``python3`` before any virtualenv
exists. ``cli`` is the flow; ``pyenv`` the virtualenv, ``postgres`` the private
PostgreSQL, ``index_setup`` the Index's first-run steps, ``procs`` process supervision.
"""
