/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Which backends may serve a flow, and which one does.
 *
 * Contract (used by kpx.c's packet programs and by sock.h's socket hooks). Every
 * function takes the flow's tuple as a struct kpx_pkt, of which only daddr/dport/proto
 * (the frontend) and saddr (the client, for affinity and source ranges) are read; a
 * caller without a packet fills those four. Addresses and ports are in network order.
 * None of them reads or writes packet data or conntrack.
 *
 *   kpx_lb_frontend(p)                 slot 0 of the frontend's SCOPE_EXTERNAL entry, or
 *                                      NULL: the flow is no service's.
 *   kpx_lb_frontend_scope(p, scope)    slot 0 of the given entry, or NULL.
 *   kpx_lb_resolve(p, ext, origin, &scope)
 *                                      the traffic policies: which entry serves traffic
 *                                      from `origin` (T1-T3, T5, N1, N2). Returns that
 *                                      entry's slot 0 with *scope set, or NULL with
 *                                      *scope set to the reason: REJECT_TCP/REJECT_UDP
 *                                      (no usable endpoint anywhere, N1),
 *                                      DROP_NO_LOCAL_BACKEND, DROP_SOURCE_RANGE.
 *   kpx_lb_select(p, svc, scope, now, &c)
 *                                      a backend for a new flow: ClientIP affinity (A1)
 *                                      first, else a random ACTIVE slot (A2, C3).
 *                                      Returns FWD_AFFINITY or FWD_NEW_FLOW with *c
 *                                      filled, or DROP_NO_BACKEND / DROP_INVALID_BACKEND.
 *   kpx_lb_backend(id, svc_id)         a backend id that still exists and still belongs
 *                                      to svc_id, or NULL (then the flow moves, C2).
 *   kpx_lb_affinity_hit / kpx_lb_pick_scope / kpx_lb_affinity_record
 *                                      the two halves of kpx_lb_select, for callers that
 *                                      count their own reasons.
 *
 * Reading a frontend is safe against a concurrent control-plane update because of the
 * write order it follows (backends, then slots, then slot 0; count shrinks before slots
 * are deleted): the count read once from slot 0 never exceeds the slots that exist.
 */
#ifndef KPX_LB_H
#define KPX_LB_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "maps.h"
#include "parse.h"

/* The backend a flow is sent to. Copied out of the map so it outlives later updates. */
struct kpx_choice {
	__u32 backend_id;
	__be32 addr;
	__be16 port;
	__u8 local; /* runs on this node: KPX_BACKEND_F_LOCAL, or chosen from SCOPE_INTERNAL */
};

/* Where the traffic comes from, for the traffic policies. */
enum kpx_origin {
	KPX_ORIGIN_POD, /* a pod of this node (tc on its veth) */
	KPX_ORIGIN_EXTERNAL, /* outside the node (the external device) */
	KPX_ORIGIN_HOST, /* the node itself (socket hooks) */
};

static __always_inline struct kpx_svc_value *kpx_lb_frontend_scope(const struct kpx_pkt *p, __u8 scope)
{
	struct kpx_svc_key key = {
		.addr = p->daddr,
		.port = p->dport,
		.slot = 0,
		.proto = p->proto,
		.scope = scope,
	};

	return bpf_map_lookup_elem(&kpx_services_v1, &key);
}

/* The frontend a forward packet is addressed to: slot 0 of (daddr, dport, proto). */
static __always_inline struct kpx_svc_value *kpx_lb_frontend(const struct kpx_pkt *p)
{
	return kpx_lb_frontend_scope(p, KPX_SCOPE_EXTERNAL);
}

/* T5: whether p's source is inside the frontend's loadBalancerSourceRanges. */
static __always_inline int kpx_lb_source_allowed(const struct kpx_pkt *p, __u32 svc_id)
{
	struct kpx_srcrange_key key = {
		.prefixlen = 64,
		.svc_id = bpf_htonl(svc_id),
		.addr = p->saddr,
	};

	return bpf_map_lookup_elem(&kpx_srcrange_v1, &key) != NULL;
}

static __always_inline struct kpx_svc_value *kpx_lb_resolve(const struct kpx_pkt *p,
							    struct kpx_svc_value *ext,
							    enum kpx_origin origin, __u8 *scope)
{
	__u16 flags = ext->flags;
	struct kpx_svc_value *local;

	/* Source ranges first: a refused client learns nothing, not even "no endpoints". */
	if ((flags & KPX_SVC_F_SOURCE_RANGES) && !kpx_lb_source_allowed(p, ext->svc_id)) {
		*scope = KPX_R_DROP_SOURCE_RANGE;
		return NULL;
	}
	if (ext->count == 0) {
		*scope = p->proto == KPX_IPPROTO_TCP ? KPX_R_REJECT_TCP : KPX_R_REJECT_UDP;
		return NULL;
	}
	/* iTP Local (T3) applies to all traffic of its ClusterIP frontend; eTP Local (T1)
	 * only to traffic from outside: pods and the node itself use every endpoint (T2). */
	if (!((flags & KPX_SVC_F_ITP_LOCAL) ||
	      ((flags & KPX_SVC_F_ETP_LOCAL) && origin == KPX_ORIGIN_EXTERNAL))) {
		*scope = KPX_SCOPE_EXTERNAL;
		return ext;
	}
	local = kpx_lb_frontend_scope(p, KPX_SCOPE_INTERNAL);
	if (!local || local->count == 0) {
		*scope = KPX_R_DROP_NO_LOCAL_BACKEND;
		return NULL;
	}
	*scope = KPX_SCOPE_INTERNAL;
	return local;
}

/* A backend id that still exists and still belongs to frontend svc_id. The owner check
 * keeps a flow from following a backend id the control plane has since reused. */
