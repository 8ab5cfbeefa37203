"""Events: the sink seam (:mod:`.sinks`) and the emitter building events (:mod:`.emitter`)."""

from .emitter import Emitter
from .sinks import EventSink, NullSink

__all__ = ["Emitter", "EventSink", "NullSink"]
