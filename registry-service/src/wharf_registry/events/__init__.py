"""Events: the sink seam (:mod:`.sinks`), the emitter building events (:mod:`.emitter`),
the durable outbox sink (:mod:`.outbox`) and its background delivery (:mod:`.delivery`) to
the Index and to notification endpoints (:mod:`.endpoint`).

The chain, after the reference registry's notification sinks: emitter -> OutboxSink
(storage, inside the request) -> Delivery (a thread per consumer, each at its own position,
retries with backoff) -> IndexClient and endpoints (HTTP).
"""

from .delivery import Delivery
from .emitter import Emitter
from .outbox import Outbox, OutboxSink
from .sinks import EventSink, NullSink

__all__ = ["Delivery", "Emitter", "EventSink", "NullSink", "Outbox", "OutboxSink"]
