/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Source translation of external flows to remote backends (T4): the source becomes
 * kpx_config.node_addr and a port from [snat_port_min, snat_port_max], so the backend's
 * replies come back to this node.
 *
 * A port is free for a flow when no live REPLY entry (backend addr, backend port,
 * node_addr, port, proto) exists; how long a closed flow's entry lives depends on how it
 * closed (conntrack.h). Ports are probed in turn from a cursor shared by all CPUs, so
 * the port tried first is the one whose last flow began longest ago: at a steady rate
 * below range / grace every new flow finds a port whose old flow is past its hold.
 * Each probe is a BPF_NOEXIST insert of the REPLY entry, so two CPUs can never both
 * create the entry of a port; an existing entry that is idle past its timeout is taken
 * over, claimed first by a compare-and-swap of its timestamp so that only one CPU gets it.
 * When none of the probed ports is free, a closed flow's tuple is taken before the flow
 * is dropped (kpx_ct_reclaimable()).
 *
 * The ports are predictable (sequential), unlike a random start: the tuple is between
 * this node and a pod, and its replies are accepted only from that pod's address.
 */
#ifndef KPX_SNAT_H
#define KPX_SNAT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "conntrack.h"
#include "maps.h"

/* A claimed entry's last_seen_ns until its new value is written: in the future, so no
 * other CPU finds it expired or reclaimable meanwhile. */
#define KPX_SNAT_CLAIMED 0x7fffffffffffffffULL

/* The cursor: kpx_snat_cursor_v1[0], the offset into the port range where the next
 * search starts. Advanced atomically per search so that concurrent searches start apart,
 * and set past the port a search took. Pinned, so a restarted or upgraded agent goes on
 * where the last one stopped instead of probing from the start of the range, where the
 * ports of the last minute's flows may still be held. */
static __always_inline __u32 *kpx_snat_cursor(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&kpx_snat_cursor_v1, &zero);
}

/* kpx_config_v1's only entry (all zero until the agent writes it). */
static __always_inline struct kpx_config *kpx_config(void)
{
	__u32 zero = 0;
	struct kpx_config *cfg = bpf_map_lookup_elem(&kpx_config_v1, &zero);

	return cfg;
}

static __always_inline void kpx_snat_set_port(struct kpx_ct_flow *f, __u32 port)
{
	f->rkey.dport = bpf_htons((__u16)port);
	f->fwd.peer_port = f->rkey.dport;
}

/* Takes over `old`, the entry under f->rkey, whose last_seen_ns was `seen`: 1 when this
 * CPU claimed it and wrote f's REPLY entry there. */
static __always_inline int kpx_snat_claim(struct kpx_ct_value *old, __u64 seen,
					  const struct kpx_ct_flow *f)
{
	if (__sync_val_compare_and_swap(&old->last_seen_ns, seen, KPX_SNAT_CLAIMED) != seen)
		return 0;
	if (bpf_map_update_elem(&kpx_ct_v1, &f->rkey, &f->rep, BPF_ANY) == 0)
		return 1;
	bpf_map_delete_elem(&kpx_ct_v1, &f->rkey); /* not left claimed for ever */
	return 0;
}

/* Writes flow f with its source translated to node_addr and a free port: fills the
 * port into f (REPLY key, both peers) and writes both entries. Returns 0, or the reason
 * to drop with. */
static __always_inline __u32 kpx_snat_write(struct kpx_ct_flow *f, const struct kpx_config *cfg,
					    __u8 proto, __u64 now)
{
	__u32 min = cfg->snat_port_min, max = cfg->snat_port_max;
	__u32 range, start, i, off = 0, spare;
	__u32 *cursor = kpx_snat_cursor();
	struct kpx_ct_value *old;
	__u64 seen;

	if (min == 0 || max < min || !cursor)
		return KPX_R_DROP_NO_CONFIG;
	range = max - min + 1;
	spare = range; /* none */
	start = __sync_fetch_and_add(cursor, 1) % range;
	for (i = 0; i < KPX_SNAT_PROBES && i < range; i++) {
		off = start + i;
		if (off >= range)
			off -= range;
		kpx_snat_set_port(f, min + off);
		if (bpf_map_update_elem(&kpx_ct_v1, &f->rkey, &f->rep, BPF_NOEXIST) == 0)
			goto taken;
		old = bpf_map_lookup_elem(&kpx_ct_v1, &f->rkey);
		if (!old)
			continue;
		seen = old->last_seen_ns;
		if (kpx_ct_expired(old, proto, now)) {
			if (kpx_snat_claim(old, seen, f))
				goto taken;
		} else if (spare == range && proto == KPX_IPPROTO_TCP &&
			   kpx_ct_reclaimable(old->flags, seen, now)) {
			spare = off;
		}
	}
	if (spare == range)
		return KPX_R_DROP_SNAT_PORTS_EXHAUSTED;
	/* Every probed port is taken; the first closed flow's goes to the new one. */
	off = spare;
	kpx_snat_set_port(f, min + off);
	old = bpf_map_lookup_elem(&kpx_ct_v1, &f->rkey);
	if (!old)
		return KPX_R_DROP_SNAT_PORTS_EXHAUSTED;
	seen = old->last_seen_ns;
	if (!kpx_ct_reclaimable(old->flags, seen, now) || !kpx_snat_claim(old, seen, f))
		return KPX_R_DROP_SNAT_PORTS_EXHAUSTED;
taken:
	if (off != start)
		*cursor = off + 1;
	if (bpf_map_update_elem(&kpx_ct_v1, &f->fkey, &f->fwd, BPF_ANY))
		return KPX_R_DROP_CT_FULL;
	return 0;
}

#endif /* KPX_SNAT_H */
