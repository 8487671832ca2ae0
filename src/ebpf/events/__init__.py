"""Event streams from BPF programs to user space: ring buffers and perf buffers."""

from ebpf.events.decode import RawDecoder, RecordDecoder, StructDecoder, decoder_for, record_class, to_python
from ebpf.events.perfbuf import PerfBuffer, PerfEvent, online_cpus
from ebpf.events.ringbuf import RingBuffer

__all__ = ["PerfBuffer", "PerfEvent", "RawDecoder", "RecordDecoder", "RingBuffer", "StructDecoder",
           "decoder_for", "online_cpus", "record_class", "to_python"]
