/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* One counter per decision: every packet a program sees ends in exactly one kpx_finish()
 * call, which counts it under its reason (with the length it arrived with) and turns
 * the reason and action into the program's verdict.
 *
 * A decision is a __u32: the reason in the low byte, KPX_ACT_TX above it when the packet
 * goes back out of the interface it came in on. Drops follow from the reason.
 */
#ifndef KPX_COUNTERS_H
#define KPX_COUNTERS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "ctx.h"
#include "maps.h"

#define KPX_TX_OUT(reason) ((reason) | (KPX_ACT_TX << 8))

static __always_inline int kpx_reason_is_drop(__u32 reason)
{
	switch (reason) {
	case KPX_R_DROP_MALFORMED:
	case KPX_R_DROP_NO_BACKEND:
	case KPX_R_DROP_INVALID_BACKEND:
	case KPX_R_DROP_CT_FULL:
	case KPX_R_DROP_NAT_FAILED:
	case KPX_R_DROP_NO_LOCAL_BACKEND:
	case KPX_R_DROP_SOURCE_RANGE:
	case KPX_R_DROP_SNAT_PORTS_EXHAUSTED:
	case KPX_R_DROP_REJECT_FAILED:
	case KPX_R_DROP_REJECT_NOT_SENT:
	case KPX_R_DROP_NO_CONFIG:
		return 1;
	default:
		return 0;
	}
}

static __always_inline void kpx_count(__u32 reason, __u32 len)
{
	struct kpx_counter *c = bpf_map_lookup_elem(&kpx_counters_v1, &reason);

	/* Per-CPU slot: no other CPU writes it, so plain adds are exact. */
	if (c) {
		c->packets += 1;
		c->bytes += len;
	}
}

static __always_inline int kpx_finish(void *ctx, const int xdp, __u32 out, __u32 len)
{
	__u32 reason = out & 0xff;

	kpx_count(reason, len);
	if (kpx_reason_is_drop(reason))
		return kpx_action(ctx, xdp, KPX_ACT_DROP);
	return kpx_action(ctx, xdp, out >> 8);
}

#endif /* KPX_COUNTERS_H */
