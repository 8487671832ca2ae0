#include "common.h"
SEC("cgroup_skb/ingress") int bad_return_value(struct __sk_buff *skb) {
    return skb->len & 7;   /* BUG: cgroup_skb ingress must return 0 or 1 */
}
