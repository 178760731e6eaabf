/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One counter per decision: every packet the program sees ends in exactly one
 * kpx_verdict() call, which counts it under its reason and turns the reason into a tc
 * verdict. */
#ifndef KPX_COUNTERS_H
#define KPX_COUNTERS_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"

static __always_inline int kpx_reason_is_drop(__u32 reason)
{
	switch (reason) {
	case KPX_R_DROP_MALFORMED:
	case KPX_R_DROP_NO_BACKEND:
	case KPX_R_DROP_INVALID_BACKEND:
	case KPX_R_DROP_CT_FULL:
	case KPX_R_DROP_NAT_FAILED:
		return 1;
	default:
		return 0;
	}
}

static __always_inline int kpx_verdict(struct __sk_buff *skb, __u32 reason)
{
	struct kpx_counter *c = bpf_map_lookup_elem(&kpx_counters_v1, &reason);

	/* Per-CPU slot: no other CPU writes it, so plain adds are exact. */
	if (c) {
		c->packets += 1;
		c->bytes += skb->len;
	}
	return kpx_reason_is_drop(reason) ? TC_ACT_SHOT : TC_ACT_OK;
}

#endif /* KPX_COUNTERS_H */
