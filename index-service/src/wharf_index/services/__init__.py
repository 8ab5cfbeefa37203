"""The service layer: use cases over a UnitOfWork (services/unit_of_work.py).

Every public service function takes the unit of work first and opens ``with uow:`` itself
(re-entrant, so services compose). Services depend on the domain's ports and values only,
never on adapters/ (a test reads their imports). Authorisation decisions come from
:mod:`wharf_index.domain.policy`; failures are domain errors (:mod:`wharf_index.domain.errors`).
"""
