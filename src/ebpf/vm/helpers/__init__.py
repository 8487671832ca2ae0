"""Built-in helper functions of the userspace VM, under the kernel's numbers.

Each helper is ``fn(ctx: HelperContext, r1, r2, r3, r4, r5) -> int`` with the
semantics and error codes of its in-kernel counterpart:

* maps: ``bpf_map_lookup_elem``, ``_update_elem``, ``_delete_elem``, ``_push_elem``,
  ``_pop_elem``, ``_peek_elem``, ``_lookup_percpu_elem``, ``bpf_for_each_map_elem``;
* memory: ``bpf_probe_read``, ``_kernel``, ``_user``, ``_str``, ``_kernel_str``,
  ``_user_str``, ``bpf_copy_from_user``, ``bpf_strncmp``;
* time and task: ``bpf_ktime_get_ns``, ``_boot_ns``, ``_coarse_ns``, ``_tai_ns``,
  ``bpf_jiffies64``, ``bpf_get_prandom_u32``, ``bpf_get_smp_processor_id``,
  ``bpf_get_numa_node_id``, ``bpf_get_current_pid_tgid``, ``_uid_gid``, ``_comm``;
* output: ``bpf_trace_printk``, ``bpf_trace_vprintk``, ``bpf_snprintf``,
  ``bpf_ringbuf_output``, ``_reserve``, ``_submit``, ``_discard``, ``_query``,
  ``bpf_perf_event_output``;
* control: ``bpf_tail_call``, ``bpf_loop``, ``bpf_spin_lock``, ``bpf_spin_unlock``,
  ``bpf_get_stackid``;
* packets: ``bpf_csum_diff``, ``bpf_skb_load_bytes``, ``bpf_skb_store_bytes``,
  ``bpf_xdp_load_bytes``, ``bpf_xdp_store_bytes``, ``bpf_xdp_adjust_head``,
  ``bpf_xdp_adjust_tail``, ``bpf_xdp_get_buff_len``.

:func:`default_helpers` returns them as ``number -> function``;
:func:`register_defaults` fills a :class:`~ebpf.vm.runtime.HelperRegistry` (the VM
does this for its default registry). Override or add helpers on a VM with
``vm.helpers.register("bpf_get_prandom_u32", fn)`` (number or name).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ebpf.vm.helpers import control, events, maps, memory, packet, printk, task
from ebpf.vm.helpers.base import BUILTIN
from ebpf.vm.helpers.task import Task

__all__ = ["Task", "default_helpers", "register_defaults"]

_MODULES = (control, events, maps, memory, packet, printk, task)


def default_helpers() -> dict[int, Callable[..., int]]:
    """The built-in helpers: helper number -> implementation (a new dict each call)."""
    return dict(sorted(BUILTIN.items()))


def register_defaults(registry: Any) -> None:
    """Register every built-in helper in ``registry`` (anything with ``register(number, fn)``)."""
    for number, fn in default_helpers().items():
        registry.register(number, fn)
