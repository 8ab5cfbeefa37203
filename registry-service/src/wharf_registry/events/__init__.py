"""Events: the sink seam (:mod:`.sinks`), the emitter building events (:mod:`.emitter`),
the durable outbox sink (:mod:`.outbox`) and its background delivery (:mod:`.delivery`) to
the Index and to notification endpoints (:mod:`.endpoint`).

The chain, after the reference registry's notification sinks: emitter -> OutboxSink
(storage, inside the request) -> Delivery (a thread per consumer, each at its own position,
retries with backoff) -> IndexClient and endpoints (HTTP). Pull events take a side road:
emitter -> PullCounter (memory) -> its flusher thread -> OutboxSink, so a manifest GET does
not wait for storage.
"""

from .delivery import Delivery
from .emitter import Emitter
from .outbox import Outbox, OutboxSink
from .pull_counter import PullCounter
from .sinks import EventSink, NullSink

__all__ = ["Delivery", "Emitter", "EventSink", "NullSink", "Outbox", "OutboxSink", "PullCounter"]