static __always_inline struct kpx_backend *kpx_lb_backend(__u32 id, __u32 svc_id)
{
	struct kpx_backend *be;

	if (id == 0)
		return NULL;
	be = bpf_map_lookup_elem(&kpx_backends_v1, &id);
	if (!be || be->svc_id != svc_id)
		return NULL;
	return be;
}

static __always_inline int kpx_lb_active(const struct kpx_backend *be)
{
	return (be->state & KPX_BACKEND_STATE_MASK) == KPX_BACKEND_ACTIVE;
}

static __always_inline void kpx_lb_fill(struct kpx_choice *c, __u32 id, const struct kpx_backend *be)
{
	c->backend_id = id;
	c->addr = be->addr;
	c->port = be->port;
	c->local = (be->state & KPX_BACKEND_F_LOCAL) != 0;
}

/* A1: the backend this client used last for this frontend, if that was less than the
 * frontend's timeout ago and the backend may still take new flows. Refreshes the
 * entry's last use on a hit. Returns 1 on a hit. */
static __always_inline int kpx_lb_affinity_hit(const struct kpx_pkt *p,
					       const struct kpx_svc_value *svc, __u64 now,
					       struct kpx_choice *c)
{
	struct kpx_affinity_key key = { .client = p->saddr, .svc_id = svc->svc_id };
	struct kpx_affinity_value *av = bpf_map_lookup_elem(&kpx_affinity_v1, &key);
	struct kpx_backend *be;
	__u32 id;

	if (!av)
		return 0;
	if ((__s64)(now - av->last_used_ns) >= (__s64)(svc->affinity_timeout_s * KPX_NSEC_PER_SEC))
		return 0;
	id = av->backend_id;
	be = kpx_lb_backend(id, svc->svc_id);
	if (!be || !kpx_lb_active(be))
		return 0;
	av->last_used_ns = now;
	kpx_lb_fill(c, id, be);
	return 1;
}

/* Remembers the client's choice for A1. Best effort: the map is an LRU, and a failed
 * write only costs the next connection its affinity. */
static __always_inline void kpx_lb_affinity_record(const struct kpx_pkt *p, __u32 svc_id,
						   __u64 now, const struct kpx_choice *c)
{
	struct kpx_affinity_key key = { .client = p->saddr, .svc_id = svc_id };
	struct kpx_affinity_value v = { .last_used_ns = now, .backend_id = c->backend_id };

	bpf_map_update_elem(&kpx_affinity_v1, &key, &v, BPF_ANY);
}

/* A2: a uniformly random slot in 1..count of the entry `scope`. If it names a
 * TERMINATING backend (which the control plane is about to take out of the slots), the
 * next slots are tried, wrapping, up to KPX_SELECT_PROBES in all. A slot that is missing
 * or names id 0 or an unknown backend is a control-plane bug: DROP_INVALID_BACKEND.
 * Returns KPX_R_FWD_NEW_FLOW with *c filled, or a DROP_* reason. */
static __always_inline __u32 kpx_lb_pick_scope(const struct kpx_pkt *p,
					       const struct kpx_svc_value *svc, __u8 scope,
					       __u16 count, struct kpx_choice *c)
{
	struct kpx_svc_key key = {
		.addr = p->daddr,
		.port = p->dport,
		.proto = p->proto,
		.scope = scope,
	};
	__u32 svc_id = svc->svc_id;
	__u32 start, i;

	if (count == 0)
		return KPX_R_DROP_NO_BACKEND;
	start = bpf_get_prandom_u32() % count;
	for (i = 0; i < KPX_SELECT_PROBES && i < count; i++) {
		struct kpx_svc_value *slot;
		struct kpx_backend *be;
		__u32 s = start + i;
		__u32 id;

		if (s >= count)
			s -= count;
		key.slot = s + 1;
		slot = bpf_map_lookup_elem(&kpx_services_v1, &key);
		if (!slot)
			return KPX_R_DROP_INVALID_BACKEND;
		id = slot->backend_id;
		be = kpx_lb_backend(id, svc_id);
		if (!be)
			return KPX_R_DROP_INVALID_BACKEND;
		if (kpx_lb_active(be)) {
			kpx_lb_fill(c, id, be);
			/* Backends of the node-local entry are local by construction. */
			if (scope == KPX_SCOPE_INTERNAL)
				c->local = 1;
			return KPX_R_FWD_NEW_FLOW;
		}
	}
	return KPX_R_DROP_NO_BACKEND;
}

static __always_inline __u32 kpx_lb_pick(const struct kpx_pkt *p, const struct kpx_svc_value *svc,
					 __u16 count, struct kpx_choice *c)
{
	return kpx_lb_pick_scope(p, svc, KPX_SCOPE_EXTERNAL, count, c);
}

static __always_inline __u32 kpx_lb_select(const struct kpx_pkt *p, const struct kpx_svc_value *svc,
					   __u8 scope, __u64 now, struct kpx_choice *c)
{
	__u16 count = svc->count; /* read once: see the slot-0 rule above */
	__u16 flags = svc->flags;
	__u32 svc_id = svc->svc_id;
	__u32 reason;

	if ((flags & KPX_SVC_F_AFFINITY) && kpx_lb_affinity_hit(p, svc, now, c)) {
		if (scope == KPX_SCOPE_INTERNAL)
			c->local = 1;
		return KPX_R_FWD_AFFINITY;
	}
	reason = kpx_lb_pick_scope(p, svc, scope, count, c);
	if (reason == KPX_R_FWD_NEW_FLOW && (flags & KPX_SVC_F_AFFINITY))
		kpx_lb_affinity_record(p, svc_id, now, c);
	return reason;
}

#endif /* KPX_LB_H */
