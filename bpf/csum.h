/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Internet checksum arithmetic (RFC 1071, RFC 1624) done inline, without helpers.
 *
 * Values are summed as they lie in memory (network byte order loaded as host integers):
 * the ones' complement sum is byte-order independent as long as every 16-bit word
 * starts at an even offset, which holds for every field kpx touches. A "diff" is a
 * 32-bit partial sum, the same thing bpf_csum_diff() and bpf_l4_csum_replace() with
 * size 0 take: for a field changing from `from` to `to`, ~from + to.
 */
#ifndef KPX_CSUM_H
#define KPX_CSUM_H

#include <linux/types.h>

/* 32-bit ones' complement addition (end-around carry). */
static __always_inline __u32 kpx_csum_add(__u32 a, __u32 b)
{
	__u32 r = a + b;

	return r + (r < b);
}

/* Folds a 32-bit partial sum to 16 bits and complements it: the checksum field value. */
static __always_inline __u16 kpx_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* The diff of one 32-bit field (an address). */
static __always_inline __u32 kpx_csum_diff32(__u32 from, __u32 to)
{
	return kpx_csum_add(~from, to);
}

/* The diff of one 16-bit field (a port). The upper half of ~from is 0xffff, which is
 * ones' complement zero, so zero-extending both sides is exact. */
static __always_inline __u32 kpx_csum_diff16(__u16 from, __u16 to)
{
	return kpx_csum_add(~(__u32)from, (__u32)to);
}

/* RFC 1624 eqn. 3: the checksum field after fields covered by it changed by `diff`. */
static __always_inline __u16 kpx_csum_update(__u16 check, __u32 diff)
{
	return kpx_csum_fold(kpx_csum_add(diff, ~(__u32)check));
}

/* Sums `len` bytes (even, at most 2 * max_words) from `start`, stopping at `end`; the
 * caller checks that the whole range was in the packet. */
#define KPX_CSUM_MAX_WORDS 40
static __always_inline __u32 kpx_csum_words(const void *start, __u32 len, const void *end, __u32 sum)
{
	const __u16 *w = start;
	__u32 i;

	for (i = 0; i < KPX_CSUM_MAX_WORDS; i++) {
		if (i * 2 >= len || (const void *)(w + i + 1) > end)
			break;
		sum = kpx_csum_add(sum, w[i]);
	}
	return sum;
}

#endif /* KPX_CSUM_H */
