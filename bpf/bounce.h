/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* A pod's translated packet whose new destination is its own source (a pod reaching
 * itself through a Service, or the reply of that) goes straight back out of the pod's
 * veth with the MAC addresses swapped, instead of through the routing of the node, which
 * would not send a packet back out of the device it came in on. */
#ifndef KPX_BOUNCE_H
#define KPX_BOUNCE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>

#include "constants.h"
#include "counters.h"
#include "ctx.h"
#include "lb.h"

/* `reason`, sent back out (KPX_TX_OUT) when the packet came from a pod and now goes to
 * the address it came from; DROP_NAT_FAILED if the frame is too short to swap MACs. */
static __always_inline __u32 kpx_bounce_if_own(void *ctx, const int xdp, const enum kpx_origin origin,
						__be32 new_daddr, __be32 orig_saddr, __u32 reason)
{
	struct ethhdr *eth;
	__u8 mac[ETH_ALEN];

	if (origin != KPX_ORIGIN_POD || new_daddr != orig_saddr)
		return reason;
	eth = kpx_data(ctx, xdp);
	if ((void *)(eth + 1) > kpx_data_end(ctx, xdp))
		return KPX_R_DROP_NAT_FAILED;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	return KPX_TX_OUT(reason);
}

#endif /* KPX_BOUNCE_H */
