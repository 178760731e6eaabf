// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kpx datapath: service load balancing for traffic leaving pods.
 *
 * kpx_from_pod runs at tc ingress of the host side of every pod veth, so it sees each
 * packet a pod sends. A packet is, in this order:
 *   1. a packet of a tracked flow (FORWARD entry)   -> DNAT to the flow's backend,
 *      or, if that backend is gone, to a newly selected one (C2);
 *   2. a reply of a tracked flow (REPLY entry)      -> source restored to the frontend;
 *   3. the first packet to a frontend               -> select a backend, track, DNAT;
 *   4. anything else                                -> passed untouched.
 * The reply lookup comes before the frontend lookup because replies are far more
 * common than new flows; a tuple cannot be both (its destination would have to be a
 * client pod and a service address at once).
 * Every packet ends in kpx_verdict(), which counts it under exactly one reason.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "abi.h"
#include "constants.h"
#include "maps.h"
#include "parse.h"
#include "nat.h"
#include "conntrack.h"
#include "lb.h"
#include "counters.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Never called, never loaded: a global function is always emitted with its BTF, so this
 * one puts enum kpx_reason (names and values) into the object's BTF, where
 * test/datapath/abi.test.ts checks it against REASONS and tools can read it. (The
 * counters map cannot carry it: the kernel wants an integer key type for arrays.) */
__attribute__((used)) enum kpx_reason kpx_reason_btf_anchor(enum kpx_reason r)
{
	return r;
}

/* Selects a backend for a flow to svc and records it (affinity, conntrack), then DNATs.
 * reselect: the flow was tracked but its backend is gone (C2). */
static __always_inline __u32 kpx_new_flow(struct __sk_buff *skb, const struct kpx_pkt *p,
					  const struct kpx_svc_value *svc, __u64 now, int reselect)
{
	struct kpx_choice c = {};
	__u16 count = svc->count; /* read once: see the slot-0 rule in lb.h */
	__u16 flags = svc->flags;
	__u32 svc_id = svc->svc_id;
	__u32 reason;

	if (count == 0)
		return KPX_R_DROP_NO_BACKEND;

	if ((flags & KPX_SVC_F_AFFINITY) && kpx_lb_affinity_hit(p, svc, now, &c)) {
		reason = KPX_R_FWD_AFFINITY;
	} else {
		reason = kpx_lb_pick(p, svc, count, &c);
		if (reason != KPX_R_FWD_NEW_FLOW)
			return reason;
		if (flags & KPX_SVC_F_AFFINITY)
			kpx_lb_affinity_record(p, svc_id, now, &c);
	}
	if (reselect)
		reason = KPX_R_FWD_RESELECTED;

	if (kpx_ct_create(p, c.addr, c.port, c.backend_id, svc_id, now))
		return KPX_R_DROP_CT_FULL;
	if (kpx_nat_rewrite(skb, p, KPX_NAT_DST, c.addr, c.port))
		return KPX_R_DROP_NAT_FAILED;
	return reason;
}

/* 1. A packet of a tracked flow: DNAT to the flow's backend, even when it is TERMINATING
 * (C3). Returns 0 when that backend is gone, so the caller reselects (C2). */
static __always_inline __u32 kpx_established(struct __sk_buff *skb, const struct kpx_pkt *p,
					     struct kpx_ct_value *ct, __u64 now)
{
	struct kpx_backend *be = kpx_lb_backend(ct->backend_id, ct->svc_id);
	__be32 addr;
	__be16 port;

	if (!be)
		return 0;
	addr = be->addr;
	port = be->port;
	if (kpx_ct_touch(ct, now, p->ct_flags)) {
		struct kpx_ct_key rkey = kpx_ct_reply_key(p, addr, port);

		kpx_ct_touch_key(&rkey, now, p->ct_flags);
	}
	if (kpx_nat_rewrite(skb, p, KPX_NAT_DST, addr, port))
		return KPX_R_DROP_NAT_FAILED;
	return KPX_R_FWD_ESTABLISHED;
}

/* 2. A reply from a backend: the source becomes the frontend the client talked to. */
static __always_inline __u32 kpx_reply(struct __sk_buff *skb, const struct kpx_pkt *p,
				       struct kpx_ct_value *ct, __u64 now)
{
	__be32 addr = ct->nat_addr;
	__be16 port = ct->nat_port;
	__u16 flags = p->ct_flags | KPX_CT_F_SEEN_REPLY;

	if (kpx_ct_touch(ct, now, flags)) {
		struct kpx_ct_key fkey = kpx_ct_forward_key(p, ct);

		kpx_ct_touch_key(&fkey, now, flags);
	}
	if (kpx_nat_rewrite(skb, p, KPX_NAT_SRC, addr, port))
		return KPX_R_DROP_NAT_FAILED;
	return KPX_R_FWD_REPLY;
}

static __always_inline __u32 kpx_decide(struct __sk_buff *skb)
{
	struct kpx_pkt p;
	struct kpx_ct_key key;
	struct kpx_ct_value *ct;
	struct kpx_svc_value *svc;
	int reselect = 0;
	__u64 now = 0; /* the clock is read only once a map says the packet is ours */
	__u32 reason;

	reason = kpx_parse(skb, &p);
	if (reason)
		return reason;

	key = kpx_ct_key_of(&p, KPX_CT_FORWARD);
	ct = bpf_map_lookup_elem(&kpx_ct_v1, &key);
	if (ct) {
		now = kpx_now();
		if (!kpx_ct_expired(ct, p.proto, now)) {
			reason = kpx_established(skb, &p, ct, now);
			if (reason)
				return reason;
			reselect = 1;
		}
		/* Expired: the tuple is reused by a new flow. */
	} else {
		key.dir = KPX_CT_REPLY;
		ct = bpf_map_lookup_elem(&kpx_ct_v1, &key);
		if (ct) {
			now = kpx_now();
			if (!kpx_ct_expired(ct, p.proto, now))
				return kpx_reply(skb, &p, ct, now);
		}
	}

	/* 3. A new flow to a frontend, or a tracked flow whose backend is gone. */
	svc = kpx_lb_frontend(&p);
	if (!svc)
		/* A tracked flow whose frontend was deleted too (C4) is passed, not dropped:
		 * its packets are no longer ours. */
		return reselect ? KPX_R_PASS_NO_SERVICE : KPX_R_PASS_NO_FLOW;
	if (!now)
		now = kpx_now();
	return kpx_new_flow(skb, &p, svc, now, reselect);
}

SEC("tc")
int kpx_from_pod(struct __sk_buff *skb)
{
	return kpx_verdict(skb, kpx_decide(skb));
}
