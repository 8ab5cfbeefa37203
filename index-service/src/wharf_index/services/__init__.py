"""The service layer: use cases over a UnitOfWork (see adapters/unit_of_work.py).

Every public service function takes the unit of work first and opens ``with uow:`` itself
(re-entrant, so services compose). Authorisation decisions come from
:mod:`wharf_index.domain.policy`; failures are domain errors (:mod:`wharf_index.domain.errors`).
"""
