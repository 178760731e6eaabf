/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-frontend statistics (kpx_svc_stats_dense_v1 and kpx_svc_stats_v1, maps.h), beside
 * the per-reason counters of counters.h: which Service's traffic the decisions were about.
 *
 * A packet is attributed to a frontend id when its decision is about that frontend:
 *   FWD_ESTABLISHED, FWD_RESELECTED        the flow's svc_id: packets, bytes
 *   FWD_NEW_FLOW, FWD_AFFINITY, FWD_SNAT,  the chosen entry's svc_id: packets, bytes,
 *   FWD_HAIRPIN                            new_conns
 *   REJECT_*, DROP_* on a frontend         drops (the frontend's svc_id; after the
 *                                          traffic policy chose an entry, that entry's)
 * and a socket hook's decision (sock.h) likewise: SOCK_TRANSLATED and SOCK_AFFINITY are
 * new_conns, SOCK_REFUSED and SOCK_UNREACHABLE drops; a socket event has no packet, so
 * node-originated traffic adds nothing to packets and bytes. Replies (FWD_REPLY) and
 * passed packets are not attributed, so the reply path keeps its one conntrack lookup
 * and the pass path costs nothing more. An established flow is attributed to the
 * svc_id its conntrack entry holds: a SCOPE_INTERNAL id for eTP/iTP Local flows, which
 * userspace adds to its frontend's SCOPE_EXTERNAL id.
 *
 * Cost per attributed packet: one lookup and four adds in this CPU's slot. For ids below
 * the array's capacity the lookup is an inlined bounds check and address computation;
 * larger ids miss the array and take the LRU hash (a helper call and a hash lookup),
 * whose first packet of an id inserts its entry.
 */
#ifndef KPX_SVC_STATS_H
#define KPX_SVC_STATS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abi.h"
#include "constants.h"
#include "counters.h"
#include "maps.h"

static __always_inline void kpx_svc_add(__u32 svc_id, const struct kpx_svc_stats *d)
{
	/* NULL when svc_id is past the array, whatever capacity it was loaded with. */
	struct kpx_svc_stats *s = bpf_map_lookup_elem(&kpx_svc_stats_dense_v1, &svc_id);

	if (!s)
		s = bpf_map_lookup_elem(&kpx_svc_stats_v1, &svc_id);
	if (!s) {
		/* The id's first packet. A new per-CPU element holds d in this CPU's slot and
		 * zeros in the others. */
		if (!bpf_map_update_elem(&kpx_svc_stats_v1, &svc_id, d, BPF_NOEXIST))
			return;
		/* Another CPU inserted it meanwhile: add to this CPU's slot of that one. */
		s = bpf_map_lookup_elem(&kpx_svc_stats_v1, &svc_id);
		if (!s)
			return;
	}
	/* Per-CPU slot: no other CPU writes it, so plain adds are exact. */
	s->packets += d->packets;
	s->bytes += d->bytes;
	s->new_conns += d->new_conns;
	s->drops += d->drops;
}

/* Counts one decision `reason` (the low byte of a kpx_decide() result) against svc_id.
 * svc_id 0: the decision was about no frontend, nothing is counted. */
static __always_inline void kpx_svc_count(__u32 svc_id, __u32 reason, __u32 len)
{
	struct kpx_svc_stats d = {};

	if (!svc_id)
		return;
	switch (reason) {
	case KPX_R_FWD_NEW_FLOW:
	case KPX_R_FWD_AFFINITY:
	case KPX_R_FWD_SNAT:
	case KPX_R_FWD_HAIRPIN:
		d.new_conns = 1;
		/* fall through */
	case KPX_R_FWD_ESTABLISHED:
	case KPX_R_FWD_RESELECTED:
		d.packets = 1;
		d.bytes = len;
		break;
	case KPX_R_SOCK_TRANSLATED:
	case KPX_R_SOCK_AFFINITY:
		d.new_conns = 1;
		break;
	case KPX_R_REJECT_TCP:
	case KPX_R_REJECT_UDP:
	case KPX_R_SOCK_REFUSED:
	case KPX_R_SOCK_UNREACHABLE:
		d.drops = 1;
		break;
	default:
		if (!kpx_reason_is_drop(reason))
			return;
		d.drops = 1;
		break;
	}
	kpx_svc_add(svc_id, &d);
}

#endif /* KPX_SVC_STATS_H */
