/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Address and port rewriting with checksum fix-up.
 *
 * The checksums are updated with the kernel helpers rather than by hand because the
 * helpers know the skb's checksum state: for CHECKSUM_PARTIAL (pod traffic on a veth,
 * usually) the L4 field holds only the pseudo-header sum, so an address change must be
 * applied with BPF_F_PSEUDO_HDR and a port change must not be; for CHECKSUM_COMPLETE
 * they also fix skb->csum. Address and port changes are therefore separate calls.
 * For UDP, BPF_F_MARK_MANGLED_0 keeps a zero ("no checksum") field zero and turns a
 * computed zero into 0xffff (RFC 768).
 */
#ifndef KPX_NAT_H
#define KPX_NAT_H

#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>

#include "constants.h"
#include "parse.h"

#define KPX_IP_CHECK_OFF (KPX_L3_OFF + __builtin_offsetof(struct iphdr, check))

enum kpx_nat_side {
	KPX_NAT_SRC, /* reverse NAT of a reply: source becomes the frontend */
	KPX_NAT_DST, /* DNAT of a forward packet: destination becomes the backend */
};

/* Rewrites one side of the packet's (address, port) and fixes the IP and L4 checksums.
 * Returns 0, or a negative value when a helper failed (packet left in an unknown state,
 * the caller drops it). The old values come from the parse. */
static __always_inline int kpx_nat_rewrite(struct __sk_buff *skb, const struct kpx_pkt *p,
					   enum kpx_nat_side side, __be32 new_addr,
					   __be16 new_port)
{
	__be32 old_addr = side == KPX_NAT_DST ? p->daddr : p->saddr;
	__be16 old_port = side == KPX_NAT_DST ? p->dport : p->sport;
	/* l4_off is 14 + ihl * 4 <= 74; the mask tells the verifier so. */
	__u32 l4_off = p->l4_off & 0x7f;
	void *data, *data_end;
	struct iphdr *ip;
	struct udphdr *ports; /* TCP and UDP share the port layout */
	__u32 csum_off;
	__u64 l4_flags;

	if (p->proto == KPX_IPPROTO_TCP) {
		csum_off = l4_off + __builtin_offsetof(struct tcphdr, check);
		l4_flags = 0;
	} else {
		csum_off = l4_off + __builtin_offsetof(struct udphdr, check);
		l4_flags = BPF_F_MARK_MANGLED_0;
	}

	if (bpf_l4_csum_replace(skb, csum_off, old_addr, new_addr,
				l4_flags | BPF_F_PSEUDO_HDR | sizeof(new_addr)))
		return -1;
	if (bpf_l4_csum_replace(skb, csum_off, old_port, new_port, l4_flags | sizeof(new_port)))
		return -1;
	if (bpf_l3_csum_replace(skb, KPX_IP_CHECK_OFF, old_addr, new_addr, sizeof(new_addr)))
		return -1;

	/* The helpers may have reallocated the header: derive the pointers again. The
	 * helpers also made the header writable, so direct stores are allowed (cheaper
	 * than two more helper calls). */
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	ip = data + KPX_L3_OFF;
	ports = data + l4_off;
	if ((void *)(ip + 1) > data_end || (void *)(ports + 1) > data_end)
		return -1;
	if (side == KPX_NAT_DST) {
		ip->daddr = new_addr;
		ports->dest = new_port;
	} else {
		ip->saddr = new_addr;
		ports->source = new_port;
	}
	return 0;
}

#endif /* KPX_NAT_H */
