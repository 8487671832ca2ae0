#include "common.h"
/* A switch-heavy tokenizer: classify 256 bytes of text into token counts. */
SEC("xdp") int switch_parser(struct xdp_md *ctx)
{
    BENCH_DATA(ctx, 256);
    const unsigned char *p = data;
    __u32 words = 0, digits = 0, punct = 0, spaces = 0, other = 0, state = 0;
    for (int i = 0; i < 256; i++) {
        switch (p[i]) {
        case ' ': case '\t': case '\n': case '\r':
            spaces++; state = 0; break;
        case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9':
            digits++; break;
        case '.': case ',': case ';': case ':': case '!': case '?': case '-': case '(': case ')':
            punct++; state = 0; break;
        case 'a' ... 'z': case 'A' ... 'Z': case '_':
            if (!state) { words++; state = 1; }
            break;
        default:
            other++; break;
        }
    }
    return words * 1000000 + digits * 10000 + punct * 100 + spaces + other;
}
char LICENSE[] SEC("license") = "GPL";
