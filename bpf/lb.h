/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Backend selection for a new flow: ClientIP affinity (A1) first, otherwise a uniformly
 * random slot (A2), taking only ACTIVE backends (C3).
 *
 * Reading a frontend is safe against a concurrent control-plane update because of the
 * write order it follows (backends, then slots, then slot 0; count shrinks before slots
 * are deleted): the count read from slot 0 never exceeds the slots that exist.
 */
#ifndef KPX_LB_H
#define KPX_LB_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "parse.h"

/* The backend a flow is sent to. Copied out of the map so it outlives later updates. */
struct kpx_choice {
	__u32 backend_id;
	__be32 addr;
	__be16 port;
};

/* The frontend a forward packet is addressed to: slot 0 of (daddr, dport, proto). */
static __always_inline struct kpx_svc_value *kpx_lb_frontend(const struct kpx_pkt *p)
{
	struct kpx_svc_key key = {
		.addr = p->daddr,
		.port = p->dport,
		.slot = 0,
		.proto = p->proto,
		.scope = KPX_SCOPE_EXTERNAL,
	};

	return bpf_map_lookup_elem(&kpx_services_v1, &key);
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

static __always_inline void kpx_lb_fill(struct kpx_choice *c, __u32 id, const struct kpx_backend *be)
{
	c->backend_id = id;
	c->addr = be->addr;
	c->port = be->port;
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
	if (!be || be->state != KPX_BACKEND_ACTIVE)
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

/* A2: a uniformly random slot in 1..count. If it names a TERMINATING backend (which the
 * control plane is about to take out of the slots), the next slots are tried, wrapping,
 * up to KPX_SELECT_PROBES in all. A slot that is missing or names id 0 or an unknown
 * backend is a control-plane bug: DROP_INVALID_BACKEND, counted.
 * Returns KPX_R_FWD_NEW_FLOW with *c filled, or a DROP_* reason. */
static __always_inline __u32 kpx_lb_pick(const struct kpx_pkt *p, const struct kpx_svc_value *svc,
					 __u16 count, struct kpx_choice *c)
{
	struct kpx_svc_key key = {
		.addr = p->daddr,
		.port = p->dport,
		.proto = p->proto,
		.scope = KPX_SCOPE_EXTERNAL,
	};
	__u32 svc_id = svc->svc_id;
	__u32 start = bpf_get_prandom_u32() % count;
	__u32 i;

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
		if (be->state == KPX_BACKEND_ACTIVE) {
			kpx_lb_fill(c, id, be);
			return KPX_R_FWD_NEW_FLOW;
		}
	}
	return KPX_R_DROP_NO_BACKEND;
}

#endif /* KPX_LB_H */
