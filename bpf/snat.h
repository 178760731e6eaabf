/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Source translation of external flows to remote backends (T4): the source becomes
 * kpx_config.node_addr and a port from [snat_port_min, snat_port_max], so the backend's
 * replies come back to this node.
 *
 * A port is free for a flow when no live REPLY entry (backend addr, backend port,
 * node_addr, port, proto) exists. Ports are probed from a random start; each probe is a
 * BPF_NOEXIST insert of the REPLY entry, so two CPUs can never take the same port for
 * the same backend. An existing entry that is idle past its timeout is taken over.
 */
#ifndef KPX_SNAT_H
#define KPX_SNAT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "conntrack.h"
#include "maps.h"

/* kpx_config_v1's only entry (all zero until the agent writes it). */
static __always_inline struct kpx_config *kpx_config(void)
{
	__u32 zero = 0;
	struct kpx_config *cfg = bpf_map_lookup_elem(&kpx_config_v1, &zero);

	return cfg;
}

/* Writes flow f with its source translated to node_addr and a free port: fills the
 * port into f (REPLY key, both peers) and writes both entries. Returns 0, or the reason
 * to drop with. */
static __always_inline __u32 kpx_snat_write(struct kpx_ct_flow *f, const struct kpx_config *cfg,
					    __u8 proto, __u64 now)
{
	__u32 min = cfg->snat_port_min, max = cfg->snat_port_max;
	__u32 range, start, i;

	if (min == 0 || max < min)
		return KPX_R_DROP_NO_CONFIG;
	range = max - min + 1;
	start = bpf_get_prandom_u32() % range;
	for (i = 0; i < KPX_SNAT_PROBES && i < range; i++) {
		__u32 off = start + i;
		struct kpx_ct_value *old;
		__be16 port;

		if (off >= range)
			off -= range;
		port = bpf_htons((__u16)(min + off));
		f->rkey.dport = port;
		f->fwd.peer_port = port;
		if (bpf_map_update_elem(&kpx_ct_v1, &f->rkey, &f->rep, BPF_NOEXIST) == 0)
			goto forward;
		old = bpf_map_lookup_elem(&kpx_ct_v1, &f->rkey);
		if (old && kpx_ct_expired(old, proto, now) &&
		    bpf_map_update_elem(&kpx_ct_v1, &f->rkey, &f->rep, BPF_ANY) == 0)
			goto forward;
	}
	return KPX_R_DROP_SNAT_PORTS_EXHAUSTED;
forward:
	if (bpf_map_update_elem(&kpx_ct_v1, &f->fkey, &f->fwd, BPF_ANY))
		return KPX_R_DROP_CT_FULL;
	return 0;
}

#endif /* KPX_SNAT_H */
