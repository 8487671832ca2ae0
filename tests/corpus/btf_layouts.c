// Types with awkward layouts for the BTF tests: bitfields, packing, anonymous members,
// enums of every size, enum64, function pointer arrays, flexible arrays, nested unions.
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

enum btf_small_enum { SMALL_A = 1, SMALL_B = 200 } __attribute__((packed));
enum btf_signed_enum { SIGNED_NEG = -5, SIGNED_POS = 7 };
enum btf_big_enum { BIG_A = 1, BIG_HUGE = 0x1234567890ULL };

typedef int (*btf_callback_t)(void *ctx, long flags);

struct btf_bits {
	unsigned int a : 3;
	unsigned int b : 5;
	int c : 7;
	unsigned long long d : 40;
	_Bool flag : 1;
	enum btf_signed_enum e : 8;
	char tail;
};

struct btf_packed {
	char c;
	__u64 x;
	__u16 y;
} __attribute__((packed));

struct btf_aligned {
	char c;
	__u64 x __attribute__((aligned(32)));
	char after;
};

struct btf_anon {
	int kind;
	union {
		struct {
			__u32 lo;
			__u32 hi;
		};
		__u64 whole;
	};
	struct {
		char name[16];
		enum btf_small_enum small;
	} inner;
	btf_callback_t callbacks[3];
	int (*handlers[2])(struct btf_anon *self, int);
	const volatile char *const msg;
	enum btf_big_enum big;
	int matrix[2][3];
	unsigned int flex[];
};

struct btf_event {
	__u32 pid;
	char comm[16];
	struct btf_bits bits;
	struct btf_packed packed;
	struct btf_aligned aligned;
	enum btf_signed_enum sign;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, struct btf_packed);
	__type(value, struct btf_event);
} btf_layout_map SEC(".maps");

struct btf_anon btf_anon_global = { .kind = 3 };
struct btf_event btf_event_global;
volatile const int btf_const_global = 42;

SEC("socket")
int btf_layouts_prog(struct __sk_buff *skb)
{
	struct btf_packed key = { .c = 1 };
	struct btf_event *ev = bpf_map_lookup_elem(&btf_layout_map, &key);

	if (!ev)
		return 0;
	ev->bits.a = 5;
	ev->bits.d = btf_anon_global.whole;
	return btf_const_global + btf_event_global.pid + ev->sign;
}
