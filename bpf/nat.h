/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Address and port rewriting with checksum fix-up, for tc and XDP (see ctx.h for why the
 * L4 checksum is done differently in each).
 *
 * One call rewrites the whole tuple: the diffs of every changed field are summed first,
 * then the L4 checksum is fixed inline (XDP, and tc unless the skb is CHECKSUM_COMPLETE,
 * where at most two helper calls do it; ctx.h says why), and the IP checksum inline.
 * For UDP a zero ("no checksum") field stays zero and a computed zero becomes 0xffff
 * (RFC 768). A later fragment of a datagram has no L4 header: only its IP header is
 * rewritten (parse.h, fragments).
 */
#ifndef KPX_NAT_H
#define KPX_NAT_H

#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>

#include "constants.h"
#include "csum.h"
#include "ctx.h"
#include "parse.h"

/* The tuple a packet leaves with. */
struct kpx_nat {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
};

/* The packet's own tuple, to be edited into the target. */
static __always_inline struct kpx_nat kpx_nat_of(const struct kpx_pkt *p)
{
	struct kpx_nat n = { .saddr = p->saddr, .daddr = p->daddr, .sport = p->sport, .dport = p->dport };

	return n;
}

/* Rewrites the packet's tuple from p's to t's and fixes both checksums. Returns 0, or a
 * negative value when a helper failed (packet left in an unknown state: the caller
 * drops it). Invalidates packet pointers. */
static __always_inline int kpx_nat_rewrite(void *ctx, const int xdp, const struct kpx_pkt *p,
					   const struct kpx_nat *t)
{
	/* l4_off is 14 + ihl * 4 <= 74; the mask tells the verifier so. */
	__u32 l4_off = p->l4_off & 0x7f;
	int udp = p->proto == KPX_IPPROTO_UDP;
	__u32 csum_off = l4_off + (udp ? __builtin_offsetof(struct udphdr, check)
				       : __builtin_offsetof(struct tcphdr, check));
	__u32 addr_diff = kpx_csum_add(kpx_csum_diff32(p->saddr, t->saddr),
				       kpx_csum_diff32(p->daddr, t->daddr));
	__u32 port_diff = 0;
	void *data, *data_end;
	struct iphdr *ip;
	struct udphdr *ports; /* TCP and UDP share the port layout */

	if (p->sport != t->sport)
		port_diff = kpx_csum_diff16(p->sport, t->sport);
	if (p->dport != t->dport)
		port_diff = kpx_csum_add(port_diff, kpx_csum_diff16(p->dport, t->dport));

	/* A later fragment has no L4 header: the first fragment's checksum already took
	 * every change (parse.h), only the IP header is rewritten. */
	if (!p->later_frag && kpx_l4_csum(ctx, xdp, csum_off, addr_diff, port_diff, udp))
		return -1;

	/* A tc checksum helper may have reallocated the header: derive the pointers again.
	 * Direct stores are cheaper than store helpers and allowed: for a program that
	 * writes packet data, the verifier adds a prologue that unclones the skb's head. */
	data = kpx_data(ctx, xdp);
	data_end = kpx_data_end(ctx, xdp);
	ip = data + KPX_L3_OFF;
	if ((void *)(ip + 1) > data_end)
		return -1;
	ip->check = kpx_csum_update(ip->check, addr_diff);
	ip->saddr = t->saddr;
	ip->daddr = t->daddr;
	if (p->later_frag)
		return 0;
	ports = data + l4_off;
	if ((void *)(ports + 1) > data_end)
		return -1;
	ports->source = t->sport;
	ports->dest = t->dport;
	return 0;
}

#endif /* KPX_NAT_H */
