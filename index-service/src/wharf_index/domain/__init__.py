"""The Index's domain: dataclasses, errors, the access policy and the ports the services
depend on (the stores, the registry client). No Flask, no SQL, no outside client."""
