/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Connection tracking: one FORWARD entry keyed by the tuple the client sends and one
 * REPLY entry keyed by the tuple the backend sends back, so that either direction is
 * found with a single lookup of the packet as it arrives.
 *
 * Entries are updated in place; two CPUs handling packets of the same flow may race on
 * last_seen_ns and flags. Both races are benign: a timestamp is as good as another a few
 * ns apart, and a lost CLOSING bit only keeps the entry for the longer timeout.
 */
#ifndef KPX_CONNTRACK_H
#define KPX_CONNTRACK_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "parse.h"

/* The clock of every kpx timestamp (conntrack last_seen_ns, affinity last_used_ns):
 * CLOCK_MONOTONIC at tick resolution. Timeouts are in seconds, so a tick (1-10 ms) is
 * plenty, and the coarse clock costs half of bpf_ktime_get_ns(). Userspace compares
 * with clock_gettime(CLOCK_MONOTONIC). */
static __always_inline __u64 kpx_now(void)
{
	return bpf_ktime_get_coarse_ns();
}

static __always_inline struct kpx_ct_key kpx_ct_key_of(const struct kpx_pkt *p, __u8 dir)
{
	struct kpx_ct_key k = {
		.saddr = p->saddr,
		.daddr = p->daddr,
		.sport = p->sport,
		.dport = p->dport,
		.proto = p->proto,
		.dir = dir,
	};
	return k;
}

/* The REPLY key of a flow from the packet's client side to a backend. */
static __always_inline struct kpx_ct_key kpx_ct_reply_key(const struct kpx_pkt *p,
							  __be32 backend_addr,
							  __be16 backend_port)
{
	struct kpx_ct_key k = {
		.saddr = backend_addr,
		.daddr = p->saddr,
		.sport = backend_port,
		.dport = p->sport,
		.proto = p->proto,
		.dir = KPX_CT_REPLY,
	};
	return k;
}

/* The FORWARD key of the flow a reply packet belongs to. */
static __always_inline struct kpx_ct_key kpx_ct_forward_key(const struct kpx_pkt *p,
							    const struct kpx_ct_value *reply)
{
	struct kpx_ct_key k = {
		.saddr = p->daddr,
		.daddr = reply->nat_addr,
		.sport = p->dport,
		.dport = reply->nat_port,
		.proto = p->proto,
		.dir = KPX_CT_FORWARD,
	};
	return k;
}

/* True when the entry has been idle for longer than its protocol's timeout. Signed
 * difference: an entry stamped slightly in the future (another CPU) is not expired. */
static __always_inline int kpx_ct_expired(const struct kpx_ct_value *v, __u8 proto, __u64 now)
{
	__u64 timeout_s;

	if (proto == KPX_IPPROTO_TCP)
		timeout_s = (v->flags & KPX_CT_F_CLOSING) ? KPX_CT_TIMEOUT_TCP_CLOSING_S
							  : KPX_CT_TIMEOUT_TCP_S;
	else
		timeout_s = KPX_CT_TIMEOUT_UDP_S;
	return (__s64)(now - v->last_seen_ns) > (__s64)(timeout_s * KPX_NSEC_PER_SEC);
}

/* Records a packet on an entry: adds flags and refreshes last_seen_ns when it is older
 * than KPX_CT_REFRESH_NS or the flags changed. Returns 1 when it wrote, so the caller
 * refreshes the other direction's entry too (a flow stays alive while either side
 * talks). */
static __always_inline int kpx_ct_touch(struct kpx_ct_value *v, __u64 now, __u16 flags)
{
	if ((v->flags & flags) == flags && (__s64)(now - v->last_seen_ns) < (__s64)KPX_CT_REFRESH_NS)
		return 0;
	v->flags |= flags;
	v->last_seen_ns = now;
	return 1;
}

/* Refreshes the entry under key, if it exists. */
static __always_inline void kpx_ct_touch_key(const struct kpx_ct_key *key, __u64 now, __u16 flags)
{
	struct kpx_ct_value *v = bpf_map_lookup_elem(&kpx_ct_v1, key);

	if (v) {
		v->flags |= flags;
		v->last_seen_ns = now;
	}
}

/* Records a new (or re-targeted) flow: the REPLY entry first, so that no FORWARD entry
 * exists whose replies would go untranslated. Returns 0 or a negative error. */
static __always_inline int kpx_ct_create(const struct kpx_pkt *p, __be32 backend_addr,
					 __be16 backend_port, __u32 backend_id, __u32 svc_id,
					 __u64 now)
{
	struct kpx_ct_key fkey = kpx_ct_key_of(p, KPX_CT_FORWARD);
	struct kpx_ct_key rkey = kpx_ct_reply_key(p, backend_addr, backend_port);
	struct kpx_ct_value v = {
		.last_seen_ns = now,
		.nat_addr = p->daddr,
		.nat_port = p->dport,
		.flags = p->ct_flags,
		.backend_id = backend_id,
		.svc_id = svc_id,
	};

	if (bpf_map_update_elem(&kpx_ct_v1, &rkey, &v, BPF_ANY))
		return -1;
	/* The FORWARD entry needs no NAT address: the backend is looked up by id. */
	v.nat_addr = 0;
	v.nat_port = 0;
	if (bpf_map_update_elem(&kpx_ct_v1, &fkey, &v, BPF_ANY))
		return -1;
	return 0;
}

#endif /* KPX_CONNTRACK_H */
