/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* How full the hash maps are, for the agent's kpx_map_entries gauges, at the cost of one
 * BPF_PROG_TEST_RUN call: the kernel keeps a per-CPU element count of every hash map
 * (LRU ones included, evictions counted), and the bpf_map_sum_elem_count kfunc adds it
 * up. Walking the keys from userspace instead costs a syscall per element (about 11 us
 * each: over 2 s for a full conntrack table).
 *
 * The kfunc is weak: on a kernel without it (< 6.6) libbpf resolves it to NULL, the
 * object still loads, and every count reads -1 ("unknown"). Not for LPM tries, which
 * keep no such count: userspace counts kpx_srcrange_v1 from what it wrote.
 */
#ifndef KPX_MAP_COUNTS_H
#define KPX_MAP_COUNTS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abi.h"
#include "maps.h"

/* The kernel's struct, as the kfunc's prototype names it. libbpf checks an extern
 * kfunc's prototype against the kernel's BTF, and accepts any struct for a struct
 * parameter but not a forward declaration; the members are never used. */
struct bpf_map {
	int unused;
};

extern __s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym __weak;

static __always_inline __s64 kpx_map_count(const void *map)
{
	if (!bpf_map_sum_elem_count)
		return -1;
	return bpf_map_sum_elem_count((const struct bpf_map *)map);
}

/* Never called, never loaded: puts struct kpx_map_counts into the object's BTF (a type
 * used only through a cast of packet data gets no debug info), where
 * test/datapath/abi.test.ts checks it against LAYOUTS.mapCounts. */
__attribute__((used)) __s64 kpx_map_counts_btf_anchor(struct kpx_map_counts *c)
{
	return c->services;
}

/* Run with a packet of at least sizeof(struct kpx_map_counts) bytes; the counts come
 * back in its first bytes. Returns 0, or 1 when the packet was too short. */
SEC("tc")
int kpx_map_counts(struct __sk_buff *skb)
{
	struct kpx_map_counts *out = (void *)(long)skb->data;

	if ((void *)(out + 1) > (void *)(long)skb->data_end)
		return 1;
	out->services = kpx_map_count(&kpx_services_v1);
	out->backends = kpx_map_count(&kpx_backends_v1);
	out->ct = kpx_map_count(&kpx_ct_v1);
	out->affinity = kpx_map_count(&kpx_affinity_v1);
	out->sock_rev = kpx_map_count(&kpx_sock_rev_v1);
	out->svc_stats = kpx_map_count(&kpx_svc_stats_v1);
	out->frags = kpx_map_count(&kpx_frags_v1);
	return 0;
}

#endif /* KPX_MAP_COUNTS_H */
