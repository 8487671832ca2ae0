"""The shared Map protocol (ebpf.maps): conversions, user API and errors over raw byte primitives."""

from __future__ import annotations

import ctypes
import errno
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebpf.errors import KeyExistsError, KeyNotFoundError, MapError, MapFullError
from ebpf.kinds import MapType
from ebpf.maps import BPF_EXIST, BPF_NOEXIST, LpmKey, Map, MapInfo, make_codec, round_up


class DictMap(Map):
    """The smallest runtime: a dict of raw bytes with hash-map semantics."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.data: dict[bytes, bytes] = {}

    def _lookup(self, key, flags=0):
        assert isinstance(key, bytes) and len(key) == self.key_size
        return self.data.get(key)

    def _update(self, key, value, flags=0):
        expected = self.percpu_value_size * self.num_cpus if self.is_percpu else self.value_size
        assert isinstance(value, bytes) and len(value) == expected
        if key in self.data and flags & BPF_NOEXIST:
            raise KeyExistsError("exists")
        if key not in self.data and flags & BPF_EXIST:
            raise KeyNotFoundError("missing")
        if key not in self.data and len(self.data) >= self.max_entries:
            raise MapFullError("full")
        self.data[key] = value

    def _delete(self, key):
        if self.data.pop(key, None) is None:
            raise KeyNotFoundError("missing")

    def _next_key(self, key):
        keys = list(self.data)
        if key not in self.data:
            return keys[0] if keys else None
        i = keys.index(key) + 1
        return keys[i] if i < len(keys) else None


def dict_map(key_size=4, value_size=8, max_entries=4, type=MapType.HASH, **kw) -> DictMap:
    return DictMap(name="m", type=type, key_size=key_size, value_size=value_size, max_entries=max_entries, **kw)


def test_ints_for_small_sizes_bytes_otherwise():
    m = dict_map(value_size=8)
    m[1] = 10
    assert m.data[(1).to_bytes(4, "little")] == (10).to_bytes(8, "little")
    assert m[1] == 10 and m.get(2) is None and m.get(2, "x") == "x"
    wide = dict_map(key_size=6, value_size=12)
    wide[b"abcdef"] = 5
    assert wide[b"abcdef"] == (5).to_bytes(12, "little")
    assert list(wide.keys()) == [b"abcdef"]


def test_negative_int_and_str_keys():
    m = dict_map(key_size=16, value_size=4)
    m["bash"] = -1
    assert m.data[b"bash".ljust(16, b"\0")] == b"\xff" * 4
    assert m["bash"] == 0xFFFFFFFF


def test_size_errors_are_map_errors():
    m = dict_map()
    with pytest.raises(MapError, match="must be 4 bytes"):
        m[b"abc"] = 1
    with pytest.raises(MapError, match="does not fit"):
        m[1] = 1 << 64
    with pytest.raises(MapError, match="cannot convert"):
        m[1] = 1.5


def test_flags_and_errors():
    m = dict_map(max_entries=2)
    m.update(1, 1, BPF_NOEXIST)
    with pytest.raises(KeyExistsError) as exc:
        m.update(1, 2, BPF_NOEXIST)
    assert exc.value.errno == errno.EEXIST
    with pytest.raises(KeyNotFoundError):
        m.update(9, 2, BPF_EXIST)
    m[2] = 2
    with pytest.raises(MapFullError) as full:
        m[3] = 3
    assert full.value.errno == errno.E2BIG
    with pytest.raises(KeyNotFoundError, match="key 7 not found"):
        _ = m[7]
    with pytest.raises(KeyError):  # KeyNotFoundError is also a KeyError
        del m[7]


def test_dict_like_api():
    m = dict_map(max_entries=8)
    m.update_many({1: 10, 2: 20, 3: 30})
    assert len(m) == 3 and 2 in m and 4 not in m and "junk" not in m
    assert dict(m.items()) == {1: 10, 2: 20, 3: 30}
    assert list(m) == [1, 2, 3] and list(m.values()) == [10, 20, 30]
    assert m.lookup_and_delete(2) == 20 and 2 not in m
    assert m.pop(3) == 30 and m.pop(3, None) is None
    m.clear()
    assert len(m) == 0
    assert m.info == MapInfo("m", MapType.HASH, 4, 8, 8)


class Pair(ctypes.Structure):
    _fields_ = [("a", ctypes.c_uint32), ("b", ctypes.c_int16), ("c", ctypes.c_uint16)]


def test_ctypes_types():
    m = dict_map(key_size=4, value_size=8, key_type=ctypes.c_uint32, value_type=Pair)
    m[5] = Pair(1, -2, 3)
    m[6] = (4, 5, 6)
    m[7] = {"a": 9}
    got = m[5]
    assert isinstance(got, Pair) and (got.a, got.b, got.c) == (1, -2, 3)
    assert m[6].c == 6 and m[7].a == 9
    assert list(m.keys()) == [5, 6, 7]
    with pytest.raises(MapError, match="is 4 bytes but the map's size is 8"):
        dict_map(value_size=8, value_type=ctypes.c_uint32)


def test_forced_int_or_bytes_and_custom_codec():
    m = dict_map(value_size=8, value_type=bytes)
    m[1] = 3
    assert m[1] == (3).to_bytes(8, "little")

    class Upper:
        def encode(self, obj):
            return obj.upper().encode().ljust(8, b"\0")

        def decode(self, data):
            return data.rstrip(b"\0").decode()

    m.value_type = Upper()
    m[2] = "abc"
    assert m[2] == "ABC"


def test_percpu_values_are_lists():
    m = dict_map(value_size=4, type=MapType.PERCPU_HASH, num_cpus=3)
    assert m.percpu_value_size == 8
    m[1] = [1, 2, 3]
    assert m.data[(1).to_bytes(4, "little")] == b"".join(
        (v).to_bytes(4, "little") + bytes(4) for v in (1, 2, 3))
    assert m[1] == [1, 2, 3]
    m[2] = 7
    assert m[2] == [7, 7, 7]
    with pytest.raises(MapError, match="give 3 values"):
        m[3] = [1, 2]


def test_percpu_struct_values_accept_tuples_as_one_value():
    m = dict_map(value_size=8, type=MapType.PERCPU_ARRAY, num_cpus=2, value_type=Pair)
    m[0] = (1, 2, 3)
    assert [p.a for p in m[0]] == [1, 1]


def test_lpm_keys():
    m = dict_map(key_size=8, value_size=4, type=MapType.LPM_TRIE)
    m[ipaddress.ip_network("10.1.0.0/16")] = 1
    m[(24, b"\x0a\x01\x02\x00")] = 2
    m["192.168.0.0/24"] = 3
    m[ipaddress.ip_address("1.2.3.4")] = 4
    keys = list(m.keys())
    assert keys[0] == LpmKey(16, b"\x0a\x01\x00\x00")
    assert str(keys[1]) == "10.1.2.0/24" and keys[3].prefixlen == 32
    assert keys[2].network == ipaddress.ip_network("192.168.0.0/24")
    with pytest.raises(MapError, match="prefix data must be 4 bytes"):
        m[(8, b"\x0a")] = 1


def test_queue_api_uses_push_pop_primitives():
    class Q(DictMap):
        def __init__(self):
            super().__init__(name="q", type=MapType.QUEUE, key_size=0, value_size=4, max_entries=2)
            self.items_: list[bytes] = []

        def _push(self, value, flags=0):
            self.items_.append(value)

        def _pop(self):
            return self.items_.pop(0) if self.items_ else None

        def _peek(self):
            return self.items_[0] if self.items_ else None

        def _count(self):
            return len(self.items_)

    q = Q()
    q.push(1)
    q.push(2)
    assert len(q) == 2 and q.peek() == 1 and q.pop() == 1 and q.pop() == 2
    assert q.pop(default=None) is None
    with pytest.raises(KeyNotFoundError, match="is empty"):
        q.peek()


def test_unsupported_operations_are_einval():
    m = dict_map()
    with pytest.raises(MapError) as exc:
        m.push(1)
    assert exc.value.errno == errno.EINVAL


@given(st.integers(min_value=0, max_value=2**64 - 1), st.sampled_from([1, 2, 4, 8]))
def test_int_codec_round_trip(value, size):
    codec = make_codec(None, size, "value")
    value &= (1 << (8 * size)) - 1
    assert codec.decode(codec.encode(value)) == value


@given(st.binary(min_size=0, max_size=40))
def test_bytes_round_trip_for_odd_sizes(data):
    codec = make_codec(None, len(data), "key")
    decoded = codec.decode(codec.encode(data))
    if len(data) in (1, 2, 4, 8):
        assert decoded == int.from_bytes(data, "little")
    else:
        assert decoded == data


def test_round_up():
    assert [round_up(n, 8) for n in (0, 1, 8, 9)] == [0, 8, 8, 16]
